/**
 * The worker daemon's composition root: resolved options in, a running worker out. `drover worker`
 * (and later `drover up`) call `startWorker`; tests call it with injected timers, clocks, fetch and
 * providers. Start-up order is the reconciliation order (reconcile.ts):
 *
 *   lock the data dir → open the state and the providers → destroy unrecorded runtimes →
 *   listen (leased calls wait) → first heartbeat with the inventory → on its reply destroy what was
 *   released, adopt the rest → serve.
 *
 * `stop()` destroys every runtime and closes; `drain()` (SIGTERM, worker.shutdown) reports draining,
 * waits for running work up to `worker.shutdown_timeout`, then stops.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { systemClock, type Clock } from '../domain/clock.js';
import { buildInfo } from '../domain/build-info.js';
import { deriveAdvertiseUrl } from './advertise.js';
import { createControlPlaneClient, type ControlPlaneClient } from './control-plane-client.js';
import { lockDataDir } from './data-dir-lock.js';
import { Drain, onStopSignals } from './drain.js';
import { heartbeatBody } from './heartbeat/body.js';
import { HeartbeatLoop } from './heartbeat/loop.js';
import { ReplyHandler } from './heartbeat/reply.js';
import { LeaseKeeper } from './leases.js';
import { createWorkerLogger } from './logger.js';
import type { WorkerOptions } from './options.js';
import { createProvider } from './providers/index.js';
import type { Provider, ProviderName } from './providers/types.js';
import { scanAtStart } from './reconcile.js';
import { generateRpcSecret } from './rpc/auth.js';
import type { DataPlaneRoutes } from './rpc/data-plane.js';
import { coreMethods, type RpcHandler } from './rpc/methods.js';
import { startRpcServer, type RpcServer } from './rpc/server.js';
import { RuntimeManager } from './runtimes.js';
import { ServerTime } from './server-time.js';
import { JsonFileStateStore } from './state/json-file.js';
import type { StateStore } from './state/types.js';
import { WorkerStatus } from './status.js';
import { systemTimers, type Timers } from './timers.js';
import { WorkTracker } from './work.js';

/** How long a leased call waits for reconciliation before it is turned away. */
const READY_TIMEOUT_MS = 10_000;

export interface StartWorkerOptions {
  options: WorkerOptions;
  log?: Logger;
  clock?: Clock;
  timers?: Timers;
  random?: () => number;
  fetch?: typeof fetch;
  /** Providers already open (tests); default: open `options.providers` by name. */
  providers?: ReadonlyMap<ProviderName, Provider>;
  /** Default: the JSON file under `<dataDir>/state/`. */
  state?: StateStore;
  /** SIGTERM/SIGINT → drain (the CLI); tests leave it off. */
  handleSignals?: boolean;
  dataPlaneRoutes?: readonly DataPlaneRoutes[];
  /** Extra RPC methods (worker.exec, …) beside the core ones. */
  rpcMethods?: ReadonlyMap<string, RpcHandler>;
}

export interface RunningWorker {
  id: string;
  /** What the control plane is told to call. */
  url: string;
  /** Only for tests and the CLI's own use; never log it. */
  rpcSecret: string;
  status: WorkerStatus;
  runtimes: RuntimeManager;
  state: StateStore;
  leases: LeaseKeeper;
  heartbeat: HeartbeatLoop;
  client: ControlPlaneClient;
  serverTime: ServerTime;
  /** Resolves once the first heartbeat reply has been reconciled (or the worker began to drain). */
  ready: Promise<void>;
  drain(reason?: string): Promise<void>;
  stop(): Promise<void>;
  /** Resolves when the worker has stopped, however that came about. */
  stopped: Promise<void>;
}

