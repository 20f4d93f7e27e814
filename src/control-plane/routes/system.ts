import { z } from 'zod';
import { defineRoute, type RouteDef } from '../http/route.js';

const health = z.object({ status: z.literal('ok') });
const ready = z.object({ status: z.enum(['ready', 'not_ready']), store: z.string(), schema: z.object({ current: z.number(), latest: z.number() }).optional() });

export function systemRoutes(): RouteDef[] {
  return [
    defineRoute({
      id: 'system.health',
      method: 'GET',
      path: '/health',
      summary: 'Liveness: the process is up',
      tags: ['system'],
      auth: { kind: 'public' },
      responses: { 200: health },
      handler: async () => ({ body: { status: 'ok' } }),
    }),
    defineRoute({
      id: 'system.ready',
      method: 'GET',
      path: '/ready',
      summary: 'Readiness: the store is reachable and migrated',
      tags: ['system'],
      auth: { kind: 'public' },
      responses: { 200: ready, 503: ready },
      handler: async ({ cp }) => {
        try {
          const schema = await cp.store.schema();
          if (!schema.ready) return { status: 503, body: { status: 'not_ready', store: 'migrations pending', schema: { current: schema.current, latest: schema.latest } } };
          return { body: { status: 'ready', store: 'ok', schema: { current: schema.current, latest: schema.latest } } };
        } catch {
          return { status: 503, body: { status: 'not_ready', store: 'unreachable' } };
        }
      },
    }),
  ];
}
