/**
 * Observability endpoints (02-api.md, "System"): Prometheus metrics, the diagnostics document and the
 * event stream. The logic lives in ../observability/; these are the HTTP edges.
 */
import { z } from 'zod';
import { NotFound } from '../../domain/errors.js';
import { diagnosticsSchema } from '../../protocol/diagnostics.js';
import { readScope } from '../auth/principal.js';
import { secretsEqual } from '../auth/secrets.js';
import { Unauthorized } from '../http/errors.js';
import { defineRoute, type RouteDef } from '../http/route.js';
import { collectDiagnostics } from '../observability/diagnostics.js';
import { parseTypes, resumePoint } from '../observability/event-cursor.js';
import { refreshGauges } from '../observability/gauges.js';
import { DEFAULT_SSE_OPTIONS, serveEventStream, type SseOptions } from '../observability/sse.js';

export interface ObservabilityRouteOptions {
  /** Event stream timing; tests shorten the intervals. */
  sse?: Partial<SseOptions>;
}

// Strict: a misspelt filter (`?type=`) must be a 400, not a silently unfiltered stream.
const eventsQuery = z.strictObject({
  after: z.coerce.number().int().min(0).optional(),
  /** Comma-separated event types; `sandbox.*` selects a family. */
  types: z.string().max(5000).optional(),
  /** Admins: only this tenant's events. */
  tenant: z.string().min(1).max(128).optional(),
});

/** The metrics token, when configured, as `Authorization: Bearer <token>`, compared in constant time. */
function requireMetricsToken(expected: string | undefined, header: string | undefined): void {
  if (expected === undefined) return;
  const given = /^Bearer\s+(\S+)$/i.exec(header ?? '')?.[1];
  if (given === undefined || !secretsEqual(given, expected)) throw new Unauthorized('the metrics token is required');
}

export function observabilityRoutes(options: ObservabilityRouteOptions = {}): RouteDef[] {
  const sse: SseOptions = { ...DEFAULT_SSE_OPTIONS, ...options.sse };
  return [
    defineRoute({
      id: 'system.metrics',
      method: 'GET',
      path: '/metrics',
      summary: 'Prometheus metrics (text exposition format)',
      tags: ['system'],
      auth: { kind: 'metrics' },
      responses: { 200: null, 401: null, 404: null },
      handler: async ({ cp, req }) => {
        if (!cp.config.metrics.enabled) throw new NotFound('metrics endpoint (metrics.enabled is false)');
        requireMetricsToken(cp.config.metrics.token, req.headers.authorization);
        if (!(await refreshGauges(cp.store, cp.metrics))) cp.log.warn('metrics: the store could not be read; state gauges are left out of this scrape');
        return { body: await cp.metrics.registry.metrics(), headers: { 'content-type': cp.metrics.registry.contentType } };
      },
    }),
    defineRoute({
      id: 'system.diagnostics',
      method: 'GET',
      path: '/api/v1/diagnostics',
      summary: 'Health of the control plane and fleet, with a remediation for each problem found',
      tags: ['system'],
      auth: { kind: 'user', scope: 'operate' },
      responses: { 200: diagnosticsSchema },
      handler: async ({ cp }) => ({ body: await collectDiagnostics(cp) }),
    }),
    defineRoute<Record<string, never>, z.infer<typeof eventsQuery>>({
      id: 'system.events',
      method: 'GET',
      path: '/api/v1/events',
      summary: 'Server-Sent Events from the persisted event log; resume with Last-Event-ID or ?after=',
      tags: ['system'],
      auth: { kind: 'user', scope: 'read' },
      query: eventsQuery,
      responses: { 200: null },
      handler: async ({ cp, req, reply, query, principal }) => {
        // Everything that can fail with a status is decided before the reply is taken over.
        const types = parseTypes(query.types);
        const scope = readScope(principal, query.tenant);
        const after = resumePoint(req.headers['last-event-id'], query.after) ?? (await cp.store.events.latestEventSeq());
        reply.hijack();
        await serveEventStream({
          res: reply.raw,
          headers: reply.getHeaders(),
          store: cp.store,
          bus: cp.events,
          log: req.log,
          scope,
          types,
          after,
          signal: cp.shutdown,
          options: sse,
        });
        return undefined;
      },
    }),
  ];
}
