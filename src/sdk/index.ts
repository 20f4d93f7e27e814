/**
 * The Drover SDK's public entry: the API client (`createClient`), the task worker
 * (`createTaskWorker`, 04-tasks.md), and their errors and types.
 */
export { createClient, type ClientOptions, type DroverClient } from './client.js';
export { DroverApiError, DroverConnectionError } from './errors.js';
export type { EventStream, EventStreamOptions, EventsApi } from './events.js';
export type { Lister } from './list.js';
export type { AuditApi, AuditFilter, KeysApi, TenantsApi, WorkerTokensApi } from './admin.js';
export type { SandboxesApi, SandboxFilter, TemplatesApi } from './sandboxes.js';
export type { LeaseFilter, LeasesApi, WorkersApi } from './workers.js';
export type * from './types.js';
export * from './task-worker/index.js';
export { isTerminal, TERMINAL_TASK_STATES, type TasksApi, type TaskFilter, type TaskArtifactView, type TaskState, type WaitOptions, type SubmitTaskRequest, type TaskView } from './tasks.js';
