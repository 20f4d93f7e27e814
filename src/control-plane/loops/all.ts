/**
 * Every background loop of a control-plane replica, started together and stopped by one signal.
 * Sweeps that do real work run at full rate on the leader and at a fraction elsewhere (leader.ts).
 */
import type { ControlPlane } from '../deps.js';
import { EVENT_PRUNE_INTERVAL_MS, pruneEvents } from '../observability/retention.js';
import { startLeaderLoop } from './leader.js';
import { startLivenessLoop } from './liveness.js';
import { startSandboxLoops } from './sandboxes.js';
import { startTaskLoops } from './tasks.js';
import { runLoop } from './runner.js';

export function startBackgroundLoops(cp: ControlPlane, signal: AbortSignal): Promise<void> {
  const { leadership, done: leader } = startLeaderLoop(cp, signal);
  const liveness = startLivenessLoop(cp, signal, { shouldRun: leadership.shouldRun });
  // Pending placement and the TTL reaper are cheap and latency-sensitive: every replica runs them.
  const sandboxes = startSandboxLoops(cp, signal);
  const tasks = startTaskLoops(cp, signal, { shouldRun: leadership.shouldRun });
  const housekeeping = runLoop({
    name: 'housekeeping',
    intervalMs: EVENT_PRUNE_INTERVAL_MS,
    signal,
    log: cp.log,
    tick: async () => {
      await pruneEvents(cp);
      await cp.store.idempotency.pruneIdempotencyKeys();
    },
  });
  return Promise.all([leader, liveness, sandboxes, tasks, housekeeping]).then(() => undefined);
}
