/**
 * A fake worker for control-plane tests: a real HTTP server on 127.0.0.1 speaking the RPC contract of
 * src/protocol/rpc.ts (bearer secret, envelope, lease checks, per-sandbox generation high-water marks),
 * with no sandboxes behind it. It records every call and can be told to fail, hang or refuse, so tests
 * drive the control plane's real HTTP RPC client against a worker they control.
 *
 * It is a fake of a boundary we own the other side of later (the worker daemon): it validates requests
 * with the same zod schemas the daemon will use, so a control plane that drifts from the contract fails
 * here first.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Clock } from '../../../src/domain/clock.js';
import {
  destroyParamsSchema,
  LEASED_METHODS,
  renewLeaseParamsSchema,
  rpcRequestSchema,
  spawnParamsSchema,
  type RpcLeaseWire,
  type RpcMethod,
  type SpawnParams,
} from '../../../src/protocol/rpc.js';
import { workerProtocolRoutes } from '../../../src/control-plane/routes/worker-protocol.js';
import type { Store } from '../../../src/store/store.js';

export interface FakeCapacity {
  cpu: number;
  memory_mb: number;
  disk_mb: number;
  max_sandboxes: number;
}

export interface FakeWorkerOptions {
  id: string;
  /** Judges lease expiry (the tests' manual clock, or the system clock). */
  clock: Clock;
  providers?: string[];
  labels?: Record<string, string>;
  capacity?: Partial<FakeCapacity>;
  /** What a successful spawn answers (default running). */
  spawnState?: 'running' | 'starting';
}

export interface RecordedCall {
  method: string;
  params: unknown;
  lease: RpcLeaseWire | undefined;
  /** `ok`, or the error code answered. */
  outcome: string;
}

export interface Runtime {
  sandboxId: string;
  runtimeId: string;
  generation: number;
  params: SpawnParams;
}

class RpcFailure extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

export class FakeWorker {
  readonly id: string;
  readonly secret = randomBytes(24).toString('hex');
  readonly calls: RecordedCall[] = [];
  readonly runtimes = new Map<string, Runtime>();
  /** Highest lease generation seen per sandbox. */
  readonly highWater = new Map<string, number>();
  /** Most runtimes held at once, and spawns that arrived while already at max_sandboxes. */
  peakRuntimes = 0;
  overcommitted = 0;
  status: 'online' | 'draining' = 'online';
  providers: string[];
  labels: Record<string, string>;
  capacity: FakeCapacity;
  spawnState: 'running' | 'starting';
  unauthorizedCalls = 0;

  private readonly clock: Clock;
  private readonly server: Server;
  private readonly failures: Array<{ method: string; code: string; message: string }> = [];
  private readonly hung = new Set<string>();
  private readonly parked: Array<() => void> = [];
  private refuseCode: string | undefined;
  private nextRuntime = 1;
  private baseUrl = '';

