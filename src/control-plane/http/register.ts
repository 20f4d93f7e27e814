/**
 * Turn RouteDefs into Fastify routes. The order of checks is fixed here for every route: authenticate,
 * rate-limit, authorize, validate, handle, audit. Handlers never repeat any of it.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DroverError } from '../../domain/errors.js';
import { authenticate, readCredentials } from '../auth/authenticate.js';
import { authorize } from '../auth/authorize.js';
import { actorOf, type Principal } from '../auth/principal.js';
import type { ControlPlane } from '../deps.js';
import { Forbidden, RateLimited, Unauthorized, toHttpError } from './errors.js';
import type { RouteDef } from './route.js';
import { validate } from './validate.js';

export function registerRoutes(app: FastifyInstance, cp: ControlPlane, routes: RouteDef[]): void {
  const json = routes.filter((r) => !r.rawBody);
  const raw = routes.filter((r) => r.rawBody);
  for (const route of json) app.route({ method: route.method, url: route.path, handler: handlerFor(cp, route) });
  // Streamed bodies: a catch-all content-type parser that leaves the request stream unread, in its own
  // encapsulated context so JSON routes keep strict JSON parsing.
  void app.register(async (child) => {
    child.removeAllContentTypeParsers();
    child.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));
    for (const route of raw) child.route({ method: route.method, url: route.path, handler: handlerFor(cp, route), bodyLimit: Number.MAX_SAFE_INTEGER });
  });
}

function handlerFor(cp: ControlPlane, route: RouteDef) {
  const auditAction = route.audit === false ? undefined : (route.audit ?? (route.method === 'GET' ? undefined : route.id));
  return async (req: FastifyRequest, reply: FastifyReply) => {
    let principal: Principal = { kind: 'anonymous' };
    const rawParams = (req.params ?? {}) as Record<string, string | undefined>;
    try {
      // Public and signed routes take no credentials, so whatever headers a client sends are ignored
      // (a presigned URL carries its own authority; a stray Authorization header must not break it).
      const credentialed = route.auth.kind !== 'public' && route.auth.kind !== 'signed';
      if (credentialed) {
        const creds = readCredentials(req.headers);
        if (creds.kind === 'malformed') throw new Unauthorized('malformed credentials');
        principal = await authenticate(creds, cp.auth, cp.store);
        // /metrics takes its own token (checked by its handler), which is not an API key.
        if (creds.kind !== 'none' && principal.kind === 'anonymous' && route.auth.kind !== 'metrics') throw new Unauthorized('invalid credentials');
      }
      // Signed URLs are limited by their signature and expiry, not per address: a fleet of task
      // workers behind one NAT must not share one bucket for artifact transfers.
      if (route.auth.kind !== 'signed') limitRate(cp, principal, req, reply);
      const decision = authorize(route.auth, principal, rawParams);
      if (!decision.ok) throw decision.status === 401 ? new Unauthorized(decision.message) : new Forbidden(decision.message);
      const params = validate(route.params, rawParams, 'params');
      const query = validate(route.query, req.query ?? {}, 'query');
      const body = route.rawBody ? undefined : validate(route.body, req.body ?? (route.body ? {} : undefined), 'body');
      const result = await route.handler({ params, query, body, principal, requestId: req.id, req, reply, cp });
      if (auditAction) await writeAudit(cp, route, auditAction, principal, req, 'ok', rawParams, undefined, result?.auditResource);
      if (result === undefined) return reply;
      if (result.headers) void reply.headers(result.headers);
      return reply.code(result.status ?? 200).send(result.body);
    } catch (err) {
      if (auditAction) {
        const denied = err instanceof DroverError && (err.code === 'unauthorized' || err.code === 'forbidden');
        await writeAudit(cp, route, auditAction, principal, req, denied ? 'denied' : 'error', rawParams, err);
      }
      throw err;
    }
  };
}

function limitRate(cp: ControlPlane, p: Principal, req: FastifyRequest, reply: FastifyReply): void {
  if (!cp.rateLimiter) return;
  const key = p.kind === 'user' ? `key:${p.keyId}` : p.kind === 'worker' ? `worker:${p.workerId}` : `ip:${req.ip}`;
  const d = cp.rateLimiter.take(key);
  void reply.header('ratelimit-limit', String(d.limit)).header('ratelimit-remaining', String(d.remaining));
  if (!d.allowed) {
    cp.metrics.rateLimited.inc();
    void reply.header('retry-after', String(d.retryAfterSeconds));
    throw new RateLimited(d.retryAfterSeconds);
  }
}

async function writeAudit(
  cp: ControlPlane,
  route: RouteDef,
  action: string,
  principal: Principal,
  req: FastifyRequest,
  outcome: 'ok' | 'denied' | 'error',
  params: Record<string, string | undefined>,
  err?: unknown,
  created?: { type: string; id: string },
): Promise<void> {
  const actor = actorOf(principal);
  const resourceId = created?.id ?? (route.auditResource ? (params[route.auditResource.param] ?? null) : null);
  await cp.audit({
    ...actor,
    action,
    resourceType: created?.type ?? route.auditResource?.type ?? null,
    resourceId,
    outcome,
    requestId: req.id,
    remoteAddr: req.ip,
    details: err instanceof DroverError ? { code: err.code } : err ? { code: toHttpError(err, () => false).body.error.code } : null,
  });
}
