/**
 * The whole configuration as one zod schema: the single source of truth for key names, defaults and
 * validation. The loader derives environment variable names from it (configKeys) and lint works on its
 * output, so adding a key here is the only step needed to make it settable from every source.
 *
 * Every object is strict: a misspelt key is an error naming its dotted path, never a silently ignored
 * setting. Durations and byte sizes accept strings or plain numbers and come out as milliseconds and
 * bytes; defaults are given in the output unit because zod's `.default()` bypasses parsing.
 */
import { z } from 'zod';
import { parseByteSize, parseDuration } from '../domain/duration.js';

const MiB = 1024 * 1024;
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

function duration() {
  return z.union([z.string(), z.number()]).transform((input, ctx) => {
    try {
      return parseDuration(input);
    } catch (err) {
      ctx.issues.push({ code: 'custom', message: (err as Error).message, input });
      return z.NEVER;
    }
  });
}

function byteSize() {
  return z.union([z.string(), z.number()]).transform((input, ctx) => {
    try {
      return parseByteSize(input);
    } catch (err) {
      ctx.issues.push({ code: 'custom', message: (err as Error).message, input });
      return z.NEVER;
    }
  });
}

/** Secrets and paths must not be empty strings: "" is almost always an unset variable, not a value. */
const text = () => z.string().min(1, 'must not be empty');
const httpUrl = () => z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });
const count = () => z.number().int().nonnegative();
const positive = () => z.number().int().positive();

/** host:port or [ipv6]:port; an empty host means every interface. */
const LISTEN_ADDR = /^(\[[0-9a-fA-F:.]+\]|[^:\s[\]]*):(\d{1,5})$/;
const listenAddr = () =>
  z.string().refine((v) => {
    const m = LISTEN_ADDR.exec(v);
    return m !== null && Number(m[2]) <= 65535;
  }, 'must be host:port, e.g. 127.0.0.1:7430 or [::1]:7430');

export const PROVIDER_NAMES = ['bwrap', 'process', 'mock'] as const;

const server = z.strictObject({
  host: text().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(7423),
  public_url: httpUrl().optional(),
  preview_domain: text().optional(),
  cors_allowed_origins: z.array(text()).default([]),
  body_limit: byteSize().default(MiB),
});

const database = z
  .strictObject({
    driver: z.enum(['sqlite', 'postgres']).default('sqlite'),
    path: text().default('./drover-data/drover.db'),
    dsn: text().optional(),
    dsn_file: text().optional(),
    pool_size: positive().default(10),
  })
  .superRefine((db, ctx) => {
    if (db.driver === 'postgres' && !db.dsn) {
      ctx.addIssue({
        code: 'custom',
        path: ['dsn'],
        message: 'is required when database.driver is postgres (or set database.dsn_file)',
        params: { related: 'database.driver' },
      });
    }
  });

const auth = z.strictObject({
  enabled: z.boolean().default(true),
  admin_api_key: text().optional(),
  admin_api_key_file: text().optional(),
  /** Shared by every worker; lint --production asks for worker_tokens instead. */
  worker_token: text().optional(),
  worker_token_file: text().optional(),
  /** worker id → that worker's own token. */
  worker_tokens: z.record(text(), text()).default({}),
  worker_tokens_file: text().optional(),
});

const workers = z.strictObject({
  heartbeat_interval: duration().default(5 * SECOND),
  stale_after: duration().default(15 * SECOND),
  lost_after: duration().default(30 * SECOND),
  max_lost_fraction: z.number().min(0).max(1).default(0.5),
  mass_loss_min_workers: positive().default(3),
  mass_loss_max_hold: duration().default(5 * MINUTE),
});

const scheduler = z.strictObject({
  strategy: z.enum(['binpack', 'spread']).default('binpack'),
  sample: positive().default(2),
});

