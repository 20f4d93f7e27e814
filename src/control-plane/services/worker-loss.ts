/**
 * Acting on a lost worker (01-architecture.md, "Liveness and loss"): fence everything it held, then
 * move its sandboxes off it — re-placed (back to `pending`, for the placement loop to pick up with a
 * new lease generation) when they asked for `restart_on_worker_loss`, else failed with `worker_lost`.
 * Its task leases simply expire here; the task sweep requeues those tasks.
 *
 * Every step is a conditional write, so this is safe to run again (the sweep re-runs it for any lost
 * worker that still holds something) and on several replicas at once: each sandbox moves once, and
 * only the replica whose write won emits the event.
 */
import type { SandboxRecord } from '../../store/types.js';
import type { ControlPlane } from '../deps.js';
import type { WorkerChange } from './liveness.js';

export const WORKER_LOST = 'worker_lost';

export interface LossOutcome {
  leasesExpired: number;
  replaced: string[];
  failed: string[];
  stopped: string[];
}

/**
 * Declare one worker lost (stale → lost, only if it is still stale with the heartbeat the sweep saw)
 * and reclaim its work. Returns undefined when a heartbeat won the race.
 */
export async function declareWorkerLost(cp: ControlPlane, change: WorkerChange): Promise<LossOutcome | undefined> {
  const lost = await cp.store.workers.transitionWorker(change.id, ['stale'], 'lost', change.observedHeartbeatAt);
  if (!lost) return undefined;
  cp.metrics.workerTransitions.inc({ from: 'stale', to: 'lost' });
  cp.log.warn({ worker_id: change.id, last_heartbeat_at: change.observedHeartbeatAt }, 'worker declared lost');
  await cp.events.emit({ type: 'worker.lost', tenantId: null, resourceType: 'worker', resourceId: change.id, data: { status: 'lost', last_heartbeat_at: change.observedHeartbeatAt } });
  return reclaimWorkerWork(cp, change.id);
}

/** Fence a worker's leases and move every sandbox still attached to it. */
export async function reclaimWorkerWork(cp: ControlPlane, workerId: string): Promise<LossOutcome> {
  const outcome: LossOutcome = { leasesExpired: 0, replaced: [], failed: [], stopped: [] };
  // Leases first: from this statement on, anything the old worker writes is rejected, whatever it is
  // still doing. If this replica dies after it, the sandboxes below are still attached and the next
  // sweep finishes the job.
  const expired = await cp.store.leases.expireLeasesHeldBy(workerId);
  outcome.leasesExpired = expired.length;
  for (const lease of expired) {
    cp.metrics.leasesLost.inc({ resource_type: lease.resourceType });
    await cp.events.emit({
      type: 'lease.lost',
      tenantId: null,
      resourceType: lease.resourceType,
      resourceId: lease.resourceId,
      data: { holder_id: lease.holderId, generation: lease.generation, reason: WORKER_LOST },
    });
  }
  const attached = await cp.store.sandboxes.listSandboxesOnWorker(workerId, ['starting', 'running', 'idle', 'stopping', 'lost']);
  for (const sbx of attached) {
    const result = await moveOffLostWorker(cp, sbx);
    if (result) outcome[result].push(sbx.id);
  }
  return outcome;
}

async function moveOffLostWorker(cp: ControlPlane, sbx: SandboxRecord): Promise<'replaced' | 'failed' | 'stopped' | undefined> {
  const emit = (s: SandboxRecord) => emitSandbox(cp, s, { worker_id: sbx.workerId });
  if (sbx.state === 'stopping') {
    // It was being stopped anyway; its runtime went with the worker (or is released on return).
    const stopped = await cp.store.sandboxes.transitionSandbox(sbx.id, { from: ['stopping'], to: 'stopped', reason: WORKER_LOST });
    if (stopped) await emit(stopped);
    return stopped ? 'stopped' : undefined;
  }
  if (sbx.state !== 'lost') {
    const lost = await cp.store.sandboxes.transitionSandbox(sbx.id, { from: [sbx.state], to: 'lost', reason: WORKER_LOST });
    if (!lost) return undefined;
    await emit(lost);
  }
  return finishLost(cp, sbx, WORKER_LOST, emit);
}

/** lost → pending (re-placement) or → failed, by the sandbox's `restart_on_worker_loss`. */
export async function finishLost(
  cp: ControlPlane,
  sbx: SandboxRecord,
  reason: string,
  emit: (s: SandboxRecord) => Promise<void>,
  replace = sbx.restartOnWorkerLoss,
): Promise<'replaced' | 'failed' | undefined> {
  const next = replace
    ? await cp.store.sandboxes.transitionSandbox(sbx.id, { from: ['lost'], to: 'pending', reason, queueTimeoutMs: cp.config.sandboxes.queue_timeout })
    : await cp.store.sandboxes.transitionSandbox(sbx.id, { from: ['lost'], to: 'failed', reason });
  if (!next) return undefined;
  await emit(next);
  return replace ? 'replaced' : 'failed';
}

export async function emitSandbox(cp: ControlPlane, s: SandboxRecord, extra: Record<string, unknown> = {}): Promise<void> {
  await cp.events.emit({
    type: `sandbox.${s.state}`,
    tenantId: s.tenantId,
    resourceType: 'sandbox',
    resourceId: s.id,
    data: { state: s.state, reason: s.stateReason, generation: s.generation, ...extra },
  });
}
