/**
 * The worker's data plane: plain streaming HTTP under `/v1/sandboxes/{runtime_id}/...` (03-worker.md,
 * "Control plane → worker") — file upload/download, archives, process output, attach, port proxying —
 * so bytes are piped end to end without buffering or base64.
 *
 * This is where those routes plug in. They arrive already authenticated (the server's onRequest hook
 * checks the rpc secret for every route, this one included) and should:
 *   - find the runtime with `ctx.runtimes.lookup(runtimeId)` → `{record, provider}` (404 when absent),
 *     and build on src/worker/runtime/ (runExec, ProcessRegistry, SandboxFiles) with that provider;
 *   - drop per-runtime state (process registries) in `ctx.runtimes.onDestroy(...)`;
 *   - count long work for the drain: `const done = ctx.work.begin('exec'); … finally done()`;
 *   - register their own content-type parsers inside the plugin scope below (raw streams), and their
 *     own `bodyLimit` per route, so neither the JSON parser nor the 1 MiB limit of `/rpc` applies.
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Clock } from '../../domain/clock.js';
import type { RuntimeManager } from '../runtimes.js';
import type { WorkTracker } from '../work.js';

export interface DataPlaneContext {
  runtimes: RuntimeManager;
  work: WorkTracker;
  clock: Clock;
  log: Logger;
}

/** A set of data-plane routes, registered in the `/v1/sandboxes` scope. */
export type DataPlaneRoutes = (scope: FastifyInstance, ctx: DataPlaneContext) => void | Promise<void>;

export async function registerDataPlane(app: FastifyInstance, ctx: DataPlaneContext, routes: readonly DataPlaneRoutes[]): Promise<void> {
  await app.register(
    async (scope) => {
      for (const add of routes) await add(scope, ctx);
    },
    { prefix: '/v1/sandboxes' },
  );
}
