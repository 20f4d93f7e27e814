/**
 * After a placement commit: ask the chosen worker to start the sandbox, under its lease, and record the
 * answer. Three endings:
 *   - the worker started it      → `running` (or stays `starting` with its runtime until the worker
 *                                   reports ready through the fenced state route);
 *   - the worker said "not here"  → back to `pending` (it is draining, full, or unreachable), placed
 *     (or could not be reached)    elsewhere by the pending loop within the original queue deadline;
 *   - the worker said "not at all" → `failed` with the worker's reason.
 * Every write is conditional on the placement's generation, so an answer that arrives after the
 * sandbox moved on (deleted, expired, re-placed) changes nothing.
 */
import { toRfc3339 } from '../../domain/clock.js';
import { sandboxMachine } from '../../domain/states/sandbox.js';
import { RETRY_ELSEWHERE_CODES, spawnResultSchema, type RpcLeaseWire, type SpawnResult } from '../../protocol/rpc.js';
import type { Lease, SandboxRecord, WorkerRecord } from '../../store/types.js';
import type { ControlPlane } from '../deps.js';
import { WorkerRpcError, WorkerUnavailable } from '../rpc/client.js';
import { emitSandbox } from './sandbox-events.js';
import { toSpawnParams } from './sandbox-spec.js';

/** A spawn includes provider start-up; a service that takes longer answers `starting` instead. */
export const SPAWN_TIMEOUT_MS = 60_000;

export interface Placed {
  sandbox: SandboxRecord;
  lease: Lease;
  worker: Pick<WorkerRecord, 'id' | 'rpcUrl' | 'rpcSecret'>;
}

export function wireLease(lease: Lease): RpcLeaseWire {
  return { resource_id: lease.resourceId, holder_id: lease.holderId, generation: lease.generation, expires_at: toRfc3339(lease.expiresAt) };
}

/**
 * Spawn a placed sandbox and return its record afterwards. `queueDeadline` (ms) bounds how long it may
 * wait for another placement if this worker turns it away; never throws for a worker's answer.
 */
export async function spawnPlaced(cp: ControlPlane, placed: Placed, queueDeadline: number): Promise<SandboxRecord> {
  const { sandbox, lease, worker } = placed;
  await emitSandbox(cp, 'starting', sandbox, { provider: sandbox.provider });
  let result: SpawnResult;
  try {
    const answer = await cp.rpc.call(worker, 'worker.spawn', toSpawnParams(sandbox), { lease: wireLease(lease), timeoutMs: SPAWN_TIMEOUT_MS, signal: cp.shutdown });
    const parsed = spawnResultSchema.safeParse(answer);
    if (!parsed.success) return await fail(cp, sandbox, `spawn_failed: worker ${worker.id} answered an invalid spawn result`);
    result = parsed.data;
  } catch (err) {
    if (isNotHere(err)) return await requeue(cp, sandbox, `spawn_refused: ${(err as Error).message}`, queueDeadline);
    return await fail(cp, sandbox, `spawn_failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  const runtime: Record<string, unknown> = {};
  if (result.service_port !== undefined) runtime.service_port = result.service_port;
  if (result.capabilities !== undefined) runtime.capabilities = result.capabilities;
  if (result.warnings !== undefined) runtime.warnings = result.warnings;
  const recorded = await cp.store.sandboxes.recordSandboxRuntime(sandbox.id, sandbox.generation, result.runtime_id, runtime);
  if (!recorded) return current(cp, sandbox);
  if (result.state === 'starting') return recorded;
  sandboxMachine.assert('starting', 'running');
  const firstStart = recorded.startedAt === null;
  const running = await cp.store.sandboxes.transitionSandbox(sandbox.id, {
    from: ['starting'],
    to: 'running',
    generation: sandbox.generation,
    runtimeId: result.runtime_id,
    startedNow: true,
  });
  if (!running) return current(cp, sandbox);
  if (firstStart) {
    // Request → running, as the store saw it; a re-placement after worker loss is not a create.
    cp.metrics.sandboxCreateDuration.observe({ provider: running.provider ?? 'unknown' }, Math.max(0, cp.clock.now() - running.createdAt) / 1000);
  }
  await emitSandbox(cp, 'running', running, { runtime_id: result.runtime_id });
  return running;
}

/** Refusals that mean "try another worker" rather than "this sandbox cannot start". */
function isNotHere(err: unknown): boolean {
  if (err instanceof WorkerUnavailable) return true;
  return err instanceof WorkerRpcError && RETRY_ELSEWHERE_CODES.includes(err.workerCode);
}

async function fail(cp: ControlPlane, s: SandboxRecord, reason: string): Promise<SandboxRecord> {
  sandboxMachine.assert('starting', 'failed');
  const failed = await cp.store.sandboxes.transitionSandbox(s.id, { from: ['starting'], to: 'failed', generation: s.generation, reason });
  if (!failed) return current(cp, s);
  cp.log.warn({ sandbox_id: s.id, worker_id: s.workerId, reason }, 'sandbox failed to start');
  await emitSandbox(cp, 'failed', failed);
  return failed;
}

/**
 * Back to `pending`, giving up this placement's capacity and lease. The machine has no
 * starting → pending edge: the placement is lost (starting → lost) and re-queued (lost → pending), in
 * one transaction, so nobody ever sees the intermediate `lost`.
 */
async function requeue(cp: ControlPlane, s: SandboxRecord, reason: string, queueDeadline: number): Promise<SandboxRecord> {
  sandboxMachine.assert('starting', 'lost');
  sandboxMachine.assert('lost', 'pending');
  const queueTimeoutMs = Math.max(0, queueDeadline - cp.clock.now());
  const pending = await cp.store.transaction(async (tx) => {
    const lost = await tx.sandboxes.transitionSandbox(s.id, { from: ['starting'], to: 'lost', generation: s.generation, reason });
    if (!lost) return undefined;
    return tx.sandboxes.transitionSandbox(s.id, { from: ['lost'], to: 'pending', reason, queueTimeoutMs });
  });
  if (!pending) return current(cp, s);
  cp.log.info({ sandbox_id: s.id, worker_id: s.workerId, reason }, 'worker turned the sandbox away; re-queued');
  await emitSandbox(cp, 'requeued', pending, { from_worker_id: s.workerId });
  return pending;
}

async function current(cp: ControlPlane, s: SandboxRecord): Promise<SandboxRecord> {
  return (await cp.store.sandboxes.getSandbox({ kind: 'all' }, s.id)) ?? s;
}
