/**
 * The errors a handler throws or sees. How the worker classifies the control plane's answers lives here
 * too, in one table, so the heartbeat, lease and report paths cannot disagree about what is retryable.
 */
import { DroverApiError } from '../errors.js';
import type { AbortReason } from './types.js';

/** Throw this from a handler to fail the task without a retry (bad input, a permanent refusal). */
export class NonRetryableError extends Error {
  readonly retryable = false;
  /** Reported as the error's `code` (≤ 128 characters). */
  readonly code: string | undefined;
  constructor(message: string, options?: { code?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'NonRetryableError';
    this.code = options?.code;
  }
}

/**
 * The reason of an aborted `ctx.signal`. An Error named `AbortError`, so `fetch(url, {signal})` in a
 * handler rejects with something abort-shaped, and it carries the AbortReason's `kind`.
 */
export class TaskAbortedError extends Error {
  readonly kind: AbortReason['kind'];
  constructor(readonly reason: AbortReason) {
    super(ABORT_MESSAGES[reason.kind]);
    this.name = 'AbortError';
    this.kind = reason.kind;
  }
}

const ABORT_MESSAGES: Record<AbortReason['kind'], string> = {
  cancelled: 'the task was cancelled',
  deadline: "the task's deadline passed",
  lease_lost: "this worker lost the task's lease",
  shutdown: 'the task worker is shutting down',
};

/** The AbortReason of a task's signal, if it aborted. */
export function abortReasonOf(signal: AbortSignal): AbortReason | undefined {
  if (!signal.aborted) return undefined;
  const r: unknown = signal.reason;
  return r instanceof TaskAbortedError ? r.reason : undefined;
}

/**
 * What an error from a control-plane call means for the task:
 *  - `lease_lost`: the server says this worker no longer holds the lease (409), or the task is gone
 *    (404). Retrying cannot help.
 *  - `transient`: the network, a timeout, 5xx, 429: try again while the lease lasts.
 *  - `refused`: any other 4xx (bad request, auth). Retrying the same request will not help.
 */
export type CallFailure = 'lease_lost' | 'transient' | 'refused';

export function classifyFailure(err: unknown): CallFailure {
  if (!(err instanceof DroverApiError)) return 'transient';
  if (err.status === 409 || err.code === 'lease_lost' || err.status === 404) return 'lease_lost';
  if (err.status === 429 || err.status === 408 || err.status >= 500) return 'transient';
  return 'refused';
}
