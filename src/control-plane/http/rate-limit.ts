/**
 * Token buckets per caller (API key id, worker id, or remote address when anonymous). Pure arithmetic
 * over an injected clock; the map is owned by one control-plane instance and bounded by evicting full
 * buckets, which carry no information.
 */
import type { Clock } from '../../domain/clock.js';

export interface RateLimitDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until one token is available (when refused). */
  retryAfterSeconds: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly perMs: number;

  constructor(
    private readonly clock: Clock,
    readonly requestsPerMinute: number,
    readonly burst: number,
    private readonly maxBuckets = 100_000,
  ) {
    this.perMs = requestsPerMinute / 60_000;
  }

  take(key: string): RateLimitDecision {
    const now = this.clock.now();
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    b.tokens = Math.min(this.burst, b.tokens + (now - b.at) * this.perMs);
    b.at = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      this.remember(key, b);
      return { allowed: true, limit: this.burst, remaining: Math.floor(b.tokens), retryAfterSeconds: 0 };
    }
    this.remember(key, b);
    return { allowed: false, limit: this.burst, remaining: 0, retryAfterSeconds: Math.max(1, Math.ceil((1 - b.tokens) / this.perMs / 1000)) };
  }

  private remember(key: string, b: { tokens: number; at: number }): void {
    this.buckets.set(key, b);
    if (this.buckets.size > this.maxBuckets) {
      for (const [k, v] of this.buckets) {
        if (v.tokens >= this.burst - 1) this.buckets.delete(k);
        if (this.buckets.size <= this.maxBuckets / 2) break;
      }
    }
  }
}
