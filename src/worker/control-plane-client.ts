/**
 * The worker's side of the worker → control plane wire (src/protocol/worker-protocol.ts): heartbeat,
 * sandbox lease renewal and fenced state reports, over HTTP with the worker's credentials. Replies are
 * parsed with the protocol's (non-strict) reply schemas, so a newer control plane may add fields.
 *
 * Every call takes an AbortSignal and a timeout: a control plane that accepts the connection and then
 * says nothing must not hold a heartbeat or a renewal forever.
 */
import type { z } from 'zod';
import {
  heartbeatReply,
  leaseRenewReply,
  sandboxStateReply,
  type HeartbeatReply,
  type HeartbeatRequest,
  type LeaseRenewReply,
  type LeaseRenewRequest,
  type SandboxStateReply,
  type SandboxStateReport,
} from '../protocol/worker-protocol.js';

export interface ControlPlaneClientOptions {
  baseUrl: string;
  workerId: string;
  token: string;
  fetch?: typeof fetch;
  /** Per call, unless the caller's signal ends it sooner. */
  timeoutMs?: number;
}

/** The control plane answered with an error (`status` ≥ 400; `code` from its error body). */
export class ControlPlaneError extends Error {
  override name = 'ControlPlaneError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The control plane could not be reached or did not answer in time. */
export class ControlPlaneUnreachable extends Error {
  override name = 'ControlPlaneUnreachable';
}

export interface ControlPlaneClient {
  heartbeat(body: HeartbeatRequest, signal?: AbortSignal): Promise<HeartbeatReply>;
  renewLease(sandboxId: string, body: LeaseRenewRequest, signal?: AbortSignal): Promise<LeaseRenewReply>;
  reportState(sandboxId: string, body: SandboxStateReport, signal?: AbortSignal): Promise<SandboxStateReply>;
}

export function createControlPlaneClient(o: ControlPlaneClientOptions): ControlPlaneClient {
  const doFetch = o.fetch ?? fetch;
  const base = o.baseUrl.replace(/\/+$/, '');
  const prefix = `/api/v1/worker/${encodeURIComponent(o.workerId)}`;

  async function post<S extends z.ZodType>(path: string, body: unknown, schema: S, signal: AbortSignal | undefined): Promise<z.infer<S>> {
    const timeout = AbortSignal.timeout(o.timeoutMs ?? 10_000);
    let res: Response;
    try {
      res = await doFetch(`${base}${prefix}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-worker-id': o.workerId, 'x-worker-token': o.token },
        body: JSON.stringify(body),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (err) {
      const why = err instanceof Error && err.name === 'TimeoutError' ? 'timed out' : err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
      throw new ControlPlaneUnreachable(`control plane ${base} unreachable: ${why}`);
    }
    const text = await res.text().catch(() => '');
    let payload: unknown;
    try {
      payload = text ? JSON.parse(text) : undefined;
    } catch {
      payload = undefined;
    }
    if (!res.ok) {
      const error = (payload as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
      const code = typeof error?.code === 'string' ? error.code : `http_${res.status}`;
      const message = typeof error?.message === 'string' ? error.message : `HTTP ${res.status}`;
      throw new ControlPlaneError(res.status, code, `control plane answered ${res.status} ${code}: ${message}`);
    }
    const parsed = schema.safeParse(payload);
    if (!parsed.success) throw new ControlPlaneError(res.status, 'invalid_reply', `control plane reply to ${path} is not what the protocol says: ${parsed.error.message}`);
    return parsed.data;
  }

  return {
    heartbeat: (body, signal) => post('/heartbeat', body, heartbeatReply, signal),
    renewLease: (sandboxId, body, signal) => post(`/leases/${encodeURIComponent(sandboxId)}/renew`, body, leaseRenewReply, signal),
    reportState: (sandboxId, body, signal) => post(`/sandboxes/${encodeURIComponent(sandboxId)}/state`, body, sandboxStateReply, signal),
  };
}