const sandboxes = z.strictObject({
  /** auto = bwrap where bubblewrap is installed, else process (decided at worker start, not here). */
  default_provider: z.enum(['auto', ...PROVIDER_NAMES]).default('auto'),
  default_ttl: duration().default(1 * HOUR),
  max_ttl: duration().default(24 * HOUR),
  queue_timeout: duration().default(30 * SECOND),
  max_exec_timeout: duration().default(10 * MINUTE),
});

const tasks = z.strictObject({
  lease_ttl: duration().default(30 * SECOND),
  default_timeout: duration().default(1 * HOUR),
  default_max_attempts: positive().default(3),
  max_output_bytes: byteSize().default(MiB),
});

const s3 = z.strictObject({
  bucket: text().optional(),
  region: text().optional(),
  endpoint: httpUrl().optional(),
  force_path_style: z.boolean().default(false),
  access_key_id: text().optional(),
  secret_access_key: text().optional(),
  secret_access_key_file: text().optional(),
});

const artifacts = z
  .strictObject({
    driver: z.enum(['fs', 's3']).default('fs'),
    path: text().default('./drover-data/artifacts'),
    signing_key: text().optional(),
    signing_key_file: text().optional(),
    max_url_ttl: duration().default(1 * HOUR),
    s3: s3.prefault({}),
  })
  .superRefine((a, ctx) => {
    if (a.driver === 's3' && !a.s3.bucket) {
      ctx.addIssue({
        code: 'custom',
        path: ['s3', 'bucket'],
        message: 'is required when artifacts.driver is s3',
        params: { related: 'artifacts.driver' },
      });
    }
  });

const rateLimit = z.strictObject({
  enabled: z.boolean().default(true),
  requests_per_minute: positive().default(1200),
  burst: positive().default(200),
});

const logging = z.strictObject({
  level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  /** auto = pretty on a TTY, JSON otherwise. */
  format: z.enum(['json', 'pretty', 'auto']).default('auto'),
});

const metrics = z.strictObject({
  enabled: z.boolean().default(true),
  token: text().optional(),
  token_file: text().optional(),
});

/** Each absent field is detected from the host when the worker starts. */
const capacity = z.strictObject({
  cpu: z.number().positive().optional(),
  memory_mb: positive().optional(),
  disk_mb: positive().optional(),
  max_sandboxes: count().optional(),
});

const tls = z
  .strictObject({ cert_file: text().optional(), key_file: text().optional() })
  .superRefine((t, ctx) => {
    // One without the other would start a plain-HTTP listener the operator believes is encrypted.
    if (Boolean(t.cert_file) !== Boolean(t.key_file)) {
      const missing = t.cert_file ? 'key_file' : 'cert_file';
      ctx.addIssue({ code: 'custom', path: [missing], message: 'cert_file and key_file must be given together' });
    }
  });

const worker = z.strictObject({
  /** Absent = the host name, decided by the worker at start. */
  id: text().optional(),
  control_plane_url: httpUrl().default('http://127.0.0.1:7423'),
  token: text().optional(),
  token_file: text().optional(),
  listen_addr: listenAddr().default('127.0.0.1:7430'),
  advertise_url: httpUrl().optional(),
  /** Only until the first heartbeat reply: after that the control plane sets the cadence. */
  heartbeat_interval: duration().default(5 * SECOND),
  shutdown_timeout: duration().default(30 * SECOND),
  data_dir: text().default('./drover-data/worker'),
  // YAML reads `gpu: true` and `tier: 2` as boolean and number; labels are strings, so take them as written.
  labels: z.record(text(), z.union([z.string(), z.number(), z.boolean()]).transform(String)).default({}),
  capacity: capacity.prefault({}),
  /** Absent = every provider this host supports. */
  providers: z.array(z.enum(PROVIDER_NAMES)).optional(),
  allow_host_network: z.boolean().default(true),
  tls: tls.prefault({}),
});

