/**
 * The store's public entity types: decoded rows (booleans, parsed JSON, camelCase). Times are ms since
 * the epoch, produced by the store clock.
 */
import type { SandboxState } from '../domain/states/sandbox.js';
import type { TaskState } from '../domain/states/task.js';
import type { WorkerStatus } from '../domain/states/worker.js';

/** Which tenants a query may see. Every tenant-owned query takes one; there is no unscoped variant. */
export type TenantScope = { kind: 'tenant'; tenantId: string } | { kind: 'all' };

export const allTenants: TenantScope = { kind: 'all' };
export const tenantScope = (tenantId: string): TenantScope => ({ kind: 'tenant', tenantId });

export interface PageRequest {
  limit: number;
  cursor?: string | undefined;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface ResourceRef {
  type: 'sandbox' | 'task' | 'cp' | (string & {});
  id: string;
}

export interface Lease {
  resourceType: string;
  resourceId: string;
  holderId: string;
  generation: number;
  expiresAt: number;
  acquiredAt: number;
  renewedAt: number;
}

/** cpu in millicores; memory and disk in MiB. */
export interface Resources {
  cpuMilli: number;
  memoryMb: number;
  diskMb: number;
  sandboxes: number;
}

export interface WorkerRecord {
  id: string;
  hostname: string;
  version: string;
  status: WorkerStatus;
  cordoned: boolean;
  drain: { deadlineAt: number | null; migrate: boolean } | null;
  providers: string[];
  capabilities: string[];
  labels: Record<string, string>;
  capacity: Resources;
  allocated: Resources;
  rpcUrl: string | null;
  rpcSecret: string | null;
  taskKinds: string[];
  codeVersion: string | null;
  lastHeartbeatAt: number;
  statusChangedAt: number;
  createdAt: number;
  updatedAt: number;
}

export interface HeartbeatInput {
  id: string;
  hostname: string;
  version: string;
  /** What the worker says of itself; a control-plane drain is not undone by a worker saying online. */
  status: 'online' | 'draining';
  providers: string[];
  capabilities: string[];
  labels: Record<string, string>;
  capacity: Omit<Resources, never>;
  rpcUrl: string | null;
  rpcSecret: string | null;
  taskKinds: string[];
  codeVersion: string | null;
}

export interface SandboxRecord {
  id: string;
  tenantId: string;
  workerId: string | null;
  runtimeId: string | null;
  provider: string | null;
  template: string | null;
  spec: Record<string, unknown>;
  state: SandboxState;
  stateReason: string | null;
  generation: number;
  resources: Omit<Resources, 'sandboxes'>;
  labels: Record<string, string>;
  metadata: Record<string, unknown>;
  restartOnWorkerLoss: boolean;
  ttlMs: number;
  expiresAt: number;
  idleTimeoutMs: number | null;
  queuedUntil: number | null;
  createdAt: number;
  updatedAt: number;
  startedAt: number | null;
  endedAt: number | null;
}

export interface NewSandbox {
  id: string;
  tenantId: string;
  template?: string | null;
  provider?: string | null;
  spec: Record<string, unknown>;
  resources: Omit<Resources, 'sandboxes'>;
  labels: Record<string, string>;
  metadata: Record<string, unknown>;
  restartOnWorkerLoss: boolean;
  ttlMs: number;
  idleTimeoutMs: number | null;
  /** How long it may wait in `pending` for capacity. */
  queueTimeoutMs: number;
}

export interface SandboxFilter {
  state?: SandboxState | undefined;
  workerId?: string | undefined;
  /** `key=value`; all must match. */
  labels?: Record<string, string> | undefined;
}

export type TaskOutcome =
  | { status: 'succeeded'; output: unknown; artifacts?: string[] }
  | { status: 'failed'; error: { message: string; retryable?: boolean; code?: string } }
  | { status: 'cancelled' };

export interface TaskRecord {
  id: string;
  tenantId: string;
  kind: string;
  input: unknown;
  state: TaskState;
  priority: number;
  attempt: number;
  maxAttempts: number;
  retryBackoffMs: number;
  runAfter: number;
  deadlineAt: number;
  codeVersion: string | null;
  labels: Record<string, string>;
  idempotencyKey: string | null;
  workerId: string | null;
  generation: number;
  cancelRequested: boolean;
  progress: unknown;
  output: unknown;
  error: { message: string; retryable?: boolean; code?: string } | null;
  artifacts: string[] | null;
  createdAt: number;
  updatedAt: number;
  startedAt: number | null;
  firstStartedAt: number | null;
  endedAt: number | null;
}

export interface NewTask {
  id: string;
  tenantId: string;
  kind: string;
  input: unknown;
  priority: number;
  maxAttempts: number;
  retryBackoffMs: number;
  /** Absent: ready now (store clock). */
  runAfter?: number | undefined;
  timeoutMs: number;
  codeVersion: string | null;
  labels: Record<string, string>;
  idempotencyKey: string | null;
}

export interface TaskFilter {
  state?: TaskState | undefined;
  kind?: string | undefined;
}

export interface ClaimRequest {
  workerId: string;
  kinds: string[];
  codeVersion: string | null;
  max: number;
  leaseTtlMs: number;
}

export interface ClaimedTask {
  task: TaskRecord;
  lease: Lease;
}

export interface TaskSweepResult {
  requeued: string[];
  failed: string[];
  expired: string[];
  cancelled: string[];
}

export type Role = 'viewer' | 'api' | 'operator' | 'admin';

export interface ApiKeyRecord {
  id: string;
  tenantId: string;
  name: string | null;
  role: Role;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

export type WorkerScope = 'worker:heartbeat' | 'worker:lease' | 'worker:tasks' | 'worker:artifacts';

export interface WorkerTokenRecord {
  id: string;
  /** Bound to one worker id, or null for any worker id. */
  workerId: string | null;
  name: string | null;
  scopes: WorkerScope[];
  createdAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
}

export interface TenantRecord {
  id: string;
  name: string;
  createdAt: number;
  updatedAt: number;
}

export interface Quota {
  maxSandboxes: number | null;
  maxCpuMilli: number | null;
  maxMemoryMb: number | null;
  maxTtlMs: number | null;
  maxRunningTasks: number | null;
  maxExecTimeoutMs: number | null;
}

export interface TemplateRecord {
  tenantId: string;
  name: string;
  spec: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
}

export interface AuditEntry {
  actorType: 'key' | 'worker' | 'system' | 'anonymous';
  actorId: string | null;
  tenantId: string | null;
  action: string;
  resourceType: string | null;
  resourceId: string | null;
  outcome: 'ok' | 'denied' | 'error';
  requestId: string | null;
  remoteAddr: string | null;
  details?: Record<string, unknown> | null;
}

export interface AuditRecord extends AuditEntry {
  id: string;
  at: number;
}

export interface AuditFilter {
  action?: string | undefined;
  actorId?: string | undefined;
  resourceId?: string | undefined;
}

export interface EventInput {
  type: string;
  tenantId: string | null;
  resourceType: string | null;
  resourceId: string | null;
  data: Record<string, unknown>;
}

export interface EventRecord extends EventInput {
  seq: number;
  at: number;
}

export interface IdempotencyRecord {
  requestHash: string;
  resourceId: string | null;
  response: unknown;
  createdAt: number;
  expiresAt: number;
}
