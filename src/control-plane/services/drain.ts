/**
 * Draining a worker (03-worker.md, "Drain"). Starting one is a persisted status change (placement
 * stops at once: it only places on `online` workers, in the same transaction that reserves capacity);
 * the worker learns it from its next heartbeat reply. The liveness sweep completes a drain once the
 * worker holds no lease, and enforces the deadline: what still runs on the worker then is re-placed
 * (`migrate` and the sandbox's `restart_on_worker_loss`) or stopped.
 *
 * Everything is in the store, so a drain survives a control-plane restart and any replica's sweep can
 * carry it on.
 */
import { toRfc3339 } from '../../domain/clock.js';
import { Conflict, NotFound } from '../../domain/errors.js';
import type { SandboxRecord, WorkerRecord } from '../../store/types.js';
import type { ControlPlane } from '../deps.js';
import { emitSandbox, finishLost } from './worker-loss.js';

export const DRAIN_DEADLINE = 'drain_deadline';
/** Keep one unreachable worker from stalling the sweep for long. */
const DESTROY_TIMEOUT_MS = 5_000;

export async function emitWorker(cp: ControlPlane, w: WorkerRecord, from: string, type = `worker.${w.status}`): Promise<void> {
  if (from !== w.status) cp.metrics.workerTransitions.inc({ from, to: w.status });
  await cp.events.emit({ type, tenantId: null, resourceType: 'worker', resourceId: w.id, data: { status: w.status, previous_status: from } });
}

export async function startWorkerDrain(cp: ControlPlane, id: string, o: { deadlineMs: number | undefined; migrate: boolean }): Promise<WorkerRecord> {
  const before = await cp.store.workers.getWorker(id);
  if (!before) throw new NotFound(`worker ${id}`);
  // A lost worker's work has already been fenced and moved: there is nothing left to drain.
  if (before.status === 'lost') throw new Conflict(`worker ${id} is lost; delete it or wait for it to re-register`, { status: before.status });
  const deadlineAt = o.deadlineMs === undefined ? null : (await cp.store.now()) + o.deadlineMs;
  const after = await cp.store.workers.startDrain(id, deadlineAt, o.migrate);
  if (!after) throw new NotFound(`worker ${id}`);
  cp.log.info({ worker_id: id, deadline_at: deadlineAt, migrate: o.migrate }, 'worker drain started');
  if (after.status !== before.status) await emitWorker(cp, after, before.status);
  return after;
}

/**
 * A worker that went stale (or lost) during a drain comes back: the persisted drain request
 * (`drain_requested_at`) says the operator still wants it drained. The heartbeat statement already
 * returns it as draining; this catches any path that brought it back online (e.g. registry repair).
 */
export async function resumeDrainIfRequested(cp: ControlPlane, w: WorkerRecord): Promise<WorkerRecord> {
  if (w.status !== 'online' || w.drain === null) return w;
  const draining = await cp.store.workers.transitionWorker(w.id, ['online'], 'draining');
  if (!draining) return w;
  await emitWorker(cp, draining, 'online');
  return draining;
}

/** Draining → drained, if it still holds no lease (checked in the write). */
export async function completeWorkerDrain(cp: ControlPlane, id: string): Promise<boolean> {
  const drained = await cp.store.workers.completeDrain(id);
  if (!drained) return false;
  cp.log.info({ worker_id: id }, 'worker drained');
  await emitWorker(cp, drained, 'draining');
  return true;
}

export interface DeadlineOutcome {
  replaced: string[];
  stopped: string[];
}

/**
 * The drain deadline has passed: destroy what still runs on the worker (best effort, with the lease so
 * the worker accepts it) and move the records — re-placed or stopped. An unreachable worker does not
 * hold this up: the records move anyway, and the worker is told to destroy the runtimes through
 * `release` in its next heartbeat reply, since it no longer holds their leases.
 */
export async function enforceDrainDeadline(cp: ControlPlane, id: string): Promise<DeadlineOutcome> {
  const outcome: DeadlineOutcome = { replaced: [], stopped: [] };
  const worker = await cp.store.workers.getWorker(id);
  const now = await cp.store.now();
  if (!worker || worker.status !== 'draining' || worker.drain?.deadlineAt == null || worker.drain.deadlineAt > now) return outcome;
  const migrate = worker.drain.migrate;
  const running = await cp.store.sandboxes.listSandboxesOnWorker(id, ['starting', 'running', 'idle', 'stopping']);
  let reachable = worker.rpcUrl !== null;
  for (const sbx of running) {
    if (reachable) reachable = await destroyOnWorker(cp, worker, sbx, now);
    const emit = (s: SandboxRecord) => emitSandbox(cp, s, { worker_id: id });
    if (migrate && sbx.restartOnWorkerLoss && sbx.state !== 'stopping') {
      // The machine has no running → pending edge: re-placement goes through lost, as for a lost worker.
      const lost = await cp.store.sandboxes.transitionSandbox(sbx.id, { from: [sbx.state], to: 'lost', reason: DRAIN_DEADLINE });
      if (!lost) continue;
      await emit(lost);
      if ((await finishLost(cp, lost, DRAIN_DEADLINE, emit, true)) === 'replaced') outcome.replaced.push(sbx.id);
      continue;
    }
    if (sbx.state !== 'stopping') {
      const stopping = await cp.store.sandboxes.transitionSandbox(sbx.id, { from: [sbx.state], to: 'stopping', reason: DRAIN_DEADLINE });
      if (!stopping) continue;
    }
    const stopped = await cp.store.sandboxes.transitionSandbox(sbx.id, { from: ['stopping'], to: 'stopped', reason: DRAIN_DEADLINE });
    if (!stopped) continue;
    await emit(stopped);
    outcome.stopped.push(sbx.id);
  }
  if (running.length > 0) cp.log.info({ worker_id: id, replaced: outcome.replaced.length, stopped: outcome.stopped.length }, 'drain deadline reached');
  return outcome;
}

/** Returns false when the worker could not be reached, so the caller stops trying it this sweep. */
async function destroyOnWorker(cp: ControlPlane, worker: WorkerRecord, sbx: SandboxRecord, now: number): Promise<boolean> {
  if (sbx.runtimeId === null) return true;
  const lease = await cp.store.leases.getLease({ type: 'sandbox', id: sbx.id });
  // Without a live lease at this generation the worker would refuse; `release` covers it instead.
  if (!lease || lease.holderId !== worker.id || lease.generation !== sbx.generation || lease.expiresAt <= now) return true;
  try {
    await cp.rpc.call(
      worker,
      'worker.destroy',
      { sandbox_id: sbx.id, runtime_id: sbx.runtimeId },
      { lease: { resource_id: sbx.id, holder_id: lease.holderId, generation: lease.generation, expires_at: toRfc3339(lease.expiresAt) }, timeoutMs: DESTROY_TIMEOUT_MS },
    );
    return true;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    cp.log.warn({ worker_id: worker.id, sandbox_id: sbx.id, code: typeof code === 'string' ? code : undefined }, 'destroy at drain deadline failed; moving the record anyway');
    return code !== 'worker_unavailable';
  }
}
