/**
 * From a create request (and its template) to the record the store keeps, and from that record to what
 * the worker is asked to run. Pure functions: defaults, the TTL bounds and the template merge are
 * decided here and nowhere else.
 */
import type { Config } from '../../config/index.js';
import { BadRequest, DroverError } from '../../domain/errors.js';
import type { SpawnParams } from '../../protocol/rpc.js';
import { SANDBOX_DEFAULTS, type ServiceSpec, type TemplateSpec } from '../../protocol/sandbox.js';
import type { NewSandbox, Quota, SandboxRecord } from '../../store/types.js';

/** The `spec` column: what the sandbox was asked to be, plus what its worker said when it started. */
export interface StoredSpec {
  /** As requested: `auto` or a provider name (the column `provider` is the one chosen). */
  provider: string;
  image?: string;
  pids?: number;
  env?: Record<string, string>;
  network: 'none' | 'host';
  ports: number[];
  public_ports: number[];
  service?: ServiceSpec;
  selector: Record<string, string>;
  /** The spawn answer of the current placement. */
  runtime?: { service_port?: number; capabilities?: string[]; warnings?: string[] };
}

/** Maps merged key by key (a template's env plus the request's env); everything else is replaced. */
const MERGED_MAPS = ['env', 'labels', 'metadata', 'selector'] as const;

export function mergeTemplate(template: TemplateSpec, overrides: TemplateSpec): TemplateSpec {
  const out: Record<string, unknown> = { ...template };
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) out[k] = v;
  for (const k of MERGED_MAPS) {
    if (template[k] && overrides[k]) out[k] = { ...template[k], ...overrides[k] };
  }
  return out as TemplateSpec;
}

export interface ResolveInput {
  id: string;
  tenantId: string;
  template: string | null;
  /** The request merged over its template. */
  spec: TemplateSpec;
  quota: Quota;
}

/**
 * Apply defaults and bounds. An explicit `ttl_ms` above `sandboxes.max_ttl` is a bad request and above
 * the tenant's `max_ttl_ms` is a quota error; the *default* TTL is quietly capped by both instead, so a
 * request that says nothing never fails for a limit it did not ask to cross.
 */
export function resolveSandbox(config: Config, input: ResolveInput): NewSandbox {
  const s = input.spec;
  const ttlMs = resolveTtl(config, input.quota, s.ttl_ms);
  const ports = unique(s.ports ?? []);
  const publicPorts = unique(s.public_ports ?? []);
  const servicePort = typeof s.service?.port === 'number' ? s.service.port : undefined;
  const stray = publicPorts.filter((p) => !ports.includes(p) && p !== servicePort);
  if (stray.length > 0) {
    throw new BadRequest(`public_ports must be listed in ports (or be the service port): ${stray.join(', ')}`, { fields: { 'body.public_ports': 'not a subset of ports' } });
  }
  const spec: StoredSpec = {
    provider: s.provider ?? config.sandboxes.default_provider,
    network: s.network ?? SANDBOX_DEFAULTS.network,
    ports,
    public_ports: publicPorts,
    selector: s.selector ?? {},
  };
  if (s.image !== undefined) spec.image = s.image;
  if (s.pids !== undefined) spec.pids = s.pids;
  if (s.env !== undefined) spec.env = s.env;
  if (s.service !== undefined) spec.service = s.service;
  return {
    id: input.id,
    tenantId: input.tenantId,
    template: input.template,
    provider: null,
    spec: spec as unknown as Record<string, unknown>,
    resources: {
      // Millicores in the store: integers compare exactly in the capacity check.
      cpuMilli: Math.max(1, Math.round((s.cpu ?? SANDBOX_DEFAULTS.cpu) * 1000)),
      memoryMb: s.memory_mb ?? SANDBOX_DEFAULTS.memory_mb,
      diskMb: s.disk_mb ?? SANDBOX_DEFAULTS.disk_mb,
    },
    labels: s.labels ?? {},
    metadata: s.metadata ?? {},
    restartOnWorkerLoss: s.restart_on_worker_loss ?? false,
    ttlMs,
    idleTimeoutMs: s.idle_timeout_ms ?? null,
    queueTimeoutMs: config.sandboxes.queue_timeout,
  };
}

/** The TTL a create or an extend may have; throws on an explicit value beyond a limit. */
export function resolveTtl(config: Config, quota: Quota, requested: number | undefined): number {
  const max = config.sandboxes.max_ttl;
  if (requested === undefined) return Math.min(config.sandboxes.default_ttl, max, quota.maxTtlMs ?? Infinity);
  if (requested > max) throw new BadRequest(`ttl_ms ${requested} exceeds sandboxes.max_ttl (${max} ms)`, { fields: { 'body.ttl_ms': `at most ${max}` } });
  if (quota.maxTtlMs !== null && requested > quota.maxTtlMs) {
    throw new DroverError('quota_exceeded', `ttl_ms ${requested} exceeds the tenant's max_ttl_ms (${quota.maxTtlMs})`, { limit: 'max_ttl_ms', max: quota.maxTtlMs });
  }
  return requested;
}

/** The spec column read back; tolerant of fields an older version did not write. */
export function readSpec(record: Pick<SandboxRecord, 'spec'>): StoredSpec {
  const raw = record.spec as Partial<StoredSpec>;
  return {
    ...raw,
    provider: typeof raw.provider === 'string' ? raw.provider : 'auto',
    network: raw.network === 'host' ? 'host' : 'none',
    ports: Array.isArray(raw.ports) ? raw.ports : [],
    public_ports: Array.isArray(raw.public_ports) ? raw.public_ports : [],
    selector: raw.selector && typeof raw.selector === 'object' ? raw.selector : {},
  };
}

/** What `worker.spawn` is asked to run for a placed sandbox (its `provider` is the chosen one). */
export function toSpawnParams(record: SandboxRecord): SpawnParams {
  const spec = readSpec(record);
  return {
    sandbox_id: record.id,
    tenant_id: record.tenantId,
    provider: record.provider ?? spec.provider,
    spec: {
      ...(spec.image !== undefined ? { image: spec.image } : {}),
      cpu: record.resources.cpuMilli / 1000,
      memory_mb: record.resources.memoryMb,
      disk_mb: record.resources.diskMb,
      ...(spec.pids !== undefined ? { pids: spec.pids } : {}),
      ...(spec.env !== undefined ? { env: spec.env } : {}),
      network: spec.network,
      ...(spec.ports.length > 0 ? { ports: spec.ports } : {}),
      ...(spec.service !== undefined ? { service: spec.service } : {}),
      ...(record.idleTimeoutMs !== null ? { idle_timeout_ms: record.idleTimeoutMs } : {}),
    },
    ttl_ms: record.ttlMs,
  };
}

function unique(xs: number[]): number[] {
  return [...new Set(xs)];
}
