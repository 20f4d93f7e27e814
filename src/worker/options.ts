/**
 * Config.worker → WorkerOptions: every default resolved once, at start, into one frozen object the
 * daemon passes down (no module reads the config or the environment after this). The resolution is a
 * pure function of the config and the host's facts (host-facts.ts), so it is tested without a host.
 *
 * - id: `worker.id` (or `--id`), else the host name made into a valid worker id.
 * - capacity: each absent field is detected — CPUs, 80 % of memory (the rest is the host's and the
 *   worker's own), the free disk of the data dir's filesystem, and 16 sandboxes per CPU.
 * - providers: `worker.providers` (or `--provider`), else what this host supports: bwrap and process
 *   where bwrap works, else process. `mock` only when named.
 * - advertise URL: refused when it (or the listen address it would be derived from) is 0.0.0.0 / ::.
 */
import { resolve } from 'node:path';
import type { Config, LoggingConfig, ProviderName } from '../config/index.js';
import { WORKER_ID_PATTERN } from '../domain/ids.js';
import type { WorkerCapacity } from '../protocol/worker-protocol.js';
import { AdvertiseError, checkAdvertiseUrl, deriveAdvertiseUrl, isUnspecifiedHost, parseListenAddr, type ListenAddr } from './advertise.js';

export interface HostFacts {
  hostname: string;
  cpus: number;
  totalMemoryMb: number;
  /** Free space (for an unprivileged user) on the data dir's filesystem. */
  dataDirFreeMb: number;
  /** What to offer when `worker.providers` is absent, and why (for the start-up log line). */
  defaultProviders: { names: ProviderName[]; reason: string };
}

export interface WorkerOptions {
  id: string;
  hostname: string;
  controlPlaneUrl: string;
  token: string;
  listen: ListenAddr;
  /** Explicitly configured; else derived from the listen address once bound (advertise.ts). */
  advertiseUrl: string | undefined;
  tls: { certFile: string; keyFile: string } | undefined;
  /** Until the first heartbeat reply; then the control plane's `next_heartbeat_ms`. */
  heartbeatIntervalMs: number;
  shutdownTimeoutMs: number;
  /** Absolute. */
  dataDir: string;
  labels: Record<string, string>;
  capacity: WorkerCapacity;
  providers: ProviderName[];
  providersReason: string;
  allowHostNetwork: boolean;
  logging: LoggingConfig;
}

export class WorkerConfigError extends Error {
  override name = 'WorkerConfigError';
}

const SANDBOXES_PER_CPU = 16;
const MEMORY_SHARE = 0.8;

/** The host name as a worker id: lower-case, invalid characters replaced, at most 63 characters. */
export function workerIdFromHostname(hostname: string): string {
  const id = hostname
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 63);
  if (!WORKER_ID_PATTERN.test(id)) throw new WorkerConfigError(`cannot make a worker id from the host name ${JSON.stringify(hostname)}: set worker.id (--id)`);
  return id;
}

export function detectCapacity(configured: Config['worker']['capacity'], host: HostFacts): WorkerCapacity {
  const cpu = configured.cpu ?? Math.max(1, host.cpus);
  return {
    cpu,
    memory_mb: configured.memory_mb ?? Math.max(0, Math.floor(host.totalMemoryMb * MEMORY_SHARE)),
    disk_mb: configured.disk_mb ?? Math.max(0, Math.floor(host.dataDirFreeMb)),
    max_sandboxes: configured.max_sandboxes ?? Math.max(1, Math.round(Math.max(1, host.cpus) * SANDBOXES_PER_CPU)),
  };
}

export function resolveWorkerOptions(config: Config, host: HostFacts, cwd = process.cwd()): WorkerOptions {
  const w = config.worker;
  const id = w.id ?? workerIdFromHostname(host.hostname);
  if (!WORKER_ID_PATTERN.test(id)) throw new WorkerConfigError(`worker.id ${JSON.stringify(id)} is not a valid worker id: 1-63 of [a-z0-9._-], starting with a letter or digit`);
  if (!w.token) {
    throw new WorkerConfigError('worker.token is required to talk to the control plane: give --worker-token, --worker-token-file, DROVER_WORKER_TOKEN or worker.token_file');
  }
  const tls = w.tls.cert_file && w.tls.key_file ? { certFile: resolve(cwd, w.tls.cert_file), keyFile: resolve(cwd, w.tls.key_file) } : undefined;
  let listen: ListenAddr;
  let advertiseUrl: string | undefined;
  try {
    listen = parseListenAddr(w.listen_addr);
    advertiseUrl = w.advertise_url === undefined ? undefined : checkAdvertiseUrl(w.advertise_url);
    // Refuse now, not after binding: the derivation would fail anyway and the operator should hear it first.
    if (advertiseUrl === undefined && isUnspecifiedHost(listen.host)) deriveAdvertiseUrl(listen, listen.port, tls !== undefined);
  } catch (err) {
    if (err instanceof AdvertiseError) throw new WorkerConfigError(err.message);
    throw err;
  }
  // The heartbeat schema bounds labels; one out of bounds would fail every heartbeat, so fail now.
  for (const [key, value] of Object.entries(w.labels)) {
    if (key.length < 1 || key.length > 63 || value.length > 255) throw new WorkerConfigError(`worker.labels: ${JSON.stringify(key.slice(0, 80))} — keys are 1-63 characters, values at most 255`);
  }
  const providers = w.providers ? [...new Set(w.providers)] : host.defaultProviders.names;
  if (providers.length === 0) throw new WorkerConfigError('worker.providers is empty: name at least one of bwrap, process, mock');
  return Object.freeze({
    id,
    hostname: host.hostname,
    controlPlaneUrl: w.control_plane_url.replace(/\/+$/, ''),
    token: w.token,
    listen,
    advertiseUrl,
    tls,
    heartbeatIntervalMs: w.heartbeat_interval,
    shutdownTimeoutMs: w.shutdown_timeout,
    dataDir: resolve(cwd, w.data_dir),
    labels: { ...w.labels },
    capacity: detectCapacity(w.capacity, host),
    providers,
    providersReason: w.providers ? 'configured (worker.providers)' : host.defaultProviders.reason,
    allowHostNetwork: w.allow_host_network,
    logging: config.logging,
  });
}