export const configSchema = z.strictObject({
  server: server.prefault({}),
  database: database.prefault({}),
  auth: auth.prefault({}),
  workers: workers.prefault({}),
  scheduler: scheduler.prefault({}),
  sandboxes: sandboxes.prefault({}),
  tasks: tasks.prefault({}),
  artifacts: artifacts.prefault({}),
  rate_limit: rateLimit.prefault({}),
  logging: logging.prefault({}),
  metrics: metrics.prefault({}),
  /** Control-plane replicas the operator intends to run; only lint uses it (sqlite is single-node). */
  replicas: positive().default(1),
  worker: worker.prefault({}),
});

export type Config = z.output<typeof configSchema>;
/** What a config file may contain before defaults and parsing (durations still strings, etc.). */
export type ConfigInput = z.input<typeof configSchema>;
export type ServerConfig = Config['server'];
export type DatabaseConfig = Config['database'];
export type AuthConfig = Config['auth'];
export type WorkersConfig = Config['workers'];
export type SchedulerConfig = Config['scheduler'];
export type SandboxesConfig = Config['sandboxes'];
export type TasksConfig = Config['tasks'];
export type ArtifactsConfig = Config['artifacts'];
export type S3Config = ArtifactsConfig['s3'];
export type RateLimitConfig = Config['rate_limit'];
export type LoggingConfig = Config['logging'];
export type MetricsConfig = Config['metrics'];
export type WorkerConfig = Config['worker'];
export type WorkerCapacityConfig = WorkerConfig['capacity'];
export type ProviderName = (typeof PROVIDER_NAMES)[number];

/**
 * Secrets that may also be given as `<key>_file`. Listed once so the loader (file reading, the
 * both-given check), redaction and the docs cannot drift apart. `map` secrets are read as a YAML/JSON
 * mapping rather than as one trimmed string.
 */
export const SECRET_KEYS = [
  { key: 'auth.admin_api_key', form: 'text' },
  { key: 'auth.worker_token', form: 'text' },
  { key: 'auth.worker_tokens', form: 'map' },
  { key: 'worker.token', form: 'text' },
  { key: 'artifacts.signing_key', form: 'text' },
  { key: 'artifacts.s3.secret_access_key', form: 'text' },
  { key: 'metrics.token', form: 'text' },
  { key: 'database.dsn', form: 'text' },
] as const satisfies readonly { key: string; form: 'text' | 'map' }[];

/** How a leaf takes a value written as one string (environment variables, string flags). */
export type KeyKind = 'text' | 'number' | 'boolean' | 'list' | 'map';

export interface ConfigKey {
  path: string;
  kind: KeyKind;
}

type Def = { type: string; innerType?: z.ZodType; in?: z.ZodType; shape?: Record<string, z.ZodType> };

function defOf(schema: z.ZodType): Def {
  return schema._zod.def as unknown as Def;
}

/** Strip defaults, optionality and transforms down to the schema that first sees the input. */
function inputSchema(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (;;) {
    const def = defOf(current);
    if (def.innerType && ['default', 'prefault', 'optional', 'nullable', 'readonly'].includes(def.type)) {
      current = def.innerType;
    } else if (def.type === 'pipe' && def.in) {
      current = def.in;
    } else {
      return current;
    }
  }
}

function kindOf(def: Def): KeyKind {
  switch (def.type) {
    case 'boolean':
      return 'boolean';
    case 'number':
      return 'number';
    case 'array':
      return 'list';
    case 'record':
      return 'map';
    default:
      // strings, enums and the string|number unions behind durations and byte sizes take text as is.
      return 'text';
  }
}

/** Every leaf key of the schema, as dotted paths; maps and lists are leaves. */
export function configKeys(schema: z.ZodType = configSchema): ConfigKey[] {
  const out: ConfigKey[] = [];
  const walk = (node: z.ZodType, prefix: string): void => {
    const def = defOf(inputSchema(node));
    if (def.type === 'object' && def.shape) {
      for (const [name, child] of Object.entries(def.shape)) walk(child, prefix ? `${prefix}.${name}` : name);
    } else {
      out.push({ path: prefix, kind: kindOf(def) });
    }
  };
  walk(schema, '');
  return out;
}
