/**
 * `drover config lint`: judgements about a config that is already valid. The schema rejects what can
 * never work (a malformed duration, postgres without a DSN); lint reports what works but is unwise,
 * inconsistent, or unfit for production. Each check is a pure function of the config, has a stable id
 * that scripts and docs can refer to, and always says how to fix what it reports.
 *
 * A check keeps its id in both modes and may change severity: `auth.disabled` is a warning on a
 * developer's machine that listens beyond loopback and an error under --production.
 */
import { formatDuration } from '../domain/duration.js';
import type { Config } from './schema.js';

export type Severity = 'error' | 'warning' | 'info';

/** Every check id, listed once: findings are typed against it and a test holds the docs table to it. */
export const CHECK_IDS = [
  'workers.timing',
  'worker.heartbeat_timing',
  'sandboxes.ttl',
  'database.sqlite_replicas',
  'worker.advertise',
  'auth.disabled',
  'sandboxes.provider',
  'auth.secrets_distinct',
  'auth.shared_worker_token',
  'database.sqlite_single_node',
  'artifacts.signing_key',
  'server.https',
  'worker.allow_host_network',
  'worker.rpc_tls',
  'worker.control_plane_tls',
  'metrics.token',
  'rate_limit.disabled',
] as const;

export type CheckId = (typeof CHECK_IDS)[number];

export interface Finding {
  /** Stable check id, e.g. `auth.disabled`; documented in docs/configuration.md. */
  id: CheckId;
  severity: Severity;
  /** The dotted config path to change. */
  path: string;
  message: string;
  fix: string;
}

export interface LintOptions {
  /** Add the checks a production deployment must pass (05-operations.md). */
  production: boolean;
}

type Check = (c: Config, production: boolean) => Finding | Finding[] | undefined;

const SEVERITY_ORDER: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

export function lintConfig(config: Config, opts: LintOptions): Finding[] {
  const findings = CHECKS.flatMap((check) => [check(config, opts.production) ?? []].flat());
  // Errors first so the reason for exit status 1 is at the top; otherwise checks keep their order.
  return findings
    .map((f, i) => ({ f, i }))
    .sort((a, b) => SEVERITY_ORDER[a.f.severity] - SEVERITY_ORDER[b.f.severity] || a.i - b.i)
    .map(({ f }) => f);
}

const d = formatDuration;

const workersTiming: Check = ({ workers: w }) => {
  if (w.heartbeat_interval < w.stale_after && w.stale_after < w.lost_after) return undefined;
  return {
    id: 'workers.timing',
    severity: 'error',
    path: 'workers',
    message: `need heartbeat_interval < stale_after < lost_after, have ${d(w.heartbeat_interval)}, ${d(w.stale_after)}, ${d(w.lost_after)}; otherwise healthy workers are marked stale or lost between beats`,
    fix: 'keep the defaults (5s, 15s, 30s) or scale all three together, e.g. 10s, 30s, 60s',
  };
};

const workerHeartbeat: Check = ({ worker, workers }) => {
  if (worker.heartbeat_interval < workers.stale_after) return undefined;
  return {
    id: 'worker.heartbeat_timing',
    severity: 'warning',
    path: 'worker.heartbeat_interval',
    message: `worker.heartbeat_interval (${d(worker.heartbeat_interval)}) is not below workers.stale_after (${d(workers.stale_after)}): until the first reply sets the cadence, or while the control plane is unreachable, the worker looks stale`,
    fix: 'set worker.heartbeat_interval to workers.heartbeat_interval (default 5s)',
  };
};

const sandboxTtl: Check = ({ sandboxes: s }) => {
  if (s.default_ttl <= s.max_ttl) return undefined;
  return {
    id: 'sandboxes.ttl',
    severity: 'error',
    path: 'sandboxes.default_ttl',
    message: `default_ttl (${d(s.default_ttl)}) exceeds max_ttl (${d(s.max_ttl)}), so every sandbox created without a TTL would be refused or clamped`,
    fix: 'lower sandboxes.default_ttl or raise sandboxes.max_ttl',
  };
};

const sqliteReplicas: Check = (c) => {
  if (c.database.driver !== 'sqlite' || c.replicas <= 1) return undefined;
  return {
    id: 'database.sqlite_replicas',
    severity: 'error',
    path: 'database.driver',
    message: `replicas is ${c.replicas} but database.driver is sqlite; SQLite is a local file and cannot be shared by several control planes`,
    fix: 'set database.driver: postgres and database.dsn (or run a single replica)',
  };
};

