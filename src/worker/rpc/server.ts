/**
 * The worker's HTTP server on `worker.listen_addr`: `POST /rpc` (the control plane → worker RPC) and
 * the data-plane routes under `/v1/sandboxes/...` (data-plane.ts). Every route, unknown ones included,
 * first passes the rpc-secret check in an onRequest hook — before any body is read — so no caller
 * without the secret can make the worker parse, allocate or reveal anything.
 */
import Fastify, { type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { ListenAddr } from '../advertise.js';
import type { WorkTracker } from '../work.js';
import { bearerMatches } from './auth.js';
import { registerDataPlane, type DataPlaneContext, type DataPlaneRoutes } from './data-plane.js';
import { dispatch } from './dispatch.js';
import type { RpcHandler } from './methods.js';

export interface RpcServerOptions {
  secret: string;
  methods: ReadonlyMap<string, RpcHandler>;
  work: WorkTracker;
  log: Logger;
  tls?: { cert: Buffer; key: Buffer } | undefined;
  dataPlane: DataPlaneContext;
  dataPlaneRoutes?: readonly DataPlaneRoutes[];
}

export interface RpcServer {
  app: FastifyInstance;
  /** The port actually bound (listen port 0 picks one). */
  port: number;
  close(): Promise<void>;
}

const RPC_BODY_LIMIT = 1024 * 1024;

function errorBody(code: string, message: string) {
  return { id: null, error: { code, message } };
}

export async function startRpcServer(o: RpcServerOptions, listen: ListenAddr): Promise<RpcServer> {
  const app = (o.tls ? Fastify({ https: o.tls, logger: false, bodyLimit: RPC_BODY_LIMIT, forceCloseConnections: true }) : Fastify({ logger: false, bodyLimit: RPC_BODY_LIMIT, forceCloseConnections: true })) as FastifyInstance;
  const finished = new WeakMap<FastifyRequest, () => void>();

  app.addHook('onRequest', async (req, reply) => {
    if (!bearerMatches(req.headers.authorization, o.secret)) {
      o.log.debug({ method: req.method, url: req.url.split('?')[0] }, 'rpc caller without the rpc secret refused');
      return reply.code(401).send(errorBody('unauthorized', 'missing or wrong rpc secret'));
    }
    finished.set(req, o.work.begin(req.url === '/rpc' ? 'rpc' : 'data-plane'));
    return undefined;
  });
  const end = async (req: FastifyRequest) => finished.get(req)?.();
  app.addHook('onResponse', end);
  app.addHook('onRequestAbort', end);

  app.setErrorHandler((err: FastifyError, _req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) o.log.error({ err: err.message }, 'worker http error');
    void reply.code(status).send(errorBody(status === 500 ? 'internal' : 'bad_request', status === 500 ? 'internal error' : err.message));
  });
  app.setNotFoundHandler((_req, reply) => {
    void reply.code(404).send(errorBody('not_found', 'no such route'));
  });

  app.post('/rpc', async (req, reply) => {
    const out = await dispatch(o.methods, req.body, o.log);
    return reply.code(out.status).send(out.body);
  });
  await registerDataPlane(app, o.dataPlane, o.dataPlaneRoutes ?? []);

  await app.listen({ host: listen.host === '' ? '0.0.0.0' : listen.host, port: listen.port });
  const port = (app.server.address() as AddressInfo).port;
  return { app, port, close: () => app.close() };
}
