/**
 * Placement's shell: read a snapshot, decide with the pure `place`, commit with the store's conditional
 * write (which reserves capacity, takes the lease and moves the sandbox to `starting` in one
 * transaction), and on a conflict re-plan against fresh state. Two replicas can race here freely: the
 * commit, not this code, is what makes over-commit impossible.
 */
import { performance } from 'node:perf_hooks';
import type { Config } from '../../config/index.js';
import type { Lease, SandboxRecord, WorkerRecord } from '../../store/types.js';
import type { ControlPlane } from '../deps.js';
import type { RejectReason } from '../placement/filter.js';
import { place, type PlacementDecision } from '../placement/place.js';
import type { PlacementRequest, PlacementSnapshot } from '../placement/types.js';
import type { AdmissionView, CreateSandboxRequest } from '../../protocol/sandbox.js';
import { exceededLimit, quotaView } from './quota.js';
import { resolveCreateRequest } from './sandbox-request.js';
import { readSpec } from './sandbox-spec.js';

/** Re-plans after a lost commit race before giving up for this round (the pending loop tries again). */
const MAX_COMMIT_ATTEMPTS = 4;

export const PLACEMENT_REASONS: readonly string[] = ['no_eligible_worker', 'insufficient_capacity', 'provider_unsupported', 'selector_unmatched'];

/**
 * The sandbox lease's TTL. The worker renews it (POST /api/v1/worker/{id}/leases/{sid}/renew); if it
 * stops, the lease runs out no later than the worker would be declared lost, so fencing and loss
 * handling agree on when a silent worker's sandboxes stop being its own.
 */
export function sandboxLeaseTtlMs(config: Config): number {
  return config.workers.lost_after;
}

export function placementRequestFor(config: Config, s: Pick<SandboxRecord, 'spec' | 'resources'>): PlacementRequest {
  const spec = readSpec(s);
  return { provider: spec.provider, selector: spec.selector, need: s.resources, strategy: config.scheduler.strategy, sample: config.scheduler.sample };
}

/** A placement snapshot that keeps the full worker records (the RPC target comes from them). */
export type FleetSnapshot = Omit<PlacementSnapshot, 'workers'> & { workers: WorkerRecord[] };

export async function takeSnapshot(cp: ControlPlane): Promise<FleetSnapshot> {
  return { workers: await cp.store.workers.allWorkers(), now: cp.clock.now(), staleAfterMs: cp.config.workers.stale_after, notBefore: cp.startedAt };
}

export type PlaceOutcome =
  | { kind: 'placed'; sandbox: SandboxRecord; lease: Lease; worker: WorkerRecord }
  | { kind: 'rejected'; reason: RejectReason; eligible: number }
  /** No longer pending: placed by another replica, deleted, or expired meanwhile. */
  | { kind: 'gone' };

export interface PlaceOptions {
  /** Injected randomness for best-of-K (default Math.random). */
  random?: () => number;
  /**
   * Workers that turned this sandbox away (refused or unreachable) while the caller was placing it;
   * skipped until the caller's next attempt round, so a refusal is not retried in a tight loop.
   */
  exclude?: Set<string>;
}

/** Place one pending sandbox: plan, commit, and re-plan on conflict. */
export async function placeSandbox(cp: ControlPlane, sandbox: SandboxRecord, o: PlaceOptions = {}): Promise<PlaceOutcome> {
  const started = performance.now();
  const request = { ...placementRequestFor(cp.config, sandbox), ...(o.exclude ? { exclude: o.exclude } : {}) };
  const random = o.random ?? Math.random;
  let last: PlacementDecision | undefined;
  const done = (outcome: PlaceOutcome): PlaceOutcome => {
    const label = outcome.kind === 'rejected' ? outcome.reason : outcome.kind;
    cp.metrics.placementDuration.observe({ outcome: label }, (performance.now() - started) / 1000);
    return outcome;
  };
  for (let attempt = 0; attempt < MAX_COMMIT_ATTEMPTS; attempt++) {
    const snapshot = await takeSnapshot(cp);
    const decision = place(snapshot, request, random);
    const chosen = decision.kind === 'placed' ? snapshot.workers.find((w) => w.id === decision.workerId) : undefined;
    last = decision;
    if (decision.kind === 'rejected') {
      cp.metrics.placements.inc({ outcome: decision.reason });
      return done({ kind: 'rejected', reason: decision.reason, eligible: decision.eligible });
    }
    const commit = await cp.store.sandboxes.commitPlacement(sandbox.id, decision.workerId, decision.provider, sandboxLeaseTtlMs(cp.config));
    if (commit.kind === 'placed') {
      cp.metrics.placements.inc({ outcome: 'placed' });
      return done({ kind: 'placed', sandbox: commit.sandbox, lease: commit.lease, worker: chosen! });
    }
    cp.metrics.placements.inc({ outcome: 'conflict' });
    if (commit.reason === 'sandbox_not_pending') return done({ kind: 'gone' });
    cp.log.debug({ sandbox_id: sandbox.id, worker_id: decision.workerId, reason: commit.reason, attempt }, 'placement commit lost a race; re-planning');
  }
  // Every attempt lost its race: the fleet is changing fast. Report it as full; the caller queues.
  return done({ kind: 'rejected', reason: 'insufficient_capacity', eligible: last?.eligible ?? 0 });
}

/** The decision alone, for the admission dry run: nothing is reserved. */
export async function dryRun(cp: ControlPlane, s: Pick<SandboxRecord, 'spec' | 'resources'>, o: PlaceOptions = {}): Promise<PlacementDecision> {
  return place(await takeSnapshot(cp), placementRequestFor(cp.config, s), o.random ?? Math.random);
}

/**
 * `POST /api/v1/sandboxes/admission`: would this create be admitted, and where would it go? Resolves
 * the request exactly as a create does (template, defaults, limits; a bad request is still a 400), then
 * checks quota and runs the placement decision without committing it.
 */
export async function admission(cp: ControlPlane, tenantId: string, request: CreateSandboxRequest, o: PlaceOptions = {}): Promise<AdmissionView> {
  const { sandbox, quota } = await resolveCreateRequest(cp, tenantId, request);
  const usage = await cp.store.sandboxes.sandboxUsage(tenantId);
  const decision = await dryRun(cp, sandbox, o);
  const over = exceededLimit(quota, usage, sandbox.resources);
  const placed = decision.kind === 'placed' ? decision : undefined;
  return {
    allowed: over === undefined && placed !== undefined,
    reason: over !== undefined ? 'quota_exceeded' : decision.kind === 'rejected' ? decision.reason : null,
    selected_worker_id: placed?.workerId ?? null,
    provider: placed?.provider ?? null,
    eligible_workers: decision.eligible,
    quota: quotaView(usage, quota),
  };
}