const sqliteSingleNode: Check = (c, production) => {
  if (!production || c.database.driver !== 'sqlite' || c.replicas > 1) return undefined;
  return {
    id: 'database.sqlite_single_node',
    severity: 'warning',
    path: 'database.driver',
    message: 'SQLite limits the control plane to one replica on one machine; losing that disk loses all state',
    fix: 'use database.driver: postgres for anything you cannot rebuild, or back up with `drover db backup`',
  };
};

const workerAdvertise: Check = ({ worker }) => {
  const listenHost = hostOfAddr(worker.listen_addr);
  const advertised = worker.advertise_url ? hostOfUrl(worker.advertise_url) : listenHost;
  if (!isUnspecified(advertised)) return undefined;
  return {
    id: 'worker.advertise',
    severity: 'error',
    path: worker.advertise_url ? 'worker.advertise_url' : 'worker.listen_addr',
    message: 'the worker would advertise an unspecified address (0.0.0.0 / ::), which the control plane cannot call; the worker refuses to start',
    fix: 'set worker.advertise_url to the address the control plane can reach, e.g. http://10.0.0.5:7430',
  };
};

const authDisabled: Check = (c, production) => {
  if (c.auth.enabled) return undefined;
  if (!production && isLoopback(c.server.host)) return undefined;
  return {
    id: 'auth.disabled',
    severity: production ? 'error' : 'warning',
    path: 'auth.enabled',
    message: `authentication is off${production ? '' : ` and the server listens on ${c.server.host}`}: anyone who can reach the port can run code on every worker`,
    fix: 'set auth.enabled: true (the default)',
  };
};

const secretsDistinct: Check = ({ auth, worker, metrics, artifacts }, production) => {
  if (!production) return undefined;
  const findings: Finding[] = [];
  const others: [string, string | undefined][] = [
    ['auth.worker_token', auth.worker_token],
    ['worker.token', worker.token],
    ['metrics.token', metrics.token],
    ['artifacts.signing_key', artifacts.signing_key],
    ...Object.entries(auth.worker_tokens).map(([id, t]): [string, string] => [`auth.worker_tokens.${id}`, t]),
  ];
  const reused = others.filter(([, v]) => v !== undefined && v === auth.admin_api_key).map(([p]) => p);
  if (auth.admin_api_key !== undefined && reused.length > 0) {
    findings.push({
      id: 'auth.secrets_distinct',
      severity: 'error',
      path: 'auth.admin_api_key',
      message: `the admin key is also used as ${reused.join(', ')}; whoever holds that secret (a worker host, a metrics scraper) gets full admin access`,
      fix: 'generate a separate admin key, e.g. `openssl rand -hex 32`',
    });
  }
  const seen = new Map<string, string>();
  for (const [id, token] of Object.entries(auth.worker_tokens)) {
    const first = seen.get(token);
    if (first !== undefined) {
      findings.push({
        id: 'auth.secrets_distinct',
        severity: 'error',
        path: `auth.worker_tokens.${id}`,
        message: `workers ${first} and ${id} share a token, so one cannot be revoked without the other and either can impersonate both`,
        fix: 'give every worker its own token (`drover worker-tokens create` or a new entry here)',
      });
    } else {
      seen.set(token, id);
    }
  }
  return findings;
};

const sharedWorkerToken: Check = ({ auth }, production) => {
  if (!production || auth.worker_token === undefined) return undefined;
  const alsoPerWorker = Object.keys(auth.worker_tokens).length > 0;
  return {
    id: 'auth.shared_worker_token',
    severity: alsoPerWorker ? 'warning' : 'error',
    path: 'auth.worker_token',
    message: alsoPerWorker
      ? 'the shared worker token is still accepted alongside per-worker tokens; any holder can register as any worker'
      : 'all workers share one token: a single leaked host can impersonate every worker and revoking it stops the fleet',
    fix: 'issue per-worker tokens (auth.worker_tokens or `drover worker-tokens create`) and remove auth.worker_token',
  };
};

const signingKey: Check = ({ artifacts }, production) => {
  if (!production || artifacts.signing_key !== undefined) return undefined;
  return {
    id: 'artifacts.signing_key',
    severity: 'error',
    path: 'artifacts.signing_key',
    message: 'no artifacts.signing_key: download URLs signed by one replica are rejected by another, and all break on restart',
    fix: 'set artifacts.signing_key_file to a file holding a random key (e.g. `openssl rand -hex 32`), the same on every replica',
  };
};

