/**
 * The leader lease (`cp:leader`). Every replica runs every sweep, because every state change is a
 * conditional write and correctness never depends on who runs it. The lease only keeps duplicate work
 * low: the holder sweeps at full rate, the others at a fraction of it, so a leader that holds its lease
 * but has stalled still cannot stop the fleet's sweeps.
 */
import { LeaseConflict } from '../../domain/errors.js';
import type { ControlPlane } from '../deps.js';
import { runLoop } from './runner.js';

export const LEADER_REF = { type: 'cp', id: 'leader' } as const;
const LEADER_TTL_MS = 10_000;
const RENEW_EVERY_MS = 3_000;
/** A follower runs one sweep tick out of this many. */
export const FOLLOWER_TICK_RATIO = 5;

export interface Leadership {
  isLeader(): boolean;
  /** For a loop tick: should this replica do the work this time? */
  shouldRun(tickNumber: number): boolean;
}

export function startLeaderLoop(cp: ControlPlane, signal: AbortSignal): { leadership: Leadership; done: Promise<void> } {
  let leader = false;
  const tick = async () => {
    try {
      await cp.store.leases.acquireLease(LEADER_REF, cp.replicaId, LEADER_TTL_MS);
      if (!leader) cp.log.info({ replica: cp.replicaId }, 'this replica is now the leader');
      leader = true;
    } catch (err) {
      if (!(err instanceof LeaseConflict)) throw err;
      leader = false;
    }
  };
  const leadership: Leadership = {
    isLeader: () => leader,
    shouldRun: (n) => leader || n % FOLLOWER_TICK_RATIO === 0,
  };
  void tick().catch(() => {});
  const done = runLoop({ name: 'leader', intervalMs: RENEW_EVERY_MS, tick, signal, log: cp.log });
  return { leadership, done };
}
