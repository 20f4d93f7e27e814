/**
 * The liveness decision (01-architecture.md, "Liveness and loss"): a pure function of the fleet as the
 * store last recorded it, the time, and the sweep's own memory (the mass-failure guard). It returns
 * what should change; the loop (loops/liveness.ts) applies each change as a conditional write, so a
 * heartbeat that lands between this decision and the write always wins.
 *
 * Silence is measured from the later of a worker's last heartbeat and this control plane's start: a
 * control plane that was down for a minute must give its workers a full window to reach it again
 * before it judges them, or a restart would declare the whole fleet lost.
 */
import type { WorkerStatus } from '../../domain/states/worker.js';

export interface LivenessWorker {
  id: string;
  status: WorkerStatus;
  lastHeartbeatAt: number;
  /** Persisted drain deadline, or null. */
  drainDeadlineAt: number | null;
  /** Live leases the worker holds (sandbox and task). */
  liveLeases: number;
}

export interface LivenessSettings {
  staleAfterMs: number;
  lostAfterMs: number;
  /** Fraction of the fleet (workers not already lost) above which a sweep's losses are suspect. */
  maxLostFraction: number;
  /** ...and only when at least this many would be lost at once: small fleets are judged normally. */
  massLossMinWorkers: number;
  /** After holding back this long without a break, the guard gives up and declares them. */
  massLossMaxHoldMs: number;
}

export interface GuardState {
  /** When the current unbroken run of held sweeps began; null when the last sweep did not hold. */
  holdingSince: number | null;
}

export const initialGuardState: GuardState = { holdingSince: null };

/** A change to apply only if the worker is still in `from` with the heartbeat the decision saw. */
export interface WorkerChange {
  id: string;
  from: WorkerStatus;
  observedHeartbeatAt: number;
}

export interface LivenessDecision {
  /** online/draining/drained workers silent for more than stale_after. */
  toStale: WorkerChange[];
  /**
   * Workers silent for more than lost_after. `from` is the status they had when read: one still
   * online (the sweep did not run for a while) goes through stale first, in the same sweep.
   */
  toLost: WorkerChange[];
  /** The mass-failure guard held back `toLost` this sweep (they are listed in `suspected`). */
  held: boolean;
  /** What the guard held back; empty unless `held`. */
  suspected: WorkerChange[];
  /**
   * Draining workers that hold no lease any more. The write re-checks (no lease, no sandbox still
   * attached), so a sandbox whose lease lapsed keeps the drain open until it is dealt with.
   */
  toDrained: WorkerChange[];
  /**
   * Draining workers whose drain deadline has passed: stop or re-place what they still run. Listed
   * whatever their lease count, because a sandbox whose lease lapsed still needs moving.
   */
  drainDeadlinePassed: string[];
  guardState: GuardState;
}

const CAN_GO_STALE: readonly WorkerStatus[] = ['online', 'draining', 'drained'];

export function decideLiveness(
  workers: readonly LivenessWorker[],
  now: number,
  startedAt: number,
  settings: LivenessSettings,
  guardState: GuardState,
): LivenessDecision {
  const toStale: WorkerChange[] = [];
  const candidates: WorkerChange[] = [];
  const toDrained: WorkerChange[] = [];
  const drainDeadlinePassed: string[] = [];
  let fleet = 0;

  for (const w of workers) {
    if (w.status === 'lost') continue;
    fleet += 1;
    const silence = now - Math.max(w.lastHeartbeatAt, startedAt);
    const change = { id: w.id, from: w.status, observedHeartbeatAt: w.lastHeartbeatAt };
    if (silence > settings.staleAfterMs && CAN_GO_STALE.includes(w.status)) toStale.push(change);
    if (silence > settings.lostAfterMs) {
      candidates.push(change);
      continue;
    }
    // A silent worker is about to go stale: its drain is judged again when (if) it comes back.
    if (w.status !== 'draining' || silence > settings.staleAfterMs) continue;
    if (w.drainDeadlineAt !== null && w.drainDeadlineAt <= now) drainDeadlinePassed.push(w.id);
    if (w.liveLeases === 0) toDrained.push(change);
  }

  const suspicious =
    candidates.length >= settings.massLossMinWorkers && candidates.length > settings.maxLostFraction * fleet;
  if (!suspicious) {
    return { toStale, toLost: candidates, held: false, suspected: [], toDrained, drainDeadlinePassed, guardState: { holdingSince: null } };
  }
  const holdingSince = guardState.holdingSince ?? now;
  if (now - holdingSince >= settings.massLossMaxHoldMs) {
    // Held for the whole window and still silent: a real mass failure. Act, and start afresh.
    return { toStale, toLost: candidates, held: false, suspected: [], toDrained, drainDeadlinePassed, guardState: { holdingSince: null } };
  }
  return { toStale, toLost: [], held: true, suspected: candidates, toDrained, drainDeadlinePassed, guardState: { holdingSince } };
}
