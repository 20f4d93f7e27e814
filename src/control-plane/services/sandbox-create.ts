/**
 * Create a sandbox (POST /api/v1/sandboxes and POST /api/v1/templates/{name}/sandboxes).
 *
 *   resolve (template, defaults, limits) → insert `pending` within quota (429 quota_exceeded)
 *   → place now → placed: spawn on the worker → `running`
 *               → nothing fits: `wait: true`  → stay pending, retried, until placed or the queue
 *                                                timeout fails it (then 503 no_capacity + reason)
 *                               `wait: false` → fail it now and answer 503 no_capacity + reason
 *
 * `wait: false` never queues: the caller asked not to be held, and 01-architecture.md says an unplaceable
 * `wait: false` create answers at once with the reason. A placed `wait: false` create answers 201 in
 * `starting` and the spawn finishes in the background.
 *
 * A `wait: true` create whose sandbox fails answers with an error (503 `no_capacity` for a placement
 * reason, 503 `worker_unavailable` for a spawn failure) whose details carry the sandbox id; the failed
 * record stays readable. Errors, not a 201 with `state: failed`, so that an idempotent retry makes a
 * fresh attempt instead of replaying the failure.
 */
import { DroverError } from '../../domain/errors.js';
import type { CreateSandboxRequest } from '../../protocol/sandbox.js';
import type { SandboxRecord } from '../../store/types.js';
import type { ControlPlane } from '../deps.js';
import { PLACEMENT_REASONS, placeSandbox } from './placement.js';
import { quotaExceeded, sandboxLimits } from './quota.js';
import { emitSandbox } from './sandbox-events.js';
import { failPending, spawnAvoidingRefusal } from './sandbox-pending.js';
import { resolveCreateRequest } from './sandbox-request.js';
import { waitForSettled, type WaitOptions } from './sandbox-wait.js';

export async function createSandbox(cp: ControlPlane, tenantId: string, request: CreateSandboxRequest, o: WaitOptions = {}): Promise<SandboxRecord> {
  const { sandbox: draft, quota } = await resolveCreateRequest(cp, tenantId, request);
  const created = await cp.store.sandboxes.createSandboxWithinQuota(draft, sandboxLimits(quota));
  if (created.kind === 'exceeded') throw quotaExceeded(created.limit, created.usage, quota);
  const sandbox = created.sandbox;
  await emitSandbox(cp, 'created', sandbox, { template: sandbox.template });
  const wait = request.wait ?? true;
  o = { ...o, exclude: o.exclude ?? new Set() };

  const outcome = await placeSandbox(cp, sandbox, o);
  if (outcome.kind === 'placed') {
    const spawning = spawnAvoidingRefusal(cp, outcome, sandbox.queuedUntil ?? cp.clock.now(), o);
    if (!wait) {
      spawning.catch((err: unknown) => cp.log.error({ sandbox_id: sandbox.id, err: String(err) }, 'background spawn failed'));
      return outcome.sandbox;
    }
    const after = await spawning;
    return settle(after.state === 'pending' || after.state === 'starting' ? await waitForSettled(cp, sandbox.id, o) : after, wait);
  }
  if (outcome.kind === 'rejected' && !wait) {
    const failed = await failPending(cp, sandbox, outcome.reason);
    if (failed.state === 'failed') throw noCapacity(failed, outcome.eligible);
    return failed;
  }
  if (!wait) return (await cp.store.sandboxes.getSandbox({ kind: 'all' }, sandbox.id)) ?? sandbox;
  if (outcome.kind === 'rejected') await cp.store.sandboxes.noteSandboxReason(sandbox.id, 'pending', outcome.reason);
  return settle(await waitForSettled(cp, sandbox.id, o), wait);
}

/** The answer for a waited-on create: the record, or the error its failure means. */
function settle(s: SandboxRecord, wait: boolean): SandboxRecord {
  if (!wait || s.state !== 'failed') return s;
  if (s.stateReason !== null && PLACEMENT_REASONS.includes(s.stateReason)) throw noCapacity(s);
  throw new DroverError('worker_unavailable', `sandbox ${s.id} failed to start: ${s.stateReason ?? 'unknown reason'}`, { sandbox_id: s.id, reason: s.stateReason });
}

function noCapacity(s: SandboxRecord, eligible?: number): DroverError {
  return new DroverError('no_capacity', `no worker can take the sandbox: ${s.stateReason ?? 'no_eligible_worker'}`, {
    reason: s.stateReason,
    sandbox_id: s.id,
    ...(eligible !== undefined ? { eligible_workers: eligible } : {}),
  });
}
