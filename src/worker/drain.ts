/**
 * Draining the worker (03-worker.md, "Drain"), started by SIGTERM/SIGINT or the `worker.shutdown` RPC:
 *   1. report `draining` at once (the heartbeat is poked), and refuse new spawns with `draining`, so
 *      the control plane stops placing here, and a placement already in flight goes elsewhere;
 *   2. let running work finish — in-flight calls (RPC, later exec and uploads) and the sandboxes
 *      themselves, which the control plane may stop or move meanwhile — for up to
 *      `worker.shutdown_timeout`;
 *   3. stop: destroy what is left (every process group killed, so nothing outlives the worker) and
 *      close. Sandboxes marked `restart_on_worker_loss` are not moved by the worker: it cannot know
 *      which they are, and the control plane re-places them when it declares this worker gone.
 * A second signal skips the rest of the wait.
 */
import type { Logger } from 'pino';
import type { WorkerStatus } from './status.js';
import { pause, type Timers } from './timers.js';
import type { WorkTracker } from './work.js';

export interface DrainDeps {
  status: WorkerStatus;
  heartbeat: { beatNow(): Promise<boolean> };
  work: WorkTracker;
  runtimes: { count(): number };
  timers: Timers;
  log: Logger;
  timeoutMs: number;
  /** The daemon's stop (destroys what is left and closes everything). */
  stop(): Promise<void>;
}

/** How often the wait looks again; the wait is bounded by the timeout, not by this. */
const POLL_MS = 100;
/** How long the stop waits for the `draining` heartbeat to have been answered. */
const REPORT_WAIT_MS = 5_000;

export class Drain {
  private running: Promise<void> | undefined;
  private readonly hurry = new AbortController();

  constructor(private readonly deps: DrainDeps) {}

  get started(): boolean {
    return this.running !== undefined;
  }

  /** Start the drain (idempotent); resolves once the worker has stopped. */
  begin(reason: string): Promise<void> {
    if (this.running) return this.running;
    const { status, heartbeat, log } = this.deps;
    if (!status.moveTo('draining')) {
      // Already stopping or stopped: nothing to drain.
      this.running = Promise.resolve();
      return this.running;
    }
    log.info({ reason, timeout_ms: this.deps.timeoutMs, runtimes: this.deps.runtimes.count() }, 'draining: no new sandboxes; waiting for running work');
    this.running = this.waitThenStop(heartbeat.beatNow());
    return this.running;
  }

  /** Stop waiting (a second signal). */
  hurryUp(): void {
    this.hurry.abort();
  }

  private async waitThenStop(reported: Promise<boolean>): Promise<void> {
    const { timers, work, runtimes, log } = this.deps;
    const deadline = timers.monotonic() + this.deps.timeoutMs;
    // However short the wait, the control plane should hear `draining` from us before we go.
    const giveUp = new AbortController();
    const told = Promise.race([reported, pause(timers, REPORT_WAIT_MS, giveUp.signal).then(() => false)]);
    while (work.count > 0 || runtimes.count() > 0) {
      const left = deadline - timers.monotonic();
      if (left <= 0 || this.hurry.signal.aborted) break;
      await pause(timers, Math.min(POLL_MS, left), this.hurry.signal);
    }
    if (work.count > 0 || runtimes.count() > 0) {
      log.warn({ in_flight: work.byKind(), runtimes: runtimes.count() }, 'drain wait over; stopping what is left');
    }
    const ok = await told;
    giveUp.abort();
    if (!ok) log.warn('could not report draining to the control plane before stopping');
    await this.deps.stop();
  }
}

/** SIGTERM/SIGINT → drain; a second one → stop waiting. Returns the uninstaller. */
export function onStopSignals(drain: Drain, log: Logger, target: NodeJS.Process = process): () => void {
  const handler = (signal: NodeJS.Signals) => {
    if (drain.started) {
      log.warn({ signal }, 'second stop signal: not waiting any longer');
      drain.hurryUp();
      return;
    }
    void drain.begin(signal);
  };
  target.on('SIGTERM', handler);
  target.on('SIGINT', handler);
  return () => {
    target.off('SIGTERM', handler);
    target.off('SIGINT', handler);
  };
}
