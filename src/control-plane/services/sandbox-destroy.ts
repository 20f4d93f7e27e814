/**
 * Ending a sandbox: delete (DELETE /api/v1/sandboxes/{id}) and expire (the TTL reaper).
 *
 * The worker is told under the sandbox's current lease *before* the state change that ends the lease,
 * because afterwards it would rightly refuse an expired lease. A worker that cannot be reached does not
 * block the end: the record is ended anyway and the lease expired with it, and the worker destroys the
 * runtime itself when its next heartbeat is told it no longer holds that lease.
 */
import { sandboxMachine, type SandboxState } from '../../domain/states/sandbox.js';
import { NotFound } from '../../domain/errors.js';
import type { DestroyParams } from '../../protocol/rpc.js';
import type { SandboxRecord, TenantScope } from '../../store/types.js';
import type { ControlPlane } from '../deps.js';
import { emitSandbox } from './sandbox-events.js';
import { wireLease } from './sandbox-spawn.js';

export const DESTROY_TIMEOUT_MS = 15_000;

/** States in which a worker may be running something for the sandbox. */
const ON_WORKER: readonly SandboxState[] = ['starting', 'running', 'idle', 'stopping'];

/**
 * Idempotent delete; answers the final record. pending and lost sandboxes stop at once (nothing runs);
 * placed ones go through `stopping` while the worker destroys the runtime.
 */
export async function destroySandbox(cp: ControlPlane, scope: TenantScope, id: string): Promise<SandboxRecord> {
  // A few rounds: each conditional write may lose to a concurrent change (placement, spawn, reaper).
  for (let round = 0; round < 5; round++) {
    const s = await cp.store.sandboxes.getSandbox(scope, id);
    if (!s) throw new NotFound(`sandbox ${id}`);
    if (sandboxMachine.isTerminal(s.state)) return s;
    if (s.state === 'pending' || s.state === 'lost') {
      sandboxMachine.assert(s.state, 'stopped');
      const stopped = await cp.store.sandboxes.transitionSandbox(id, { from: [s.state], to: 'stopped', generation: s.generation, reason: 'deleted' });
      if (stopped) {
        await emitSandbox(cp, 'stopped', stopped);
        return stopped;
      }
      continue;
    }
    let stopping = s;
    if (s.state !== 'stopping') {
      sandboxMachine.assert(s.state, 'stopping');
      const moved = await cp.store.sandboxes.transitionSandbox(id, { from: [s.state], to: 'stopping', generation: s.generation, reason: 'deleted' });
      if (!moved) continue;
      stopping = moved;
      await emitSandbox(cp, 'stopping', stopping);
    }
    await destroyOnWorker(cp, stopping);
    sandboxMachine.assert('stopping', 'stopped');
    const stopped = await cp.store.sandboxes.transitionSandbox(id, { from: ['stopping'], to: 'stopped', generation: stopping.generation, reason: 'deleted' });
    if (stopped) {
      await emitSandbox(cp, 'stopped', stopped);
      return stopped;
    }
  }
  const s = await cp.store.sandboxes.getSandbox(scope, id);
  if (!s) throw new NotFound(`sandbox ${id}`);
  return s;
}

/** The reaper's step for one sandbox past its TTL: destroy on the worker (best effort), then → expired. */
export async function expireSandbox(cp: ControlPlane, s: SandboxRecord): Promise<SandboxRecord | undefined> {
  if (sandboxMachine.isTerminal(s.state)) return undefined;
  if (ON_WORKER.includes(s.state)) await destroyOnWorker(cp, s);
  sandboxMachine.assert(s.state, 'expired');
  const expired = await cp.store.sandboxes.transitionSandbox(s.id, { from: [s.state], to: 'expired', generation: s.generation, reason: 'ttl' });
  if (expired) await emitSandbox(cp, 'expired', expired);
  return expired;
}

/**
 * `worker.destroy` under the live lease of this placement. Best effort: no lease (already fenced), an
 * unknown worker, a refusal or no answer are logged; the caller ends the record regardless.
 */
async function destroyOnWorker(cp: ControlPlane, s: SandboxRecord): Promise<boolean> {
  if (!s.workerId) return false;
  const [worker, lease] = await Promise.all([cp.store.workers.getWorker(s.workerId), cp.store.leases.getLease({ type: 'sandbox', id: s.id })]);
  // Only the lease of this very placement: an older or foreign one would be refused, and rightly.
  if (!worker || !lease || lease.holderId !== s.workerId || lease.generation !== s.generation) return false;
  const params: DestroyParams = { sandbox_id: s.id, runtime_id: s.runtimeId };
  try {
    await cp.rpc.call(worker, 'worker.destroy', params, { lease: wireLease(lease), timeoutMs: DESTROY_TIMEOUT_MS });
    return true;
  } catch (err) {
    cp.log.warn({ sandbox_id: s.id, worker_id: s.workerId, err: err instanceof Error ? err.message : String(err) }, 'worker.destroy failed; the worker releases the runtime on its next heartbeat');
    return false;
  }
}