  constructor(o: FakeWorkerOptions) {
    this.id = o.id;
    this.clock = o.clock;
    this.providers = o.providers ?? ['process'];
    this.labels = o.labels ?? {};
    this.capacity = { cpu: 4, memory_mb: 8192, disk_mb: 20480, max_sandboxes: 10, ...o.capacity };
    this.spawnState = o.spawnState ?? 'running';
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  get url(): string {
    return this.baseUrl;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    this.releaseHung();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The next `times` calls of `method` answer `{error: {code, message}}`. */
  failNext(method: RpcMethod, code: string, message = `injected ${code}`, times = 1): void {
    for (let i = 0; i < times; i++) this.failures.push({ method, code, message });
  }

  /** Calls of `method` get no answer until `releaseHung()` (then they proceed normally). */
  hang(method: RpcMethod): void {
    this.hung.add(method);
  }

  releaseHung(): void {
    this.hung.clear();
    for (const go of this.parked.splice(0)) go();
  }

  /** Every spawn is refused with `code` (e.g. `draining`); undefined to accept again. */
  refuseSpawns(code: string | undefined): void {
    this.refuseCode = code;
  }

  callsOf(method: RpcMethod): RecordedCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** The heartbeat body the worker-protocol route takes (03-worker.md). */
  heartbeatBody(): Record<string, unknown> {
    return {
      hostname: `${this.id}.test`,
      version: '0.0.0-test',
      status: this.status,
      providers: this.providers,
      capabilities: [],
      labels: this.labels,
      capacity: this.capacity,
      rpc_url: this.baseUrl,
      rpc_secret: this.secret,
    };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'POST' || req.url !== '/rpc') return reply(404, { id: null, error: { code: 'not_found', message: 'no such route' } });
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (req.headers.authorization !== `Bearer ${this.secret}`) {
      this.unauthorizedCalls += 1;
      return reply(401, { id: null, error: { code: 'unauthorized', message: 'bad rpc secret' } });
    }
    const parsed = rpcRequestSchema.safeParse(safeJson(Buffer.concat(chunks).toString('utf8')));
    if (!parsed.success) return reply(400, { id: null, error: { code: 'bad_request', message: parsed.error.message } });
    const { id, method, lease, params } = parsed.data;
    if (this.hung.has(method)) await new Promise<void>((resolve) => this.parked.push(resolve));
    const record: RecordedCall = { method, params, lease, outcome: 'ok' };
    this.calls.push(record);
    try {
      const result = this.dispatch(method, lease, params);
      if (res.destroyed) return;
      reply(200, { id, result });
    } catch (err) {
      const code = err instanceof RpcFailure ? err.code : 'internal';
      record.outcome = code;
      reply(200, { id, error: { code, message: (err as Error).message } });
    }
  }

  private dispatch(method: string, lease: RpcLeaseWire | undefined, params: unknown): unknown {
    const injected = this.failures.findIndex((f) => f.method === method);
    if (injected >= 0) {
      const [f] = this.failures.splice(injected, 1);
      throw new RpcFailure(f!.code, f!.message);
    }
    switch (method) {
      case 'worker.status':
        return {
          worker_id: this.id,
          status: this.status,
          providers: this.providers,
          runtimes: [...this.runtimes.values()].map((r) => ({ sandbox_id: r.sandboxId, runtime_id: r.runtimeId, generation: r.generation, state: 'running' })),
        };
      case 'worker.spawn':
        return this.spawn(lease, valid(spawnParamsSchema, params));
      case 'worker.destroy': {
        const p = valid(destroyParamsSchema, params);
        this.checkLease('worker.destroy', lease, p.sandbox_id);
        const rt = this.runtimes.get(p.sandbox_id);
        if (!rt || (p.runtime_id !== null && rt.runtimeId !== p.runtime_id)) return { destroyed: false };
        this.runtimes.delete(p.sandbox_id);
        return { destroyed: true };
      }
      case 'worker.renew_lease': {
        const p = valid(renewLeaseParamsSchema, params);
        const l = this.checkLease('worker.renew_lease', lease, p.sandbox_id);
        return { expires_at: l.expires_at };
      }
      default:
        throw new RpcFailure('unknown_method', `no method ${method}`);
    }
  }

  private spawn(lease: RpcLeaseWire | undefined, p: SpawnParams): unknown {
    const l = this.checkLease('worker.spawn', lease, p.sandbox_id);
    if (this.refuseCode) throw new RpcFailure(this.refuseCode, `worker ${this.id} refuses spawns (${this.refuseCode})`);
    if (this.status === 'draining') throw new RpcFailure('draining', `worker ${this.id} is draining`);
    if (!this.providers.includes(p.provider)) throw new RpcFailure('bad_request', `provider ${p.provider} is not offered here`);
    const existing = this.runtimes.get(p.sandbox_id);
    // A retry of the same placement gets the same runtime: spawns are idempotent per generation.
    if (existing && existing.generation === l.generation) return { runtime_id: existing.runtimeId, state: this.spawnState };
    if (existing) this.runtimes.delete(p.sandbox_id);
    if (this.runtimes.size >= this.capacity.max_sandboxes) this.overcommitted += 1;
    const runtimeId = `rt-${this.id}-${this.nextRuntime++}`;
    this.runtimes.set(p.sandbox_id, { sandboxId: p.sandbox_id, runtimeId, generation: l.generation, params: p });
    this.peakRuntimes = Math.max(this.peakRuntimes, this.runtimes.size);
    const servicePort = p.spec.service?.port === 'auto' ? 40_000 + this.nextRuntime : undefined;
    return {
      runtime_id: runtimeId,
      state: this.spawnState,
      capabilities: ['limits:rlimit'],
      warnings: p.spec.network === 'host' ? ['network: host shares the host network'] : [],
      ...(servicePort !== undefined ? { service_port: servicePort } : {}),
    };
  }

  /** The lease rule of src/protocol/rpc.ts, in the order it lists the checks. */
  private checkLease(method: string, lease: RpcLeaseWire | undefined, sandboxId: string): RpcLeaseWire {
    if (!LEASED_METHODS.includes(method as RpcMethod)) return lease!;
    if (!lease) throw new RpcFailure('lease_required', `${method} requires a lease`);
    if (lease.resource_id !== sandboxId) throw new RpcFailure('lease_lost', `the lease is for ${lease.resource_id}, not ${sandboxId}`);
    if (lease.holder_id !== this.id) throw new RpcFailure('lease_lost', `the lease is held by ${lease.holder_id}, not ${this.id}`);
    if (Date.parse(lease.expires_at) <= this.clock.now()) throw new RpcFailure('lease_lost', `the lease expired at ${lease.expires_at}`);
    const seen = this.highWater.get(sandboxId) ?? 0;
    if (lease.generation < seen) throw new RpcFailure('stale_generation', `generation ${lease.generation} is below ${seen}`);
    this.highWater.set(sandboxId, lease.generation);
    return lease;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function valid<T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: Error } }, v: unknown): T {
  const r = schema.safeParse(v);
  if (!r.success) throw new RpcFailure('bad_request', r.error.message);
  return r.data;
}

