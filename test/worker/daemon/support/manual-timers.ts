/**
 * Timers that move only when the test says so: `advance(ms)` runs every callback that falls due, in
 * order, letting the promises each one starts settle in between (so a loop that awaits a real HTTP
 * call can be stepped deterministically with `settle`).
 */
import type { Timers } from '../../../../src/worker/timers.js';

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
}

export class ManualTimers implements Timers {
  private now = 0;
  private seq = 0;
  private readonly pending = new Set<Pending>();

  monotonic(): number {
    return this.now;
  }

  after(ms: number, fn: () => void): () => void {
    const p: Pending = { at: this.now + Math.max(0, ms), seq: this.seq++, fn };
    this.pending.add(p);
    return () => void this.pending.delete(p);
  }

  /** Delays of the timers now pending, relative to now, soonest first. */
  delays(): number[] {
    return [...this.pending].map((p) => p.at - this.now).sort((a, b) => a - b);
  }

  get size(): number {
    return this.pending.size;
  }

  /** Move time forward by `ms`, firing what falls due (each in its own turn). */
  async advance(ms: number): Promise<void> {
    const target = this.now + ms;
    for (;;) {
      const next = [...this.pending].filter((p) => p.at <= target).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!next) break;
      this.pending.delete(next);
      this.now = Math.max(this.now, next.at);
      next.fn();
      await tick();
    }
    this.now = target;
  }

  /** Fire what is due now (delay 0). */
  runDue(): Promise<void> {
    return this.advance(0);
  }
}

export function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Wait (on real time, bounded) until `predicate` holds: for effects that travel over loopback HTTP.
 * Not a timing assertion — it only turns a hang into a failure with a message.
 */
export async function until(predicate: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await predicate())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
