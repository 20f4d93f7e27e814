/**
 * The heartbeat loop (03-worker.md): its own timer, exactly one request in flight, the next beat
 * `next_heartbeat_ms` after a reply (the server owns the timing), backoff with jitter after a failure,
 * and never a wait on sandbox work — the reply handler is synchronous and hands slow work (destroying
 * released runtimes) off, so a stuck destroy cannot make the worker look dead.
 *
 * The full inventory goes with the first beat after start and with the beat after any reply that
 * asks for it (`inventory_wanted`); a beat that carried it but failed is retried with it.
 *
 * `poke()` asks for a beat now (e.g. the worker started draining and the control plane should stop
 * placing at once). A poke during a beat in flight is remembered and sent right after it, never as a
 * second concurrent request.
 */
import type { Logger } from 'pino';
import type { HeartbeatReply, HeartbeatRequest } from '../../protocol/worker-protocol.js';
import type { Timers } from '../timers.js';
import { backoffDelay } from './backoff.js';

export interface HeartbeatLoopDeps {
  timers: Timers;
  /** [0, 1); injected so tests can pin the jitter. */
  random: () => number;
  log: Logger;
  /** Until the first reply says otherwise. */
  initialIntervalMs: number;
  body(withInventory: boolean): HeartbeatRequest;
  send(body: HeartbeatRequest, signal: AbortSignal): Promise<HeartbeatReply>;
  /** Each reply, with the body it answers and the monotonic time it arrived. Must not block. */
  onReply(reply: HeartbeatReply, sent: HeartbeatRequest, receivedAt: number): void;
}

export class HeartbeatLoop {
  private intervalMs: number;
  private failures = 0;
  private inventoryDue = true;
  private inFlight = false;
  private pokedDuringBeat = false;
  private stopped = false;
  private cancelTimer: (() => void) | undefined;
  private current: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private beats = 0;
  private waiters: Array<{ after: number; resolve: (ok: boolean) => void }> = [];
  /** Beats sent, and beats that got a reply: for tests and status. */
  sent = 0;
  replies = 0;

  constructor(private readonly deps: HeartbeatLoopDeps) {
    this.intervalMs = deps.initialIntervalMs;
  }

  get consecutiveFailures(): number {
    return this.failures;
  }

  /** The interval the control plane asked for last (or the configured one before any reply). */
  get currentIntervalMs(): number {
    return this.intervalMs;
  }

  start(): void {
    this.schedule(0);
  }

  /** A beat as soon as possible; never a second one in flight. */
  poke(): void {
    if (this.stopped) return;
    if (this.inFlight) {
      this.pokedDuringBeat = true;
      return;
    }
    this.schedule(0);
  }

  /**
   * Poke, and resolve once a beat that started after this call has ended: true when it got a reply.
   * The drain uses it so `draining` reaches the control plane before the worker stops.
   */
  beatNow(): Promise<boolean> {
    if (this.stopped) return Promise.resolve(false);
    const after = this.beats;
    const done = new Promise<boolean>((resolve) => this.waiters.push({ after, resolve }));
    this.poke();
    return done;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelTimer?.();
    this.abort.abort();
    await this.current;
    for (const w of this.waiters.splice(0)) w.resolve(false);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.cancelTimer?.();
    this.cancelTimer = this.deps.timers.after(ms, () => {
      this.cancelTimer = undefined;
      this.current = this.beat();
    });
  }

  private async beat(): Promise<void> {
    if (this.stopped || this.inFlight) return;
    this.inFlight = true;
    const seq = ++this.beats;
    let replied = false;
    const withInventory = this.inventoryDue;
    let next: number;
    try {
      const body = this.deps.body(withInventory);
      this.sent++;
      const reply = await this.deps.send(body, this.abort.signal);
      const receivedAt = this.deps.timers.monotonic();
      this.replies++;
      replied = true;
      if (this.failures > 0) this.deps.log.info({ after_failures: this.failures }, 'heartbeat succeeded again');
      this.failures = 0;
      if (withInventory) this.inventoryDue = false;
      if (reply.inventory_wanted) this.inventoryDue = true;
      this.intervalMs = reply.next_heartbeat_ms;
      next = this.intervalMs;
      try {
        this.deps.onReply(reply, body, receivedAt);
      } catch (err) {
        // A bug in the handler must not stop the heartbeat: the worker would be declared lost for it.
        this.deps.log.error({ err: errMessage(err) }, 'heartbeat reply handler failed');
      }
    } catch (err) {
      this.failures++;
      next = backoffDelay(this.failures, { initialMs: Math.min(1000, this.intervalMs), maxMs: this.intervalMs }, this.deps.random);
      if (!this.stopped) this.deps.log.warn({ err: errMessage(err), failures: this.failures, retry_in_ms: next }, 'heartbeat failed; sandboxes keep running');
    } finally {
      this.inFlight = false;
    }
    const waiting = this.waiters;
    this.waiters = waiting.filter((w) => w.after >= seq);
    for (const w of waiting) if (w.after < seq) w.resolve(replied);
    if (this.pokedDuringBeat) {
      this.pokedDuringBeat = false;
      next = 0;
    }
    this.schedule(next);
  }
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
