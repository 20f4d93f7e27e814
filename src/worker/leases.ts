/**
 * Keeping the sandbox leases this worker holds: each is renewed through
 * `POST /api/v1/worker/{id}/leases/{sandboxId}/renew` a third of its TTL after the previous renewal
 * was *sent*, so two more attempts fit before it could run out. A 409 `lease_lost` means someone else
 * may already own the sandbox: the runtime is destroyed (through `onLost`). Any other failure is
 * retried with backoff, and the sandbox keeps running — the control plane, not the worker, decides
 * loss.
 *
 * No wall-clock time is compared here. The lease expires `ttl_ms` after the control plane received
 * the renewal, which is after we sent it; timing from our monotonic send time is therefore safe under
 * any clock skew between the worker and the control plane.
 */
import type { Logger } from 'pino';
import { MAX_LEASE_TTL_MS } from '../protocol/worker-protocol.js';
import { ControlPlaneError, type ControlPlaneClient } from './control-plane-client.js';
import { backoffDelay } from './heartbeat/backoff.js';
import type { LeaseTracking } from './runtimes.js';
import type { Timers } from './timers.js';

export const MIN_LEASE_TTL_MS = 1_000;

export interface LeaseKeeperDeps {
  client: Pick<ControlPlaneClient, 'renewLease'>;
  timers: Timers;
  random: () => number;
  log: Logger;
  /** The control plane says the lease is gone: tear the runtime down. Not awaited by the timer. */
  onLost(sandboxId: string, generation: number): Promise<void>;
}

interface Held {
  sandboxId: string;
  generation: number;
  ttlMs: number;
  failures: number;
  cancel: (() => void) | undefined;
}

/** A lease length the renew route accepts, from what the control plane gave (rounded to a second). */
export function renewalTtl(observedMs: number | undefined, fallbackMs: number): number {
  const ms = observedMs === undefined || !Number.isFinite(observedMs) || observedMs <= 0 ? fallbackMs : Math.round(observedMs / 1000) * 1000;
  return Math.min(MAX_LEASE_TTL_MS, Math.max(MIN_LEASE_TTL_MS, ms));
}

export class LeaseKeeper implements LeaseTracking {
  private readonly held = new Map<string, Held>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private stopped = false;
  /** Renewals sent and leases lost, for tests and status. */
  renewals = 0;
  lost = 0;

  constructor(private readonly deps: LeaseKeeperDeps) {}

  track(sandboxId: string, generation: number, ttlMs: number, firstRenewalInMs: number): void {
    this.forget(sandboxId);
    const entry: Held = { sandboxId, generation, ttlMs, failures: 0, cancel: undefined };
    this.held.set(sandboxId, entry);
    this.schedule(entry, firstRenewalInMs);
  }

  /**
   * The control plane handed us a renewed lease itself (`worker.renew_lease`): the next renewal is due
   * a third of the way through what is left of it (or at once when we cannot tell).
   */
  refreshed(sandboxId: string, generation: number, remainingMs: number | undefined): void {
    const entry = this.held.get(sandboxId);
    if (!entry || entry.generation !== generation) return;
    entry.failures = 0;
    this.schedule(entry, remainingMs === undefined ? 0 : Math.max(0, remainingMs / 3));
  }

  forget(sandboxId: string): void {
    const entry = this.held.get(sandboxId);
    entry?.cancel?.();
    this.held.delete(sandboxId);
  }

  holds(sandboxId: string): { generation: number; ttlMs: number } | undefined {
    const entry = this.held.get(sandboxId);
    return entry && { generation: entry.generation, ttlMs: entry.ttlMs };
  }

  get size(): number {
    return this.held.size;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const entry of this.held.values()) entry.cancel?.();
    this.held.clear();
    this.abort.abort();
    await Promise.allSettled([...this.inFlight]);
  }

  private schedule(entry: Held, ms: number): void {
    entry.cancel?.();
    if (this.stopped) return;
    entry.cancel = this.deps.timers.after(ms, () => {
      entry.cancel = undefined;
      const run = this.renew(entry);
      this.inFlight.add(run);
      void run.finally(() => this.inFlight.delete(run));
    });
  }

  private async renew(entry: Held): Promise<void> {
    const { client, timers, log } = this.deps;
    if (this.held.get(entry.sandboxId) !== entry) return;
    const sentAt = timers.monotonic();
    this.renewals++;
    try {
      await client.renewLease(entry.sandboxId, { generation: entry.generation, ttl_ms: entry.ttlMs }, this.abort.signal);
      if (this.held.get(entry.sandboxId) !== entry) return;
      entry.failures = 0;
      this.schedule(entry, Math.max(0, entry.ttlMs / 3 - (timers.monotonic() - sentAt)));
    } catch (err) {
      if (this.held.get(entry.sandboxId) !== entry || this.stopped) return;
      if (err instanceof ControlPlaneError && err.status === 409 && err.code === 'lease_lost') {
        this.held.delete(entry.sandboxId);
        this.lost++;
        log.warn({ sandbox_id: entry.sandboxId, generation: entry.generation }, 'sandbox lease lost; destroying its runtime');
        await this.deps.onLost(entry.sandboxId, entry.generation).catch((e: unknown) => {
          log.error({ sandbox_id: entry.sandboxId, err: (e as Error).message }, 'destroying a runtime whose lease was lost failed');
        });
        return;
      }
      entry.failures++;
      const retryIn = backoffDelay(entry.failures, { initialMs: Math.min(1000, entry.ttlMs / 10), maxMs: entry.ttlMs / 6 }, this.deps.random);
      log.warn({ sandbox_id: entry.sandboxId, err: (err as Error).message, failures: entry.failures, retry_in_ms: retryIn }, 'lease renewal failed; retrying');
      this.schedule(entry, retryIn);
    }
  }
}
