/**
 * Reconciliation on start (03-worker.md): "runtimes whose lease it still holds (per the control
 * plane's reply to the first heartbeat) are adopted; the rest are killed and cleaned up".
 *
 * Order:
 *   1. Before serving (scanAtStart): every provider's inventory (runtime directories, processes) is
 *      compared with the state records. A runtime with no record was never acknowledged to anyone —
 *      the record is written before the provider creates a runtime — so no lease can cover it: it is
 *      destroyed at once. The records are what the first heartbeat reports as the inventory.
 *   2. First heartbeat reply (planRelease with `adoptRest`, then applyPlan): runtimes in `release`
 *      are destroyed; the rest are adopted (the provider takes the runtime back, its lease renewal
 *      starts at once). Only then does the worker serve leased calls. A released runtime is therefore killed within one
 *      heartbeat of the worker coming back, and an adopted one whose lease is in fact gone is killed
 *      as soon as its immediate renewal answers `lease_lost`.
 *   3. Later replies to an inventory the control plane asked for: `release` entries are destroyed;
 *      nothing else changes.
 * The control plane answers `release` only for runtimes of the inventory it was sent, and runtime ids
 * include the lease generation, so a release can never name a runtime spawned after the inventory.
 */
import type { Logger } from 'pino';
import type { Provider, ProviderName } from './providers/types.js';
import type { RuntimeManager } from './runtimes.js';
import type { RuntimeRecord, StateStore } from './state/types.js';

export interface Stray {
  provider: ProviderName;
  runtimeId: string;
  sandboxId: string;
}

/** Step 1: destroy runtimes no record knows. Returns what was destroyed (or failed to be). */
export async function scanAtStart(providers: ReadonlyMap<ProviderName, Provider>, state: StateStore, log: Logger): Promise<{ destroyed: Stray[]; failed: Stray[] }> {
  const known = new Set(state.list().map((r) => `${r.provider}/${r.runtimeId}`));
  const strays: Stray[] = [];
  for (const [name, provider] of providers) {
    for (const item of await provider.inventory()) {
      if (!known.has(`${name}/${item.runtimeId}`)) strays.push({ provider: name, ...item });
    }
  }
  const destroyed: Stray[] = [];
  const failed: Stray[] = [];
  await Promise.all(
    strays.map(async (s) => {
      try {
        await providers.get(s.provider)!.destroy(s.runtimeId);
        destroyed.push(s);
        log.warn({ runtime_id: s.runtimeId, sandbox_id: s.sandboxId, provider: s.provider }, 'destroyed a runtime with no record (no lease can cover it)');
      } catch (err) {
        failed.push(s);
        log.error({ runtime_id: s.runtimeId, err: (err as Error).message }, 'could not destroy an unrecorded runtime');
      }
    }),
  );
  return { destroyed, failed };
}

export interface ReconcilePlan {
  adopt: RuntimeRecord[];
  destroy: RuntimeRecord[];
}

/** Of the inventory sent, which runtimes to destroy (released) and, at start, which to adopt. */
export function planRelease(sent: readonly RuntimeRecord[], release: readonly string[] | undefined, adoptRest: boolean): ReconcilePlan {
  const released = new Set(release ?? []);
  return {
    destroy: sent.filter((r) => released.has(r.runtimeId)),
    adopt: adoptRest ? sent.filter((r) => !released.has(r.runtimeId)) : [],
  };
}

export interface ReconcileOutcome {
  adopted: string[];
  destroyed: string[];
  /** Adoption failed; the runtime was destroyed and the control plane told (`failed`). */
  failed: string[];
}

export interface ApplyDeps {
  runtimes: RuntimeManager;
  log: Logger;
  /** Best-effort fenced report that an adopted sandbox could not be taken back. */
  reportFailed(record: RuntimeRecord, reason: string): Promise<void>;
}

/** Steps 2 and 3. Each runtime under its sandbox's lock; only if the record still names it. */
export async function applyPlan(plan: ReconcilePlan, deps: ApplyDeps): Promise<ReconcileOutcome> {
  const out: ReconcileOutcome = { adopted: [], destroyed: [], failed: [] };
  const same = (a: RuntimeRecord | undefined, b: RuntimeRecord) => a !== undefined && a.runtimeId === b.runtimeId;
  await Promise.all([
    ...plan.destroy.map((r) =>
      deps.runtimes
        .withSandbox(r.sandboxId, async (ops) => {
          if (same(ops.record(), r) && (await ops.destroy(r.runtimeId, 'released: this worker no longer holds its lease'))) out.destroyed.push(r.runtimeId);
        })
        .catch((err: unknown) => deps.log.error({ runtime_id: r.runtimeId, err: (err as Error).message }, 'could not destroy a released runtime')),
    ),
    ...plan.adopt.map((r) =>
      deps.runtimes.withSandbox(r.sandboxId, async (ops) => {
        if (!same(ops.record(), r)) return;
        try {
          await ops.adopt();
          out.adopted.push(r.runtimeId);
        } catch (err) {
          const reason = `adopt_failed: ${(err as Error).message}`.slice(0, 500);
          deps.log.error({ runtime_id: r.runtimeId, err: (err as Error).message }, 'could not adopt a runtime; destroying it');
          out.failed.push(r.runtimeId);
          await ops.destroy(r.runtimeId, 'adoption failed').catch(() => undefined);
          await deps.reportFailed(r, reason).catch(() => undefined);
        }
      }),
    ),
  ]);
  return out;
}