export async function startWorker(o: StartWorkerOptions): Promise<RunningWorker> {
  const opts = o.options;
  const log = o.log ?? createWorkerLogger(opts.logging);
  const clock = o.clock ?? systemClock;
  const timers = o.timers ?? systemTimers;
  const random = o.random ?? Math.random;
  const lock = await lockDataDir(opts.dataDir);
  const cleanup: Array<() => Promise<void>> = [() => lock.release()];
  const undo = async () => {
    for (const step of cleanup.reverse()) await step().catch(() => undefined);
  };
  try {
    const state = o.state ?? (await JsonFileStateStore.open(join(opts.dataDir, 'state')));
    cleanup.push(() => state.close());
    const providers = o.providers ?? (await openProviders(opts, clock, log));
    if (!o.providers) cleanup.push(async () => void (await Promise.allSettled([...providers.values()].map((p) => p.close()))));
    const strays = await scanAtStart(providers, state, log);

    const client = createControlPlaneClient({ baseUrl: opts.controlPlaneUrl, workerId: opts.id, token: opts.token, fetch: o.fetch });
    const serverTime = new ServerTime(timers);
    const status = new WorkerStatus();
    const work = new WorkTracker();
    const secret = generateRpcSecret();
    const leases: LeaseKeeper = new LeaseKeeper({
      client,
      timers,
      random,
      log,
      onLost: (sandboxId, generation): Promise<void> =>
        rt.withSandbox(sandboxId, async (ops) => {
          if (ops.record()?.generation === generation) await ops.destroy(null, 'lease lost');
        }),
    });
    const rt: RuntimeManager = new RuntimeManager({ providers, state, leases, clock, log, maxSandboxes: opts.capacity.max_sandboxes, allowHostNetwork: opts.allowHostNetwork });

    let stopping: Promise<void> | undefined;
    const drainer = new Drain({ status, heartbeat: { beatNow: () => hb.beatNow() }, work, runtimes: rt, timers, log, timeoutMs: opts.shutdownTimeoutMs, stop: () => stop() });
    const methods = new Map(coreMethods({
      workerId: opts.id,
      status,
      runtimes: rt,
      state,
      leases,
      serverTime,
      timers,
      log,
      drain: (reason) => void drainer.begin(reason),
      readyTimeoutMs: READY_TIMEOUT_MS,
      fallbackLeaseTtlMs: opts.heartbeatIntervalMs * 6,
    }));
    for (const [name, handler] of o.rpcMethods ?? []) methods.set(name, handler);

    const tls = opts.tls ? { cert: await readFile(opts.tls.certFile), key: await readFile(opts.tls.keyFile) } : undefined;
    const server: RpcServer = await startRpcServer(
      { secret, methods, work, log, tls, dataPlane: { runtimes: rt, work, clock, log }, dataPlaneRoutes: o.dataPlaneRoutes ?? [] },
      opts.listen,
    );
    cleanup.push(() => server.close());
    const url = opts.advertiseUrl ?? deriveAdvertiseUrl(opts.listen, server.port, tls !== undefined);

    const background = new Set<Promise<unknown>>();
    const inBackground = (p: Promise<unknown>) => {
      const settled = p.catch((err: unknown) => log.error({ err: (err as Error).message }, 'background work failed'));
      background.add(settled);
      void settled.finally(() => background.delete(settled));
    };
    const facts = {
      hostname: opts.hostname,
      version: buildInfo().version,
      providers: [...providers.keys()],
      capabilities: [...providers.values()].flatMap((p) => [`provider:${p.name}`, ...p.info().capabilities.map((c) => `${p.name}:${c}`)]),
      labels: opts.labels,
      capacity: opts.capacity,
      rpcUrl: url,
      rpcSecret: secret,
    };
    const replies = new ReplyHandler({
      serverTime,
      status,
      runtimes: rt,
      state,
      log,
      inBackground,
      reportFailed: async (r, reason) => void (await client.reportState(r.sandboxId, { generation: r.generation, state: 'failed', reason })),
      unrecordedDestroyed: strays.destroyed.length,
    });
    const hb = new HeartbeatLoop({
      timers,
      random,
      log,
      initialIntervalMs: opts.heartbeatIntervalMs,
      body: (withInventory) => heartbeatBody({ ...facts, status: status.reported }, replies.inventory(withInventory)),
      send: (body, signal) => client.heartbeat(body, signal),
      onReply: (reply, sent, receivedAt) => replies.handle(reply, sent, receivedAt),
    });

    let uninstallSignals: () => void = () => undefined;
    let resolveStopped: () => void = () => undefined;
    const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
    const stop = (): Promise<void> => {
      // Every step runs even if an earlier one failed: a half-stopped worker that never says it
      // stopped would hang `drover worker` and leave its sandboxes running.
      const step = async (what: string, fn: () => Promise<unknown>) => {
        try {
          await fn();
        } catch (err) {
          log.error({ step: what, err: (err as Error).message }, 'stopping the worker: a step failed');
        }
      };
      stopping ??= (async () => {
        status.moveTo('stopping');
        uninstallSignals();
        await step('heartbeat', () => hb.stop());
        await step('leases', () => leases.stop());
        await step('rpc server', () => server.close());
        await step('background work', () => Promise.allSettled([...background]));
        await step('runtimes', () => rt.destroyAll('the worker is stopping'));
        if (!o.providers) await step('providers', () => Promise.allSettled([...providers.values()].map((p) => p.close())));
        await step('state', () => state.close());
        await step('data dir lock', () => lock.release());
        status.moveTo('stopped');
        log.info({ worker_id: opts.id }, 'worker stopped');
        resolveStopped();
      })();
      return stopping;
    };

    if (o.handleSignals) uninstallSignals = onStopSignals(drainer, log);
    hb.start();
    log.info({ worker_id: opts.id, url, listen: `${opts.listen.host}:${server.port}`, providers: facts.providers, providers_reason: opts.providersReason, control_plane: opts.controlPlaneUrl }, 'worker started');
    return {
      id: opts.id,
      url,
      rpcSecret: secret,
      status,
      runtimes: rt,
      state,
      leases,
      heartbeat: hb,
      client,
      serverTime,
      ready: status.ready,
      drain: (reason = 'requested') => drainer.begin(reason),
      stop,
      stopped,
    };
  } catch (err) {
    await undo();
    throw err;
  }
}

async function openProviders(opts: WorkerOptions, clock: Clock, log: Logger): Promise<Map<ProviderName, Provider>> {
  const out = new Map<ProviderName, Provider>();
  try {
    for (const name of opts.providers) {
      const provider = await createProvider(name, { dataDir: opts.dataDir, clock });
      out.set(name, provider);
      const health = await provider.health();
      if (!health.ok) log.warn({ provider: name, detail: health.detail }, 'provider reports a problem');
      for (const warning of provider.info().warnings) log.warn({ provider: name }, warning);
    }
  } catch (err) {
    await Promise.allSettled([...out.values()].map((p) => p.close()));
    throw err;
  }
  return out;
}
