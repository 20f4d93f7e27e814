/**
 * Scoring: how full a worker would be after taking the sandbox, averaged over the dimensions it has
 * (cpu, memory, disk, sandbox slots). `binpack` prefers the fullest, so large holes stay open for large
 * sandboxes and idle workers can be drained; `spread` prefers the emptiest, for blast radius.
 */
import type { Need, PlacementRequest, WorkerView } from './types.js';

export function utilisationAfter(w: WorkerView, need: Need): number {
  const dims: Array<[number, number]> = [
    [w.allocated.cpuMilli + need.cpuMilli, w.capacity.cpuMilli],
    [w.allocated.memoryMb + need.memoryMb, w.capacity.memoryMb],
    [w.allocated.diskMb + need.diskMb, w.capacity.diskMb],
    [w.allocated.sandboxes + 1, w.capacity.sandboxes],
  ];
  let sum = 0;
  let n = 0;
  for (const [used, cap] of dims) {
    // A dimension without capacity cannot have passed the fit filter unless nothing is asked of it.
    if (cap <= 0) continue;
    sum += Math.min(1, used / cap);
    n += 1;
  }
  return n === 0 ? 1 : sum / n;
}

/** Higher is better. */
export function score(strategy: PlacementRequest['strategy'], w: WorkerView, need: Need): number {
  const u = utilisationAfter(w, need);
  return strategy === 'binpack' ? u : 1 - u;
}
