/**
 * Placement filters (01-architecture.md, "Placement"): which workers could take a sandbox at all, and
 * which of those have room. Pure functions of a snapshot; the reason for a rejection is the first
 * filter that left no worker standing, so the admission answer says what to fix.
 */
import type { PlacementRequest, PlacementSnapshot, Need, WorkerView } from './types.js';

export type RejectReason = 'no_eligible_worker' | 'insufficient_capacity' | 'provider_unsupported' | 'selector_unmatched';

export interface Candidate {
  worker: WorkerView;
  /** The concrete provider it would run with on this worker. */
  provider: string;
}

/**
 * Online, not cordoned, and heard from recently. Freshness repeats the liveness sweep's rule on read
 * (silence measured from the later of the last heartbeat and this replica's start), so a worker that
 * went quiet is not chosen in the window before the sweep marks it stale.
 */
export function isSchedulable(w: WorkerView, s: PlacementSnapshot): boolean {
  if (w.status !== 'online' || w.cordoned) return false;
  const heardAt = Math.max(w.lastHeartbeatAt, s.notBefore ?? 0);
  return s.now - heardAt <= s.staleAfterMs;
}

/**
 * `auto` is bwrap where the worker offers it, else process: the isolating provider whenever there is
 * one. `mock` is never chosen by `auto`; it has to be asked for by name.
 */
export function resolveProvider(w: WorkerView, requested: string): string | undefined {
  if (requested === 'auto') {
    if (w.providers.includes('bwrap')) return 'bwrap';
    if (w.providers.includes('process')) return 'process';
    return undefined;
  }
  return w.providers.includes(requested) ? requested : undefined;
}

export function matchesSelector(labels: Readonly<Record<string, string>>, selector: Readonly<Record<string, string>>): boolean {
  for (const [k, v] of Object.entries(selector)) if (labels[k] !== v) return false;
  return true;
}

/** The same condition the commit enforces in SQL (`allocated + need <= capacity`, one more sandbox). */
export function fits(w: WorkerView, need: Need): boolean {
  return (
    w.allocated.cpuMilli + need.cpuMilli <= w.capacity.cpuMilli &&
    w.allocated.memoryMb + need.memoryMb <= w.capacity.memoryMb &&
    w.allocated.diskMb + need.diskMb <= w.capacity.diskMb &&
    w.allocated.sandboxes + 1 <= w.capacity.sandboxes
  );
}

export type FilterOutcome =
  | { kind: 'ok'; candidates: Candidate[]; eligible: number }
  | { kind: 'none'; reason: RejectReason; eligible: number };

/**
 * Staged filtering (an excluded worker counts as unschedulable). `eligible` counts the workers that could run the request in principle (schedulable,
 * provider, selector) whether or not they have room now: "3 eligible, insufficient capacity" means wait,
 * "0 eligible, selector unmatched" means fix the request.
 */
export function filterWorkers(s: PlacementSnapshot, r: PlacementRequest): FilterOutcome {
  const schedulable = s.workers.filter((w) => isSchedulable(w, s) && !r.exclude?.has(w.id));
  if (schedulable.length === 0) return { kind: 'none', reason: 'no_eligible_worker', eligible: 0 };
  const withProvider: Candidate[] = [];
  for (const worker of schedulable) {
    const provider = resolveProvider(worker, r.provider);
    if (provider !== undefined) withProvider.push({ worker, provider });
  }
  if (withProvider.length === 0) return { kind: 'none', reason: 'provider_unsupported', eligible: 0 };
  const matching = withProvider.filter((c) => matchesSelector(c.worker.labels, r.selector));
  if (matching.length === 0) return { kind: 'none', reason: 'selector_unmatched', eligible: 0 };
  const roomy = matching.filter((c) => fits(c.worker, r.need));
  if (roomy.length === 0) return { kind: 'none', reason: 'insufficient_capacity', eligible: matching.length };
  return { kind: 'ok', candidates: roomy, eligible: matching.length };
}
