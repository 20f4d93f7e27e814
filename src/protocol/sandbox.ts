/**
 * Sandbox and template wire shapes (02-api.md, "Sandboxes", "Templates"): the create request, the
 * template spec (a partial create request) and the sandbox as GET returns it. Shared by the control
 * plane (which validates with them and generates OpenAPI from them), the SDK and the CLI.
 */
import { z } from 'zod';
import { SANDBOX_STATES, type SandboxState } from '../domain/states/sandbox.js';
import { rpcServiceSchema } from './rpc.js';

const port = () => z.number().int().min(1).max(65535);
const LABEL_KEY = /^[A-Za-z0-9]([A-Za-z0-9._/-]{0,126}[A-Za-z0-9])?$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** A provider name as workers advertise it; `auto` lets the control plane pick per worker. */
const PROVIDER = /^[a-z][a-z0-9_-]{0,31}$/;
export const TEMPLATE_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

const labels = () => z.record(z.string().regex(LABEL_KEY, 'label keys are [A-Za-z0-9._/-], at most 128 characters'), z.string().max(256));

export const serviceSchema = rpcServiceSchema;

/** What a sandbox gets when neither the request nor its template says (cpu in CPUs, sizes in MiB). */
export const SANDBOX_DEFAULTS = { cpu: 1, memory_mb: 512, disk_mb: 1024, network: 'none' } as const;
export type ServiceSpec = z.infer<typeof serviceSchema>;

/**
 * Every field a sandbox spec may set. Units: `cpu` in CPUs (fractions allowed), memory and disk in MiB,
 * durations in ms. `selector` matches worker labels (all pairs must be equal). `ports` are the ports
 * previews may reach; `public_ports` (a subset of `ports`, or the service's fixed port) need no auth.
 */
const specFields = {
  provider: z.string().regex(PROVIDER, 'a provider name such as bwrap, process or auto').optional(),
  image: z.string().min(1).max(512).optional(),
  cpu: z.number().positive().max(1024).optional(),
  memory_mb: z.number().int().positive().max(16 * 1024 * 1024).optional(),
  disk_mb: z.number().int().positive().max(1024 * 1024 * 1024).optional(),
  pids: z.number().int().positive().max(4_194_304).optional(),
  ttl_ms: z.number().int().positive().optional(),
  idle_timeout_ms: z.number().int().positive().optional(),
  env: z.record(z.string().regex(ENV_NAME, 'environment names are [A-Za-z_][A-Za-z0-9_]*'), z.string()).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  labels: labels().optional(),
  selector: labels().optional(),
  network: z.enum(['none', 'host']).optional(),
  ports: z.array(port()).max(64).optional(),
  public_ports: z.array(port()).max(64).optional(),
  service: serviceSchema.optional(),
  restart_on_worker_loss: z.boolean().optional(),
};

/** A template: a named partial sandbox spec. Every field optional; `template` and `wait` excluded. */
export const templateSpecSchema = z.strictObject(specFields);
export type TemplateSpec = z.infer<typeof templateSpecSchema>;

/**
 * `POST /api/v1/sandboxes`. `wait` (default true) holds the request until the sandbox is running or
 * has failed; `wait: false` answers 201 as soon as the sandbox is placed (state `starting`).
 */
export const createSandboxSchema = z.strictObject({
  template: z.string().regex(TEMPLATE_NAME, 'a template name').optional(),
  ...specFields,
  wait: z.boolean().optional(),
});
export type CreateSandboxRequest = z.infer<typeof createSandboxSchema>;

/** `POST /api/v1/templates/{name}/sandboxes`: the overrides; the template comes from the path. */
export const spawnFromTemplateSchema = createSandboxSchema.omit({ template: true });

/** The lifecycle's states, from the state machine itself so the wire cannot drift from it. */
export const SANDBOX_STATE_NAMES = SANDBOX_STATES as unknown as readonly [SandboxState, ...SandboxState[]];

const time = () => z.string().describe('RFC 3339');

/** What `GET /api/v1/sandboxes/{id}` returns (and every sandbox-returning route). */
export const sandboxViewSchema = z.object({
  id: z.string(),
  tenant_id: z.string(),
  state: z.enum(SANDBOX_STATE_NAMES),
  state_reason: z.string().nullable(),
  worker_id: z.string().nullable(),
  runtime_id: z.string().nullable(),
  /** The provider it runs with (chosen at placement); null while pending. */
  provider: z.string().nullable(),
  /** What was asked for (`auto` or a name). */
  provider_requested: z.string(),
  lease_generation: z.number().int(),
  template: z.string().nullable(),
  image: z.string().nullable(),
  resources: z.object({ cpu: z.number(), memory_mb: z.number().int(), disk_mb: z.number().int(), pids: z.number().int().nullable() }),
  network: z.enum(['none', 'host']),
  ports: z.array(z.number().int()),
  public_ports: z.array(z.number().int()),
  labels: z.record(z.string(), z.string()),
  selector: z.record(z.string(), z.string()),
  metadata: z.record(z.string(), z.unknown()),
  /** Names only: values may be secrets and are never returned. */
  env_keys: z.array(z.string()),
  restart_on_worker_loss: z.boolean(),
  ttl_ms: z.number().int(),
  idle_timeout_ms: z.number().int().nullable(),
  expires_at: time(),
  queued_until: time().nullable(),
  created_at: time(),
  updated_at: time(),
  started_at: time().nullable(),
  ended_at: time().nullable(),
  /** For a service: its command and the resolved `port` (null until the worker has chosen one). */
  service: z.object({ command: z.union([z.array(z.string()), z.string()]), port: z.number().int().nullable() }).nullable(),
  capabilities: z.array(z.string()),
  warnings: z.array(z.string()),
  /** `{"<port>": "<url>"}` for preview-able ports; filled in by the preview feature. */
  previews: z.record(z.string(), z.string()),
});
export type SandboxView = z.infer<typeof sandboxViewSchema>;

export const sandboxListSchema = z.object({ items: z.array(sandboxViewSchema), next_cursor: z.string().nullable() });

export const extendSandboxSchema = z.strictObject({ ttl_ms: z.number().int().positive() });

/** `POST /api/v1/sandboxes/admission`. `quota.max` values are null when unlimited. */
export const admissionSchema = z.object({
  allowed: z.boolean(),
  reason: z.string().nullable(),
  selected_worker_id: z.string().nullable(),
  provider: z.string().nullable(),
  eligible_workers: z.number().int(),
  quota: z.object({
    used: z.object({ sandboxes: z.number().int(), cpu: z.number(), memory_mb: z.number().int() }),
    max: z.object({ sandboxes: z.number().int().nullable(), cpu: z.number().nullable(), memory_mb: z.number().int().nullable(), ttl_ms: z.number().int().nullable() }),
  }),
});
export type AdmissionView = z.infer<typeof admissionSchema>;

export const templateViewSchema = z.object({
  name: z.string(),
  tenant_id: z.string(),
  spec: templateSpecSchema,
  created_at: time(),
  updated_at: time(),
});
export type TemplateView = z.infer<typeof templateViewSchema>;

export const createTemplateSchema = z.strictObject({ name: z.string().regex(TEMPLATE_NAME, 'template names are [a-z0-9][a-z0-9._-]{0,62}'), spec: templateSpecSchema });
export const putTemplateSchema = z.strictObject({ spec: templateSpecSchema });