export async function startFakeWorker(o: FakeWorkerOptions): Promise<FakeWorker> {
  return new FakeWorker(o).start();
}

/** Where a fake worker registers: a control plane's app (for the heartbeat route) and its store. */
export interface RegistrationTarget {
  app: FastifyInstance;
  store: Store;
  /** A worker token the control plane accepts for this worker id. */
  workerToken: string;
}

/** True once the worker-protocol routes include the heartbeat (they do since the control-plane issue). */
export function heartbeatRouteExists(): boolean {
  return workerProtocolRoutes().some((r) => r.method === 'POST' && r.path === '/api/v1/worker/:workerId/heartbeat');
}

/**
 * Register (or re-heartbeat) the fake worker: through the real heartbeat route when it exists, else by
 * recording the heartbeat in the store directly.
 */
export async function registerFakeWorker(target: RegistrationTarget, w: FakeWorker): Promise<void> {
  if (heartbeatRouteExists()) {
    const res = await target.app.inject({
      method: 'POST',
      url: `/api/v1/worker/${w.id}/heartbeat`,
      headers: { 'x-worker-id': w.id, 'x-worker-token': target.workerToken, 'content-type': 'application/json' },
      payload: JSON.stringify(w.heartbeatBody()),
    });
    if (res.statusCode !== 200) throw new Error(`heartbeat of ${w.id} answered ${res.statusCode}: ${res.body}`);
    return;
  }
  await target.store.workers.recordHeartbeat({
    id: w.id,
    hostname: `${w.id}.test`,
    version: '0.0.0-test',
    status: w.status,
    providers: w.providers,
    capabilities: [],
    labels: w.labels,
    capacity: { cpuMilli: Math.round(w.capacity.cpu * 1000), memoryMb: w.capacity.memory_mb, diskMb: w.capacity.disk_mb, sandboxes: w.capacity.max_sandboxes },
    rpcUrl: w.url,
    rpcSecret: w.secret,
    taskKinds: [],
    codeVersion: null,
  });
}
