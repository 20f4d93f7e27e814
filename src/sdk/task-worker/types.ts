/**
 * The task worker's public types: options, the handler and its context, the abort reasons, the events.
 */
import type { Readable } from 'node:stream';
import type { Clock } from '../../domain/clock.js';
import type { Timers } from './timers.js';

/**
 * Why a handler's `ctx.signal` aborted. `signal.reason` is a TaskAbortedError, which carries the same
 * `kind` (and is an Error named `AbortError`, so code that checks for aborts keeps working):
 *  - `cancelled`: someone cancelled the task through the API. The worker reports `cancelled`.
 *  - `deadline`: the task's deadline passed. Nothing is reported: the control plane ends it as `expired`.
 *  - `lease_lost`: the lease expired or was taken over; another worker may already run the task. The
 *    result is discarded and nothing is reported.
 *  - `shutdown`: `worker.stop()` ran out of patience. Nothing is reported; the lease expires and the
 *    control plane requeues the task.
 */
export type AbortReason = { kind: 'cancelled' } | { kind: 'lease_lost' } | { kind: 'deadline' } | { kind: 'shutdown' };
export type AbortKind = AbortReason['kind'];

/** What a handler learns about the task it runs. */
export interface TaskInfo {
  id: string;
  kind: string;
  /** 1 on the first run, 2 on the first retry, … */
  attempt: number;
  maxAttempts: number;
  /** The task's deadline (set at submit): work past it is wasted. */
  deadline: Date;
  priority: number;
  codeVersion: string | null;
  labels: Record<string, string>;
  /** The lease generation of this attempt; unique per attempt, handy as an idempotency key downstream. */
  generation: number;
}

export type ArtifactBody = Readable | Buffer | Uint8Array | string | AsyncIterable<Uint8Array | string>;

export interface PutArtifactOptions {
  contentType?: string;
  /**
   * The body's size in bytes, when a stream's size is known: it is sent as Content-Length. S3 refuses
   * a presigned PUT without one, so stream to an S3-backed control plane with `size` (or pass a Buffer).
   */
  size?: number;
}

export interface PutArtifactResult {
  /** The full object key (`tasks/{id}/{name}`), as listed in the task's `artifacts`. */
  key: string;
  size: number;
  /** Hex sha256 of the bytes sent; checked against the server's when it answers one (fs). */
  sha256: string;
}

export interface TaskArtifacts {
  /** Upload under the task's prefix: presign, then stream a PUT straight to storage. */
  put(name: string, body: ArtifactBody, options?: PutArtifactOptions): Promise<PutArtifactResult>;
  /** Download an object under the task's prefix (e.g. one an earlier attempt wrote). */
  get(name: string): Promise<Readable>;
}

export interface TaskContext {
  /** Aborts on cancel, deadline, lease loss or shutdown; `signal.reason.kind` says which (AbortReason). */
  signal: AbortSignal;
  task: TaskInfo;
  /** Record progress (any JSON value). Sent with the next heartbeat; a newer value replaces an unsent one. */
  progress(value: unknown): void;
  artifacts: TaskArtifacts;
}

/**
 * A handler runs one task. Its resolved value is the output (JSON, ≤ maxOutputBytes). A thrown error
 * reports the attempt failed — retryable unless it is a NonRetryableError or has `retryable: false`.
 *
 * Handlers must yield to the event loop: heartbeats run from timers on the same thread, so a handler
 * that computes synchronously for longer than the lease loses it. Put CPU-bound work in a
 * worker_thread or child process and await it.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- inputs are whatever the caller submitted
export type TaskHandler = (input: any, ctx: TaskContext) => Promise<unknown>;

export interface TaskWorkerLogger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export interface TaskWorkerOptions {
  /** The control plane's base URL. */
  url: string;
  workerId: string;
  /** The worker token (shared or per-worker). Sent to the control plane only, never to artifact URLs. */
  token: string;
  /** Receive only unpinned tasks and tasks pinned to exactly this version. */
  codeVersion?: string;
  /** Most handlers running at once. */
  concurrency: number;
  handlers: Record<string, TaskHandler>;
  fetch?: typeof fetch;
  clock?: Clock;
  timers?: Timers;
  logger?: TaskWorkerLogger;
  /**
   * Upper bound of the heartbeat interval (default 10 s). The interval itself is a third of the lease
   * the control plane grants (`tasks.lease_ttl`), so this only matters for long leases.
   */
  heartbeatIntervalMs?: number;
  /** How long one lease request waits for work on the server (default 20 s, at most 30 s). */
  leaseWaitMs?: number;
  /** Default patience of `stop()` before running handlers are aborted with `shutdown` (default 30 s). */
  stopTimeoutMs?: number;
  /** Largest output reported inline (default 1 MiB); the server enforces `tasks.max_output_bytes` too. */
  maxOutputBytes?: number;
  /** Jitter source for the lease loop's backoff; Math.random by default. */
  random?: () => number;
}

/** What happened to one task on this worker. */
export type TaskSettlement =
  | { result: 'succeeded' | 'failed' | 'cancelled'; reported: true }
  /** Nothing was reported: the lease was lost, the deadline passed, the worker shut down, or the report failed. */
  | { result: 'discarded'; reported: false; reason: 'lease_lost' | 'shutdown' | 'deadline' | 'report_failed' };

export interface TaskWorkerEvents {
  'task.started': { task: TaskInfo };
  'task.aborted': { task: TaskInfo; reason: AbortReason };
  'task.settled': { task: TaskInfo } & TaskSettlement;
  /** The lease loop failed to lease and will retry after `retryInMs`. */
  'lease.error': { error: Error; retryInMs: number };
}

export interface TaskWorker {
  /** Starts the lease loop; resolves once it runs. */
  start(): Promise<void>;
  /**
   * Stops leasing at once, waits up to `timeoutMs` for running tasks to finish (and report), then aborts
   * the rest with `shutdown` and waits for their handlers to settle.
   */
  stop(options?: { timeoutMs?: number }): Promise<void>;
  /** Subscribe to an event; returns the unsubscribe function. A throwing listener is logged and ignored. */
  on<E extends keyof TaskWorkerEvents>(event: E, listener: (payload: TaskWorkerEvents[E]) => void): () => void;
  /** Tasks running now (handler started, report not yet done). */
  readonly running: number;
}