const provider: Check = ({ sandboxes }, production) => {
  const p = sandboxes.default_provider;
  if (production && p !== 'bwrap') {
    const why: Record<string, string> = {
      process: 'process runs sandboxes without isolation, as the worker user',
      auto: 'auto silently falls back to process, which has no isolation, on a host without bubblewrap',
      mock: 'mock runs nothing; it exists for tests',
    };
    return {
      id: 'sandboxes.provider',
      severity: 'error',
      path: 'sandboxes.default_provider',
      message: why[p] ?? `default provider ${p} is not fit for production`,
      fix: 'install bubblewrap on every worker and set sandboxes.default_provider: bwrap, so a missing bwrap fails loudly',
    };
  }
  if (p !== 'mock') return undefined;
  return {
    id: 'sandboxes.provider',
    severity: 'warning',
    path: 'sandboxes.default_provider',
    message: 'the mock provider runs nothing; sandboxes only pretend to start',
    fix: 'use auto (the default) unless this is a test or a placement benchmark',
  };
};

const https: Check = ({ server }, production) => {
  if (!production || server.public_url?.startsWith('https://')) return undefined;
  return {
    id: 'server.https',
    severity: 'error',
    path: 'server.public_url',
    message: server.public_url
      ? 'server.public_url is plain http: API keys and worker tokens cross the network in clear'
      : 'no server.public_url: nothing says clients reach the API over TLS (the server itself speaks plain HTTP)',
    fix: 'terminate TLS in a reverse proxy or load balancer and set server.public_url: https://drover.example.com',
  };
};

const hostNetwork: Check = ({ worker }, production) => {
  if (!production || !worker.allow_host_network) return undefined;
  return {
    id: 'worker.allow_host_network',
    severity: 'warning',
    path: 'worker.allow_host_network',
    message: 'sandboxes may ask for the host network namespace and then reach anything the worker host can',
    fix: 'set worker.allow_host_network: false unless a workload needs it',
  };
};

const rpcTls: Check = ({ worker }, production) => {
  if (!production || worker.tls.cert_file || isLoopback(hostOfAddr(worker.listen_addr))) return undefined;
  return {
    id: 'worker.rpc_tls',
    severity: 'warning',
    path: 'worker.tls',
    message: `the worker RPC listener on ${worker.listen_addr} is plain HTTP, so its bearer secret and sandbox traffic are readable on the network`,
    fix: 'set worker.tls.cert_file and worker.tls.key_file, or keep the listener on a private network',
  };
};

const controlPlaneTls: Check = ({ worker }, production) => {
  const url = worker.control_plane_url;
  if (!production || !url.startsWith('http://') || isLoopback(hostOfUrl(url))) return undefined;
  return {
    id: 'worker.control_plane_tls',
    severity: 'warning',
    path: 'worker.control_plane_url',
    message: 'the worker reaches the control plane over plain http, sending its token in clear',
    fix: 'use an https:// worker.control_plane_url',
  };
};

const metricsToken: Check = ({ metrics }, production) => {
  if (!production || !metrics.enabled || metrics.token !== undefined) return undefined;
  return {
    id: 'metrics.token',
    severity: 'warning',
    path: 'metrics.token',
    message: '/metrics is served without a token and reveals fleet size, load and tenant activity',
    fix: 'set metrics.token_file and give the token to the scraper, or metrics.enabled: false',
  };
};

const rateLimit: Check = (c, production) => {
  if (!production || c.rate_limit.enabled) return undefined;
  return {
    id: 'rate_limit.disabled',
    severity: 'warning',
    path: 'rate_limit.enabled',
    message: 'rate limiting is off, so one misbehaving client can starve the rest',
    fix: 'set rate_limit.enabled: true (the default) and tune requests_per_minute and burst',
  };
};

/** Order is the order findings of equal severity are printed in. */
const CHECKS: readonly Check[] = [
  authDisabled,
  secretsDistinct,
  sharedWorkerToken,
  workersTiming,
  workerHeartbeat,
  sandboxTtl,
  provider,
  sqliteReplicas,
  sqliteSingleNode,
  signingKey,
  https,
  workerAdvertise,
  hostNetwork,
  rpcTls,
  controlPlaneTls,
  metricsToken,
  rateLimit,
];

// --- addresses ---------------------------------------------------------------------------------

function hostOfAddr(addr: string): string {
  return addr.slice(0, addr.lastIndexOf(':')).replace(/^\[|\]$/g, '');
}

function hostOfUrl(url: string): string {
  return new URL(url).hostname.replace(/^\[|\]$/g, '');
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function isUnspecified(host: string): boolean {
  return host === '' || host === '0.0.0.0' || host === '::';
}
