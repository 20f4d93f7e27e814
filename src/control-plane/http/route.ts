/**
 * The route registry's unit. Every HTTP route is declared once as a RouteDef: its schemas (which both
 * validate requests and generate the OpenAPI document), its auth requirement (which the auth-matrix
 * test reads to derive the expected status for every kind of caller), its audit action, and a handler
 * that sees validated input and a resolved principal.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { ControlPlane } from '../deps.js';
import type { Principal } from '../auth/principal.js';
import type { WorkerScope } from '../../store/types.js';

export type UserScope = 'read' | 'write' | 'operate' | 'admin';

export type AuthRequirement =
  /** No credentials (health, readiness, docs). */
  | { kind: 'public' }
  /** An API key whose role grants `scope`. */
  | { kind: 'user'; scope: UserScope }
  /** A worker credential with `scope`, for the worker named by the `workerId` path parameter. */
  | { kind: 'worker'; scope: WorkerScope }
  /** /metrics: open, or the metrics token when one is configured. */
  | { kind: 'metrics' }
  /** A URL signed by the control plane (blob downloads, previews); checked by the handler. */
  | { kind: 'signed' };

export interface HandlerInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  principal: Principal;
  requestId: string;
  req: FastifyRequest;
  reply: FastifyReply;
  cp: ControlPlane;
}

/** A JSON reply; or `undefined` when the handler has already sent a raw/streamed reply itself. */
export type HandlerResult =
  | {
      status?: number;
      body: unknown;
      headers?: Record<string, string>;
      /** The resource a create made, for the audit record (path parameters name it otherwise). */
      auditResource?: { type: string; id: string };
    }
  | undefined;

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';

export interface RouteDef<P = unknown, Q = unknown, B = unknown> {
  /** Stable identifier, e.g. 'sandboxes.create'; also the default audit action for mutations. */
  id: string;
  method: Method;
  /** Fastify path syntax: /api/v1/sandboxes/:id */
  path: string;
  summary: string;
  tags: string[];
  auth: AuthRequirement;
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  /** JSON body schema. Absent with `rawBody: true` for streamed bodies. */
  body?: z.ZodType<B>;
  /** The body is not JSON: the handler reads `req.raw` itself (uploads, stdin). */
  rawBody?: boolean;
  /** Documented responses: status → schema (or null for no body / non-JSON). */
  responses: Record<number, z.ZodType | null>;
  /** Audit action for a mutation; `false` to skip (reads, heartbeats). Default: `id` for non-GET. */
  audit?: string | false;
  /** Which path parameter names the audited resource. */
  auditResource?: { type: string; param: string };
  handler(input: HandlerInput<P, Q, B>): Promise<HandlerResult>;
}

/** Typed constructor: infers P/Q/B from the schemas so handlers are checked against them. */
export function defineRoute<P = Record<string, never>, Q = Record<string, never>, B = undefined>(def: RouteDef<P, Q, B>): RouteDef {
  return def as unknown as RouteDef;
}

/** Convenience for handlers. */
export const ok = (body: unknown, status = 200): HandlerResult => ({ status, body });
