/**
 * The placement decision: a pure function of (snapshot, request, random). No I/O, no awaits; the
 * caller commits the decision with a conditional write and re-plans on a conflict.
 *
 * Best-of-K: the choice is uniform among the K best-scored candidates (ties broken by worker id), not
 * always the single best. Replicas placing at the same moment from the same snapshot would otherwise
 * all pick one worker and all but one would lose the commit; K = 1 is strict best-fit.
 */
import { filterWorkers, type RejectReason } from './filter.js';
import { score } from './score.js';
import type { PlacementRequest, PlacementSnapshot } from './types.js';

export type PlacementDecision =
  | { kind: 'placed'; workerId: string; provider: string; eligible: number }
  | { kind: 'rejected'; reason: RejectReason; eligible: number };

/** `random` returns a number in [0, 1), like Math.random. */
export function place(snapshot: PlacementSnapshot, request: PlacementRequest, random: () => number): PlacementDecision {
  const filtered = filterWorkers(snapshot, request);
  if (filtered.kind === 'none') return { kind: 'rejected', reason: filtered.reason, eligible: filtered.eligible };
  const k = Math.max(1, Math.min(request.sample, filtered.candidates.length));
  // Partial selection of the K best: O(n·K) beats sorting a thousand workers for K = 2.
  const best: Array<{ c: (typeof filtered.candidates)[number]; s: number }> = [];
  for (const c of filtered.candidates) {
    const s = score(request.strategy, c.worker, request.need);
    let i = best.length;
    while (i > 0 && better(s, c.worker.id, best[i - 1]!.s, best[i - 1]!.c.worker.id)) i--;
    if (i < k) {
      best.splice(i, 0, { c, s });
      if (best.length > k) best.pop();
    }
  }
  const pick = best[Math.min(best.length - 1, Math.floor(random() * best.length))]!;
  return { kind: 'placed', workerId: pick.c.worker.id, provider: pick.c.provider, eligible: filtered.eligible };
}

function better(s: number, id: string, otherS: number, otherId: string): boolean {
  return s > otherS || (s === otherS && id < otherId);
}
