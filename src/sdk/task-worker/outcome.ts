/**
 * What to report once a handler settles: a pure function of how it settled, why its signal aborted
 * (if it did) and the output limit. The rule is that an aborted signal decides, whatever the handler
 * returned afterwards — a handler that watches its signal may well return partial output, and a result
 * produced after the lease was lost must never be reported.
 */
import type { TaskOutcomeWire } from '../../protocol/tasks.js';
import type { AbortReason } from './types.js';

export const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024;
/** The wire's limits on a failure (protocol/tasks.ts). */
const MAX_MESSAGE_CHARS = 16_384;
const MAX_CODE_CHARS = 128;

export type Settled = { ok: true; value: unknown } | { ok: false; error: unknown };

export type ReportDecision =
  | { report: TaskOutcomeWire }
  /** Report nothing: the lease will expire and the control plane decides (requeue or fail). */
  | { report: null; reason: 'lease_lost' | 'shutdown' | 'deadline' };

export function decideOutcome(settled: Settled, aborted: AbortReason | undefined, maxOutputBytes: number): ReportDecision {
  if (aborted) {
    switch (aborted.kind) {
      // The deadline is the control plane's to enforce: its sweep ends the task as `expired`, and a
      // report racing it would only make the final state depend on who came first.
      case 'lease_lost':
      case 'shutdown':
      case 'deadline':
        return { report: null, reason: aborted.kind };
      case 'cancelled':
        return { report: { status: 'cancelled' } };
    }
  }
  if (!settled.ok) return failed(errorOf(settled.error));
  return succeeded(settled.value, maxOutputBytes);
}

function succeeded(value: unknown, maxOutputBytes: number): ReportDecision {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (err) {
    return failed({ message: `the handler's output is not JSON-serialisable: ${messageOf(err)}`, retryable: false, code: 'output_invalid' });
  }
  // undefined is "no output"; a bare function or symbol stringifies to undefined too and is a mistake.
  if (json === undefined && value !== undefined) {
    return failed({ message: `the handler's output is not JSON-serialisable (a ${typeof value})`, retryable: false, code: 'output_invalid' });
  }
  const bytes = json === undefined ? 0 : Buffer.byteLength(json);
  if (bytes > maxOutputBytes) {
    return failed({
      message: `the handler's output is ${bytes} bytes, over the ${maxOutputBytes}-byte limit: write large results with ctx.artifacts.put() and return their keys`,
      retryable: false,
      code: 'output_too_large',
    });
  }
  // Re-parsed so what is reported is exactly what JSON keeps (no Dates, no undefined fields).
  return { report: json === undefined ? { status: 'succeeded' } : { status: 'succeeded', output: JSON.parse(json) as unknown } };
}

function failed(error: { message: string; retryable: boolean; code?: string }): ReportDecision {
  return { report: { status: 'failed', error } };
}

/** A thrown value as the wire's error: retryable unless it says `retryable: false`. */
export function errorOf(err: unknown): { message: string; retryable: boolean; code?: string } {
  const fields = typeof err === 'object' && err !== null ? (err as { retryable?: unknown; code?: unknown }) : {};
  const message = messageOf(err).slice(0, MAX_MESSAGE_CHARS);
  const out: { message: string; retryable: boolean; code?: string } = { message, retryable: fields.retryable !== false };
  if (typeof fields.code === 'string' && fields.code.length > 0) out.code = fields.code.slice(0, MAX_CODE_CHARS);
  return out;
}

function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  if (typeof err === 'string') return err;
  try {
    return JSON.stringify(err) ?? String(err);
  } catch {
    return String(err);
  }
}
