/**
 * The liveness sweep: read the fleet, decide (services/liveness.ts), apply. Safe on every replica at
 * once: each change is a conditional write, so a heartbeat landing meanwhile wins and two replicas
 * never both act on one transition. The mass-failure guard's memory is per replica (it only delays).
 */
import type { ControlPlane } from '../deps.js';
import { completeWorkerDrain, emitWorker, enforceDrainDeadline } from '../services/drain.js';
import { decideLiveness, initialGuardState, type GuardState, type LivenessDecision, type LivenessSettings } from '../services/liveness.js';
import { declareWorkerLost, reclaimWorkerWork } from '../services/worker-loss.js';
import { runLoop, type Timer } from './runner.js';

export function livenessSettings(cp: ControlPlane): LivenessSettings {
  const w = cp.config.workers;
  return {
    staleAfterMs: w.stale_after,
    lostAfterMs: w.lost_after,
    maxLostFraction: w.max_lost_fraction,
    massLossMinWorkers: w.mass_loss_min_workers,
    massLossMaxHoldMs: w.mass_loss_max_hold,
  };
}

export interface LivenessTickResult {
  decision: LivenessDecision;
  /** Workers this tick declared lost. */
  lost: string[];
  guardState: GuardState;
}

/** One sweep. Pass the guard state the previous tick returned (initialGuardState at first). */
export async function livenessTick(cp: ControlPlane, guardState: GuardState = initialGuardState): Promise<LivenessTickResult> {
  // The store's clock judges silence, as it stamped the heartbeats (PostgreSQL: the database's clock).
  const [now, workers, leases] = await Promise.all([cp.store.now(), cp.store.workers.allWorkers(), cp.store.leases.countLiveLeasesByHolder()]);
  const decision = decideLiveness(
    workers.map((w) => ({ id: w.id, status: w.status, lastHeartbeatAt: w.lastHeartbeatAt, drainDeadlineAt: w.drain?.deadlineAt ?? null, liveLeases: leases[w.id] ?? 0 })),
    now,
    cp.startedAt,
    livenessSettings(cp),
    guardState,
  );

  for (const c of decision.toStale) {
    await guarded(cp, c.id, 'mark stale', async () => {
      const stale = await cp.store.workers.transitionWorker(c.id, [c.from], 'stale', c.observedHeartbeatAt);
      if (!stale) return;
      cp.log.warn({ worker_id: c.id, last_heartbeat_at: c.observedHeartbeatAt }, 'worker is stale');
      await emitWorker(cp, stale, c.from);
    });
  }

  if (decision.held) await reportHold(cp, decision, guardState);
  else if (guardState.holdingSince !== null && decision.toLost.length > 0) {
    cp.log.error({ workers: decision.toLost.map((c) => c.id), held_since: guardState.holdingSince }, 'mass-failure guard gave up: declaring the silent workers lost');
  }

  const lost: string[] = [];
  for (const c of decision.toLost) {
    await guarded(cp, c.id, 'declare lost', async () => {
      if (await declareWorkerLost(cp, c)) lost.push(c.id);
    });
  }
  // Finish any loss another replica (or an earlier tick) started but did not complete.
  for (const id of await cp.store.workers.lostWorkersHoldingWork()) {
    if (!lost.includes(id)) await guarded(cp, id, 'reclaim work', () => reclaimWorkerWork(cp, id).then(() => undefined));
  }

  // Deadlines first: what they move off a worker may complete its drain in this same sweep.
  for (const id of decision.drainDeadlinePassed) await guarded(cp, id, 'enforce drain deadline', () => enforceDrainDeadline(cp, id).then(() => undefined));
  const drainable = new Set([...decision.drainDeadlinePassed, ...decision.toDrained.map((c) => c.id)]);
  for (const id of drainable) await guarded(cp, id, 'complete drain', () => completeWorkerDrain(cp, id).then(() => undefined));

  return { decision, lost, guardState: decision.guardState };
}

/** Log and announce once when a hold begins; count every held sweep. */
async function reportHold(cp: ControlPlane, decision: LivenessDecision, previous: GuardState): Promise<void> {
  cp.metrics.massLossSuspected.inc();
  if (previous.holdingSince !== null) return;
  const ids = decision.suspected.map((c) => c.id);
  cp.log.error({ workers: ids, max_hold_ms: cp.config.workers.mass_loss_max_hold }, 'mass worker loss suspected: declaring none lost; the control plane or its network is the likelier cause');
  await cp.events.emit({ type: 'workers.mass_loss_suspected', tenantId: null, resourceType: 'worker', resourceId: null, data: { workers: ids, count: ids.length } });
}

/** One worker's failure must not stop the sweep for the rest of the fleet. */
async function guarded(cp: ControlPlane, workerId: string, what: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    cp.log.error({ worker_id: workerId, err: err instanceof Error ? err.message : String(err) }, `liveness: ${what} failed`);
  }
}

export interface LivenessLoopOptions {
  timer?: Timer;
  /** Leadership: run this tick? (Every replica may sweep; the leader lease only thins duplicates.) */
  shouldRun?: (tickNumber: number) => boolean;
}

/** Start the sweep at min(heartbeat_interval, 1 s). Resolves once the signal aborts and the last tick ends. */
export function startLivenessLoop(cp: ControlPlane, signal: AbortSignal, o: LivenessLoopOptions = {}): Promise<void> {
  let guardState = initialGuardState;
  let tickNumber = 0;
  const tick = async () => {
    tickNumber += 1;
    if (o.shouldRun && !o.shouldRun(tickNumber)) return;
    guardState = (await livenessTick(cp, guardState)).guardState;
  };
  return runLoop({ name: 'liveness', intervalMs: Math.min(cp.config.workers.heartbeat_interval, 1_000), tick, signal, log: cp.log, ...(o.timer ? { timer: o.timer } : {}) });
}
