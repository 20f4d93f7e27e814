/**
 * The sandbox background loops, safe on every replica (every step is a conditional write):
 *
 *   - pending loop: place pending sandboxes, oldest first — new ones nothing fitted yet and ones
 *     re-queued after their worker was lost or turned them away — and fail those whose queue deadline
 *     (`queued_until`, store clock) has passed with the reason placement gave;
 *   - TTL reaper: sandboxes past `expires_at` are destroyed on their worker (best effort) and → expired.
 *
 * `drover serve` starts them with `startSandboxLoops`; tests call the tick functions with a manual clock.
 */
import type { ControlPlane } from '../deps.js';
import type { PlaceOptions } from '../services/placement.js';
import { expireSandbox } from '../services/sandbox-destroy.js';
import { stepPending } from '../services/sandbox-pending.js';
import { runLoop, type Timer } from './runner.js';

export interface SandboxLoopOptions extends PlaceOptions {
  pendingIntervalMs?: number;
  reaperIntervalMs?: number;
  /** Sandboxes handled per tick. */
  batch?: number;
  timer?: Timer;
}

export interface PendingTickResult {
  placed: number;
  failed: number;
  waiting: number;
}

/**
 * One pass over the queue; returns when the spawns it started have all answered, so one slow worker
 * delays the next pass, not the other spawns of this one.
 */
export async function pendingTick(cp: ControlPlane, o: SandboxLoopOptions = {}): Promise<PendingTickResult> {
  const batch = o.batch ?? 100;
  const overdue = new Set((await cp.store.sandboxes.listOverdueSandboxes(batch)).map((s) => s.id));
  const pending = await cp.store.sandboxes.listPendingSandboxes(batch);
  const result: PendingTickResult = { placed: 0, failed: 0, waiting: 0 };
  const spawns: Promise<unknown>[] = [];
  // A worker that turns one sandbox away this tick is not offered the rest of the queue this tick.
  const tick = { ...o, exclude: new Set<string>() };
  // Placement is sequential, in queue order, so earlier sandboxes get capacity first; the spawn RPCs
  // that follow the commits overlap.
  for (const s of pending) {
    const step = await stepPending(cp, s, overdue.has(s.id), tick);
    if (step.kind === 'spawning') {
      result.placed += 1;
      spawns.push(step.spawn);
    } else if (step.sandbox.state === 'pending') {
      result.waiting += 1;
    } else if (step.sandbox.state === 'failed') {
      result.failed += 1;
    }
  }
  await Promise.allSettled(spawns);
  return result;
}

/** One reaper pass: every sandbox past its TTL, destroyed concurrently. Returns how many expired. */
export async function reaperTick(cp: ControlPlane, o: SandboxLoopOptions = {}): Promise<number> {
  const due = await cp.store.sandboxes.listExpiredSandboxes(o.batch ?? 100);
  const ended = await Promise.all(due.map((s) => expireSandbox(cp, s)));
  return ended.filter((s) => s !== undefined).length;
}

/** Both loops until `signal` aborts; resolves once both have stopped. */
export function startSandboxLoops(cp: ControlPlane, signal: AbortSignal, o: SandboxLoopOptions = {}): Promise<void> {
  const common = { signal, log: cp.log, ...(o.timer ? { timer: o.timer } : {}) };
  return Promise.all([
    runLoop({ ...common, name: 'sandbox-pending', intervalMs: o.pendingIntervalMs ?? 1_000, tick: async () => void (await pendingTick(cp, o)) }),
    runLoop({ ...common, name: 'sandbox-reaper', intervalMs: o.reaperIntervalMs ?? 1_000, tick: async () => void (await reaperTick(cp, o)) }),
  ]).then(() => undefined);
}
