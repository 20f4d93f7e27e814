/**
 * Timers that fire only when the test advances a ManualClock, so the heartbeater's timing is checked
 * without sleeping. `advance` fires due timers in time order and lets promise chains run in between.
 */
import type { ManualClock } from '../../../../src/domain/clock.js';
import type { TimerHandle, Timers } from '../../../../src/sdk/task-worker/timers.js';

interface Pending {
  id: number;
  at: number;
  fn: () => void;
}

export class ManualTimers implements Timers {
  private pending: Pending[] = [];
  private nextId = 1;
  constructor(private readonly clock: ManualClock) {}

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const t = { id: this.nextId++, at: this.clock.now() + Math.max(0, ms), fn };
    this.pending.push(t);
    return t as unknown as TimerHandle;
  }

  clearTimeout(handle: TimerHandle): void {
    this.pending = this.pending.filter((t) => t !== (handle as unknown as Pending));
  }

  /** Timers still armed, e.g. to prove a stopped heartbeater left none behind. */
  get armed(): number {
    return this.pending.length;
  }

  async advance(ms: number): Promise<void> {
    const target = this.clock.now() + ms;
    await settle();
    for (;;) {
      const due = this.pending.filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.pending = this.pending.filter((t) => t !== due);
      if (due.at > this.clock.now()) this.clock.set(due.at);
      due.fn();
      await settle();
    }
    this.clock.set(target);
    await settle();
  }
}

/** Let queued promise callbacks (and the I/O-free chains they start) run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}
