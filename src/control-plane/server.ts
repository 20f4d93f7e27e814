/**
 * A running control plane: store opened and migrated, the first admin key bootstrapped, the HTTP
 * server listening, and the background loops started. `drover serve` and `drover up` both use this;
 * `stop()` is the graceful shutdown (stop accepting, end streams and loops, close the store).
 */
import { resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import { systemClock, type Clock } from '../domain/clock.js';
import { openStore } from '../store/open.js';
import type { Store } from '../store/store.js';
import { buildApp } from './app.js';
import { createLogger } from './observability/logger.js';
import { bootstrapAdminKey } from './auth/bootstrap.js';
import { createControlPlane } from './compose.js';
import type { ControlPlane } from './deps.js';
import { startBackgroundLoops } from './loops/all.js';

export interface ServerOptions {
  config: Config;
  log?: Logger;
  clock?: Clock;
  /** Where the bootstrap admin key is written (default <dir of the SQLite file>/admin.key). */
  adminKeyFile?: string;
  /** Run migrations on start (default true; replicas serialise on the migration lock). */
  migrate?: boolean;
}

export interface RunningServer {
  url: string;
  app: FastifyInstance;
  cp: ControlPlane;
  store: Store;
  /** Set on the first start when no admin key was configured: print it once. */
  bootstrapKey?: { key: string; file: string };
  stop(): Promise<void>;
}

export async function startServer(o: ServerOptions): Promise<RunningServer> {
  const { config } = o;
  const clock = o.clock ?? systemClock;
  const log = o.log ?? createLogger(config.logging);
  const db = config.database;
  const store = openStore({ driver: db.driver, path: db.driver === 'sqlite' ? resolve(db.path) : undefined, dsn: db.dsn, poolSize: db.pool_size, clock });
  const shutdown = new AbortController();
  try {
    if (o.migrate !== false) await store.migrate();
    let bootstrapKey: RunningServer['bootstrapKey'];
    if (config.auth.enabled && !config.auth.admin_api_key) {
      const keyFile = o.adminKeyFile ?? resolve(db.driver === 'sqlite' ? resolve(db.path, '..') : './drover-data', 'admin.key');
      const created = await bootstrapAdminKey(store, clock, keyFile);
      if (created) bootstrapKey = { key: created.key, file: created.file };
    }
    // Known once listening (port 0 picks one); signed artifact URLs need it.
    const listening: { url?: string } = {};
    const cp = createControlPlane({ config, store, clock, log, shutdown: shutdown.signal, listenUrl: () => listening.url });
    const app = await buildApp(cp);
    const url = await app.listen({ host: config.server.host, port: config.server.port });
    listening.url = url;
    const loops = startBackgroundLoops(cp, shutdown.signal);
    log.info({ address: url, replica: cp.replicaId, driver: store.driver }, 'control plane listening');
    let stopping: Promise<void> | undefined;
    return {
      url,
      app,
      cp,
      store,
      bootstrapKey,
      stop() {
        stopping ??= (async () => {
          shutdown.abort();
          await app.close();
          await loops;
          await store.close();
        })();
        return stopping;
      },
    };
  } catch (err) {
    shutdown.abort();
    await store.close();
    throw err;
  }
}
