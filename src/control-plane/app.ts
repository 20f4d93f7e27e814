/**
 * The HTTP application: Fastify with our request ids, error model, metrics hook, every registered
 * route, the OpenAPI document and the /docs reference. No port is opened here; `app.inject` drives it
 * in-process in tests and server.ts listens.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { newId } from '../domain/ids.js';
import { buildInfo } from '../domain/build-info.js';
import type { ControlPlane } from './deps.js';
import { toHttpError } from './http/errors.js';
import { buildOpenApi } from './http/openapi.js';
import { registerRoutes } from './http/register.js';
import type { RouteDef } from './http/route.js';
import { allRoutes } from './routes/index.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export async function buildApp(cp: ControlPlane, routes: RouteDef[] = allRoutes()): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: cp.log as unknown as FastifyBaseLogger,
    // Fastify's own per-request lines are off: the onResponse hook below logs what we need, with
    // request_id as the label every other line in request scope uses.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'request_id' }),
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : newId('req', cp.clock.now());
    },
    bodyLimit: cp.config.server.body_limit,
    // Proxied streams and long polls end on their own schedule; only idle connections time out.
    requestTimeout: 0,
    connectionTimeout: 0,
    keepAliveTimeout: 65_000,
    forceCloseConnections: true,
    trustProxy: false,
  });

  app.addHook('onRequest', async (req, reply) => {
    void reply.header('x-request-id', req.id);
  });
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    const status = reply.statusCode;
    // A stream's duration is the life of its connection, not a latency.
    if (route !== '/api/v1/events') cp.metrics.httpDuration.observe({ method: req.method, route, status: String(status) }, reply.elapsedTime / 1000);
    // The route pattern, never req.url: query strings can carry preview tokens and URL signatures.
    const line = { method: req.method, route, status, duration_ms: Math.round(reply.elapsedTime * 10) / 10 };
    if (status >= 500) req.log.warn(line, 'request failed');
    else if (route === '/metrics' || route === '/health' || route === '/ready') req.log.debug(line, 'request');
    else req.log.info(line, 'request');
  });

  app.setErrorHandler((err, req, reply) => {
    const { status, body } = toHttpError(err, (e) => cp.store.isUnavailable(e));
    if (status >= 500) req.log.error({ err: { message: (err as Error).message, stack: (err as Error).stack } }, 'request error');
    if (status === 429 && !reply.hasHeader('retry-after')) void reply.header('retry-after', '1');
    return reply.code(status).send(body);
  });
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({ error: { code: 'not_found', message: `no route for ${req.method} ${req.url.split('?')[0]}` } }),
  );

  const document = buildOpenApi(routes, { version: buildInfo().version });
  app.get('/api/v1/openapi.json', { schema: { hide: true } }, async () => document);
  await app.register(swagger, { mode: 'static', specification: { document: document as never } });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list', deepLinking: true } });

  registerRoutes(app, cp, routes);
  return app;
}
