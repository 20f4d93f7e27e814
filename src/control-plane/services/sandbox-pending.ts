/**
 * One step for one pending sandbox, shared by the pending loop and by a create request that is waiting:
 * try to place it (and spawn it if placed); if nothing fits, record why, and once its queue deadline has
 * passed, fail it with that reason.
 */
import { sandboxMachine } from '../../domain/states/sandbox.js';
import type { SandboxRecord } from '../../store/types.js';
import type { ControlPlane } from '../deps.js';
import { placeSandbox, type PlaceOptions } from './placement.js';
import { emitSandbox } from './sandbox-events.js';
import { spawnPlaced, type Placed } from './sandbox-spawn.js';

export type PendingStep =
  /** Placed; the spawn is under way (the promise never rejects for a worker's answer). */
  | { kind: 'spawning'; spawn: Promise<SandboxRecord> }
  | { kind: 'done'; sandbox: SandboxRecord };

/** Place (without waiting for the spawn), or note why not, or fail it when overdue. */
export async function stepPending(cp: ControlPlane, s: SandboxRecord, overdue: boolean, o: PlaceOptions = {}): Promise<PendingStep> {
  const outcome = await placeSandbox(cp, s, o);
  switch (outcome.kind) {
    case 'placed':
      return { kind: 'spawning', spawn: spawnAvoidingRefusal(cp, outcome, s.queuedUntil ?? cp.clock.now(), o) };
    case 'gone':
      return { kind: 'done', sandbox: (await cp.store.sandboxes.getSandbox({ kind: 'all' }, s.id)) ?? s };
    case 'rejected':
      if (overdue) return { kind: 'done', sandbox: await failPending(cp, s, outcome.reason) };
      if (s.stateReason !== outcome.reason) await cp.store.sandboxes.noteSandboxReason(s.id, 'pending', outcome.reason);
      return { kind: 'done', sandbox: { ...s, stateReason: outcome.reason } };
  }
}

/** Spawn; a worker that turns the sandbox away goes into `o.exclude` for the caller's next attempts. */
export async function spawnAvoidingRefusal(cp: ControlPlane, placed: Placed, queueDeadline: number, o: PlaceOptions): Promise<SandboxRecord> {
  const after = await spawnPlaced(cp, placed, queueDeadline);
  if (after.state === 'pending') o.exclude?.add(placed.worker.id);
  return after;
}

export async function advancePending(cp: ControlPlane, s: SandboxRecord, overdue: boolean, o: PlaceOptions = {}): Promise<SandboxRecord> {
  const step = await stepPending(cp, s, overdue, o);
  return step.kind === 'spawning' ? step.spawn : step.sandbox;
}

/** pending → failed, with the placement reason; a no-op if it was placed or deleted meanwhile. */
export async function failPending(cp: ControlPlane, s: SandboxRecord, reason: string): Promise<SandboxRecord> {
  sandboxMachine.assert('pending', 'failed');
  const failed = await cp.store.sandboxes.transitionSandbox(s.id, { from: ['pending'], to: 'failed', generation: s.generation, reason });
  if (!failed) return (await cp.store.sandboxes.getSandbox({ kind: 'all' }, s.id)) ?? s;
  cp.log.info({ sandbox_id: s.id, reason }, 'no worker fitted the sandbox within its queue timeout');
  await emitSandbox(cp, 'failed', failed);
  return failed;
}
