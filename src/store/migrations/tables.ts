/**
 * Table definitions shared by both dialects. Column types are written with three placeholders that each
 * dialect fills in, so the columns themselves are defined once:
 *   {int64}  64-bit integer (ms timestamps, generations, counters)
 *   {text}   unbounded text (JSON is stored as text in both dialects so both drivers return strings)
 *   {seq}    an auto-incrementing 64-bit primary key
 * Booleans are stored as 0/1 integers for the same reason: identical values back from either driver.
 * Resources are integers: cpu in millicores, memory and disk in MiB.
 */
export const INITIAL_TABLES: string[] = [
  `CREATE TABLE tenants (
    id {text} PRIMARY KEY,
    name {text} NOT NULL,
    created_at {int64} NOT NULL,
    updated_at {int64} NOT NULL
  )`,
  `CREATE TABLE quotas (
    tenant_id {text} PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    max_sandboxes {int64},
    max_cpu_milli {int64},
    max_memory_mb {int64},
    max_ttl_ms {int64},
    max_running_tasks {int64},
    max_exec_timeout_ms {int64},
    updated_at {int64} NOT NULL
  )`,
  `CREATE TABLE api_keys (
    id {text} PRIMARY KEY,
    tenant_id {text} NOT NULL REFERENCES tenants(id),
    name {text},
    role {text} NOT NULL,
    key_hash {text} NOT NULL UNIQUE,
    created_at {int64} NOT NULL,
    last_used_at {int64},
    revoked_at {int64}
  )`,
  `CREATE TABLE worker_tokens (
    id {text} PRIMARY KEY,
    worker_id {text},
    name {text},
    token_hash {text} NOT NULL UNIQUE,
    scopes {text} NOT NULL,
    created_at {int64} NOT NULL,
    expires_at {int64},
    revoked_at {int64}
  )`,
  `CREATE TABLE workers (
    id {text} PRIMARY KEY,
    hostname {text} NOT NULL,
    version {text} NOT NULL,
    status {text} NOT NULL,
    cordoned {int64} NOT NULL DEFAULT 0,
    drain_deadline_at {int64},
    drain_migrate {int64} NOT NULL DEFAULT 0,
    providers {text} NOT NULL,
    capabilities {text} NOT NULL,
    labels {text} NOT NULL,
    cap_cpu_milli {int64} NOT NULL,
    cap_memory_mb {int64} NOT NULL,
    cap_disk_mb {int64} NOT NULL,
    cap_sandboxes {int64} NOT NULL,
    alloc_cpu_milli {int64} NOT NULL DEFAULT 0,
    alloc_memory_mb {int64} NOT NULL DEFAULT 0,
    alloc_disk_mb {int64} NOT NULL DEFAULT 0,
    alloc_sandboxes {int64} NOT NULL DEFAULT 0,
    rpc_url {text},
    rpc_secret {text},
    task_kinds {text} NOT NULL,
    code_version {text},
    last_heartbeat_at {int64} NOT NULL,
    status_changed_at {int64} NOT NULL,
    created_at {int64} NOT NULL,
    updated_at {int64} NOT NULL
  )`,
  `CREATE TABLE leases (
    resource_type {text} NOT NULL,
    resource_id {text} NOT NULL,
    holder_id {text} NOT NULL,
    generation {int64} NOT NULL,
    expires_at {int64} NOT NULL,
    acquired_at {int64} NOT NULL,
    renewed_at {int64} NOT NULL,
    PRIMARY KEY (resource_type, resource_id)
  )`,
  `CREATE INDEX leases_holder ON leases (holder_id, expires_at)`,
  `CREATE TABLE sandboxes (
    id {text} PRIMARY KEY,
    tenant_id {text} NOT NULL REFERENCES tenants(id),
    worker_id {text},
    runtime_id {text},
    provider {text},
    template {text},
    spec {text} NOT NULL,
    state {text} NOT NULL,
    state_reason {text},
    generation {int64} NOT NULL DEFAULT 0,
    cpu_milli {int64} NOT NULL,
    memory_mb {int64} NOT NULL,
    disk_mb {int64} NOT NULL,
    labels {text} NOT NULL,
    metadata {text} NOT NULL,
    restart_on_worker_loss {int64} NOT NULL DEFAULT 0,
    ttl_ms {int64} NOT NULL,
    expires_at {int64} NOT NULL,
    idle_timeout_ms {int64},
    queued_until {int64},
    created_at {int64} NOT NULL,
    updated_at {int64} NOT NULL,
    started_at {int64},
    ended_at {int64}
  )`,
  `CREATE INDEX sandboxes_tenant ON sandboxes (tenant_id, id)`,
  `CREATE INDEX sandboxes_worker ON sandboxes (worker_id, state)`,
  `CREATE INDEX sandboxes_state ON sandboxes (state, expires_at)`,
  `CREATE TABLE tasks (
    id {text} PRIMARY KEY,
    tenant_id {text} NOT NULL REFERENCES tenants(id),
    kind {text} NOT NULL,
    input {text} NOT NULL,
    state {text} NOT NULL,
    priority {int64} NOT NULL DEFAULT 0,
    attempt {int64} NOT NULL DEFAULT 0,
    max_attempts {int64} NOT NULL,
    retry_backoff_ms {int64} NOT NULL,
    run_after {int64} NOT NULL,
    deadline_at {int64} NOT NULL,
    code_version {text},
    labels {text} NOT NULL,
    idempotency_key {text},
    worker_id {text},
    generation {int64} NOT NULL DEFAULT 0,
    cancel_requested {int64} NOT NULL DEFAULT 0,
    progress {text},
    output {text},
    error {text},
    artifacts {text},
    created_at {int64} NOT NULL,
    updated_at {int64} NOT NULL,
    started_at {int64},
    first_started_at {int64},
    ended_at {int64}
  )`,
  `CREATE INDEX tasks_ready ON tasks (state, kind, priority, run_after)`,
  `CREATE INDEX tasks_tenant ON tasks (tenant_id, id)`,
  `CREATE UNIQUE INDEX tasks_idempotency ON tasks (tenant_id, idempotency_key)`,
  `CREATE TABLE task_attempts (
    task_id {text} NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    attempt {int64} NOT NULL,
    worker_id {text} NOT NULL,
    generation {int64} NOT NULL,
    started_at {int64} NOT NULL,
    ended_at {int64},
    outcome {text},
    PRIMARY KEY (task_id, attempt)
  )`,
  `CREATE TABLE templates (
    tenant_id {text} NOT NULL REFERENCES tenants(id),
    name {text} NOT NULL,
    spec {text} NOT NULL,
    created_at {int64} NOT NULL,
    updated_at {int64} NOT NULL,
    PRIMARY KEY (tenant_id, name)
  )`,
  `CREATE TABLE audit_log (
    id {text} PRIMARY KEY,
    at {int64} NOT NULL,
    actor_type {text} NOT NULL,
    actor_id {text},
    tenant_id {text},
    action {text} NOT NULL,
    resource_type {text},
    resource_id {text},
    outcome {text} NOT NULL,
    request_id {text},
    remote_addr {text},
    details {text}
  )`,
  `CREATE INDEX audit_tenant ON audit_log (tenant_id, id)`,
  `CREATE TABLE events (
    seq {seq},
    at {int64} NOT NULL,
    type {text} NOT NULL,
    tenant_id {text},
    resource_type {text},
    resource_id {text},
    data {text} NOT NULL
  )`,
  `CREATE INDEX events_at ON events (at)`,
  `CREATE TABLE idempotency_keys (
    tenant_id {text} NOT NULL,
    scope {text} NOT NULL,
    key {text} NOT NULL,
    request_hash {text} NOT NULL,
    resource_id {text},
    response {text},
    created_at {int64} NOT NULL,
    expires_at {int64} NOT NULL,
    PRIMARY KEY (tenant_id, scope, key)
  )`,
];

/**
 * Version 2: a drain is remembered apart from the status, so a draining worker that goes stale and
 * comes back resumes draining instead of taking new work (the status alone is overwritten by stale).
 */
export const DRAIN_REQUESTED: string[] = [`ALTER TABLE workers ADD COLUMN drain_requested_at {int64}`];
