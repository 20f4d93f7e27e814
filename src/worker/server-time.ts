/**
 * The control plane's clock as the worker can know it. Leases carry `expires_at` in the control
 * plane's (the store's) clock; the worker's own wall clock may be minutes off (06-quality.md, fault 11),
 * so comparing the two would reject good leases or accept dead ones. Instead every heartbeat reply's
 * `server_time` is anchored to the worker's monotonic clock at the moment the reply arrived, and "the
 * control plane's now" is that anchor plus the monotonic time elapsed since.
 *
 * The estimate lags the true server time by up to one round trip (the reply was stamped before it
 * travelled), so expiry judged with it errs toward accepting a lease for a few milliseconds longer —
 * harmless, because the control plane fences every write with its own clock anyway. Before the first
 * reply there is no estimate (`now()` is undefined) and callers must not judge expiry at all.
 */
import type { Timers } from './timers.js';

export class ServerTime {
  private anchor: { serverMs: number; monotonic: number } | undefined;

  constructor(private readonly timers: Pick<Timers, 'monotonic'>) {}

  /** Record a reply's `server_time` (RFC 3339), received at `monotonic` (default: now). */
  observe(serverTime: string, monotonic = this.timers.monotonic()): void {
    const serverMs = Date.parse(serverTime);
    if (Number.isFinite(serverMs)) this.anchor = { serverMs, monotonic };
  }

  /** The control plane's clock now (ms since the epoch), or undefined before any reply. */
  now(): number | undefined {
    if (!this.anchor) return undefined;
    return this.anchor.serverMs + (this.timers.monotonic() - this.anchor.monotonic);
  }

  /** How long until `expiresAt` (RFC 3339, server clock) by this estimate; undefined if unknown. */
  remainingMs(expiresAt: string): number | undefined {
    const now = this.now();
    const at = Date.parse(expiresAt);
    if (now === undefined || !Number.isFinite(at)) return undefined;
    return at - now;
  }
}
