/**
 * `createTaskWorker`: the composition of the task worker. It builds the protocol client over the SDK
 * transport (with the worker's credentials), keeps the set of running tasks, and runs the lease loop
 * until `stop()`. Everything with timing in it takes the injected clock and timers.
 *
 *   created ──start()──▶ running ──stop()──▶ stopping ──(tasks settled)──▶ stopped
 *      └──────────────────────stop()─────────────────────────────────────────▲
 */
import { systemClock } from '../../domain/clock.js';
import { taskKind } from '../../protocol/tasks.js';
import { createTransport } from '../http.js';
import { createEmitter } from './emitter.js';
import { DEFAULT_HEARTBEAT_BOUNDS, type HeartbeatBounds } from './heartbeat-plan.js';
import { runLeaseLoop } from './lease-loop.js';
import { DEFAULT_MAX_OUTPUT_BYTES } from './outcome.js';
import { httpTaskProtocol, type TaskProtocol } from './protocol-client.js';
import { runTask, type RunningTask } from './run-task.js';
import { sleep, systemTimers } from './timers.js';
import type { TaskWorker, TaskWorkerLogger, TaskWorkerOptions } from './types.js';

/**
 * - `created`: built, not leasing.
 * - `running`: the lease loop runs.
 * - `stopping`: no new leases; waiting for running tasks (then aborting them with `shutdown`).
 * - `stopped`: nothing runs; terminal.
 */
export type TaskWorkerState = 'created' | 'running' | 'stopping' | 'stopped';

const DEFAULT_LEASE_WAIT_MS = 20_000;
const MAX_LEASE_WAIT_MS = 30_000;
const DEFAULT_STOP_TIMEOUT_MS = 30_000;

export const silentLogger: TaskWorkerLogger = { debug() {}, info() {}, warn() {}, error() {} };

export function createTaskWorker(o: TaskWorkerOptions): TaskWorker {
  const kinds = checkOptions(o);
  const clock = o.clock ?? systemClock;
  const timers = o.timers ?? systemTimers;
  const log = o.logger ?? silentLogger;
  const doFetch = o.fetch ?? globalThis.fetch;
  const random = o.random ?? Math.random;
  const bounds: HeartbeatBounds = { ...DEFAULT_HEARTBEAT_BOUNDS, maxIntervalMs: o.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_BOUNDS.maxIntervalMs };
  const protocol: TaskProtocol = httpTaskProtocol(createTransport({ url: o.url, worker: { id: o.workerId, token: o.token }, fetch: doFetch }), o.workerId);
  const events = createEmitter(log);

  let state: TaskWorkerState = 'created';
  const running = new Map<string, { task: RunningTask; done: Promise<void> }>();
  const slotWaiters = new Set<() => void>();
  const stopLeasing = new AbortController();
  let loop: Promise<void> = Promise.resolve();
  let stopping: Promise<void> | undefined;

  const launch: Parameters<typeof runLeaseLoop>[0]['launch'] = (leased) => {
    const handler = Object.hasOwn(o.handlers, leased.task.kind) ? o.handlers[leased.task.kind] : undefined;
    if (!handler) {
      // The lease asks only for registered kinds, so this is a control-plane bug; the lease will expire.
      log.error('leased a task of a kind with no handler', { task_id: leased.task.id, kind: leased.task.kind });
      return;
    }
    const task = runTask(leased, handler, { protocol, fetch: doFetch, clock, timers, log, bounds, maxOutputBytes: o.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES, random, emit: events.emit });
    // Keyed by attempt: a task whose lease this worker lost can come back to it while the old handler
    // is still settling, and the two must not share a slot.
    const key = `${task.info.id}#${task.info.generation}`;
    // Counted before the handler starts, so `running` includes it from its first line on.
    const entry = { task, done: Promise.resolve() };
    running.set(key, entry);
    entry.done = task.start().then(() => {
      running.delete(key);
      for (const wake of [...slotWaiters]) wake();
    });
  };

  const slotFreed = (signal: AbortSignal) =>
    new Promise<void>((resolve) => {
      const wake = () => {
        slotWaiters.delete(wake);
        signal.removeEventListener('abort', wake);
        resolve();
      };
      slotWaiters.add(wake);
      signal.addEventListener('abort', wake, { once: true });
    });

  const drain = async (timeoutMs: number) => {
    await loop;
    const allDone = () => Promise.all([...running.values()].map((r) => r.done));
    const patience = new AbortController();
    let timedOut = false;
    await Promise.race([allDone(), sleep(timers, timeoutMs, patience.signal).then(() => (timedOut = !patience.signal.aborted))]);
    patience.abort();
    if (timedOut && running.size > 0) {
      log.warn('stop timed out; aborting running tasks with shutdown', { running: running.size });
      for (const { task } of running.values()) task.abort({ kind: 'shutdown' });
    }
    // A handler that ignores its signal keeps stop() waiting: it still holds its slot and its lease.
    await allDone();
    state = 'stopped';
  };

  return {
    async start() {
      if (state !== 'created') throw new Error(`the task worker cannot start: it is ${state}`);
      state = 'running';
      loop = runLeaseLoop({
        protocol,
        clock,
        timers,
        log,
        random,
        kinds,
        codeVersion: o.codeVersion ?? null,
        waitMs: Math.min(o.leaseWaitMs ?? DEFAULT_LEASE_WAIT_MS, MAX_LEASE_WAIT_MS),
        freeSlots: () => o.concurrency - running.size,
        slotFreed,
        launch,
        emit: events.emit,
        signal: stopLeasing.signal,
      }).catch((err: unknown) => log.error('the lease loop stopped unexpectedly', { error: (err as Error).message }));
    },
    stop(options = {}) {
      if (stopping) return stopping;
      stopLeasing.abort();
      if (state === 'created') {
        state = 'stopped';
        return (stopping = Promise.resolve());
      }
      state = 'stopping';
      return (stopping = drain(options.timeoutMs ?? o.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS));
    },
    on: events.on,
    get running() {
      return running.size;
    },
  };
}

/** Mistakes in the options fail at construction, not at the first lease. */
function checkOptions(o: TaskWorkerOptions): string[] {
  if (!Number.isInteger(o.concurrency) || o.concurrency < 1) throw new TypeError(`concurrency must be a whole number ≥ 1, not ${o.concurrency}`);
  const kinds = Object.keys(o.handlers ?? {});
  if (kinds.length === 0) throw new TypeError('handlers must register at least one task kind');
  if (kinds.length > 100) throw new TypeError('a task worker can serve at most 100 kinds');
  for (const kind of kinds) {
    if (!taskKind.safeParse(kind).success) throw new TypeError(`"${kind}" is not a valid task kind (1–128 of A–Z a–z 0–9 . _ : / -, starting alphanumeric)`);
    if (typeof o.handlers[kind] !== 'function') throw new TypeError(`the handler for "${kind}" is not a function`);
  }
  if (!o.workerId || !o.token) throw new TypeError('workerId and token are required');
  return kinds;
}
