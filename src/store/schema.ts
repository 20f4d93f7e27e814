/**
 * Row types of every table, as both drivers return them: ms integers for times, 0/1 for flags, JSON as
 * text. The store's public types (store/types.ts) are the decoded forms; decode/encode lives beside the
 * queries of each aggregate.
 */
import type { Generated } from 'kysely';

export interface TenantsTable { id: string; name: string; created_at: number; updated_at: number }

export interface QuotasTable {
  tenant_id: string;
  max_sandboxes: number | null;
  max_cpu_milli: number | null;
  max_memory_mb: number | null;
  max_ttl_ms: number | null;
  max_running_tasks: number | null;
  max_exec_timeout_ms: number | null;
  updated_at: number;
}

export interface ApiKeysTable {
  id: string;
  tenant_id: string;
  name: string | null;
  role: string;
  key_hash: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

export interface WorkerTokensTable {
  id: string;
  worker_id: string | null;
  name: string | null;
  token_hash: string;
  scopes: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
}

export interface WorkersTable {
  id: string;
  hostname: string;
  version: string;
  status: string;
  cordoned: number;
  drain_deadline_at: number | null;
  drain_requested_at: number | null;
  drain_migrate: number;
  providers: string;
  capabilities: string;
  labels: string;
  cap_cpu_milli: number;
  cap_memory_mb: number;
  cap_disk_mb: number;
  cap_sandboxes: number;
  alloc_cpu_milli: number;
  alloc_memory_mb: number;
  alloc_disk_mb: number;
  alloc_sandboxes: number;
  rpc_url: string | null;
  rpc_secret: string | null;
  task_kinds: string;
  code_version: string | null;
  last_heartbeat_at: number;
  status_changed_at: number;
  created_at: number;
  updated_at: number;
}

export interface LeasesTable {
  resource_type: string;
  resource_id: string;
  holder_id: string;
  generation: number;
  expires_at: number;
  acquired_at: number;
  renewed_at: number;
}

export interface SandboxesTable {
  id: string;
  tenant_id: string;
  worker_id: string | null;
  runtime_id: string | null;
  provider: string | null;
  template: string | null;
  spec: string;
  state: string;
  state_reason: string | null;
  generation: number;
  cpu_milli: number;
  memory_mb: number;
  disk_mb: number;
  labels: string;
  metadata: string;
  restart_on_worker_loss: number;
  ttl_ms: number;
  expires_at: number;
  idle_timeout_ms: number | null;
  queued_until: number | null;
  created_at: number;
  updated_at: number;
  started_at: number | null;
  ended_at: number | null;
}

export interface TasksTable {
  id: string;
  tenant_id: string;
  kind: string;
  input: string;
  state: string;
  priority: number;
  attempt: number;
  max_attempts: number;
  retry_backoff_ms: number;
  run_after: number;
  deadline_at: number;
  code_version: string | null;
  labels: string;
  idempotency_key: string | null;
  worker_id: string | null;
  generation: number;
  cancel_requested: number;
  progress: string | null;
  output: string | null;
  error: string | null;
  artifacts: string | null;
  created_at: number;
  updated_at: number;
  started_at: number | null;
  first_started_at: number | null;
  ended_at: number | null;
}

export interface TaskAttemptsTable {
  task_id: string;
  attempt: number;
  worker_id: string;
  generation: number;
  started_at: number;
  ended_at: number | null;
  outcome: string | null;
}

export interface TemplatesTable { tenant_id: string; name: string; spec: string; created_at: number; updated_at: number }

export interface AuditLogTable {
  id: string;
  at: number;
  actor_type: string;
  actor_id: string | null;
  tenant_id: string | null;
  action: string;
  resource_type: string | null;
  resource_id: string | null;
  outcome: string;
  request_id: string | null;
  remote_addr: string | null;
  details: string | null;
}

export interface EventsTable {
  seq: Generated<number>;
  at: number;
  type: string;
  tenant_id: string | null;
  resource_type: string | null;
  resource_id: string | null;
  data: string;
}

export interface IdempotencyKeysTable {
  tenant_id: string;
  scope: string;
  key: string;
  request_hash: string;
  resource_id: string | null;
  response: string | null;
  created_at: number;
  expires_at: number;
}

export interface SchemaMigrationsTable { version: number; name: string; applied_at: number }

export interface Database {
  tenants: TenantsTable;
  quotas: QuotasTable;
  api_keys: ApiKeysTable;
  worker_tokens: WorkerTokensTable;
  workers: WorkersTable;
  leases: LeasesTable;
  sandboxes: SandboxesTable;
  tasks: TasksTable;
  task_attempts: TaskAttemptsTable;
  templates: TemplatesTable;
  audit_log: AuditLogTable;
  events: EventsTable;
  idempotency_keys: IdempotencyKeysTable;
  schema_migrations: SchemaMigrationsTable;
}
