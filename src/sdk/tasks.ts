/**
 * Tasks, the caller's side (04-tasks.md, "Caller API"): submit, read, list, cancel, wait, artifacts.
 * Workers use the task worker (task-worker/) instead.
 */
import { systemClock, type Clock } from '../domain/clock.js';
import type { SubmitTaskRequest, TaskView } from '../protocol/tasks.js';
import { paginate, type Transport } from './http.js';
import { lister, seg, type Lister } from './list.js';
import type { CreateOptions, Page, PageQuery, TenantCallOptions } from './types.js';

export type { SubmitTaskRequest, TaskView } from '../protocol/tasks.js';
export type TaskState = TaskView['state'];

/** One artifact of a task, with a short-lived download URL (no credentials needed to use it). */
export interface TaskArtifactView {
  key: string;
  size: number | null;
  url: string;
  expires_at: string;
}

export interface TaskFilter {
  state?: TaskState;
  kind?: string;
  /** Admins: another tenant's tasks. */
  tenant?: string;
}

export interface WaitOptions extends TenantCallOptions {
  /** Give up after this long and return the task as it is then; without it, wait until it ends. */
  timeoutMs?: number;
}

/** States a task never leaves. */
export const TERMINAL_TASK_STATES: readonly TaskState[] = ['succeeded', 'failed', 'cancelled', 'expired'];
export const isTerminal = (t: Pick<TaskView, 'state'>): boolean => TERMINAL_TASK_STATES.includes(t.state);

/** The server holds one wait request at most this long (waitTaskQuery allows 60 s; stay well inside). */
const SERVER_WAIT_MS = 30_000;

export interface TasksApi extends Lister<TaskView, TaskFilter> {
  /** Submit a task (201). Pass `idempotencyKey` (or `idempotency_key` in the body) to make retries safe. */
  submit(req: SubmitTaskRequest, options?: CreateOptions): Promise<TaskView>;
  get(id: string, options?: TenantCallOptions): Promise<TaskView>;
  /** Request cancellation; a queued task ends at once, a leased one when its worker stops (or its lease ends). */
  cancel(id: string, options?: TenantCallOptions): Promise<TaskView>;
  /**
   * Wait until the task ends, repeating the server's long poll; with `timeoutMs`, return the task as it
   * is when the time is up (check `state`, or `isTerminal`).
   */
  wait(id: string, options?: WaitOptions): Promise<TaskView>;
  /**
   * One page of the objects under the task's prefix (every attempt's, not only those the accepted
   * report named), each with a short-lived download URL. Pass `next_cursor` back as `cursor`.
   */
  artifacts(id: string, options?: TenantCallOptions & PageQuery): Promise<Page<TaskArtifactView>>;
  /** Every artifact, page by page. */
  allArtifacts(id: string, options?: TenantCallOptions & { limit?: number }): AsyncGenerator<TaskArtifactView>;
}

const scoped = (o: TenantCallOptions) => ({ signal: o.signal, query: { tenant: o.tenant } });

export function tasksApi(t: Transport, clock: Clock = systemClock): TasksApi {
  const path = (id: string) => `/api/v1/tasks/${seg(id)}`;
  const artifactsPage = async (id: string, limit: number | undefined, cursor: string | undefined, o: TenantCallOptions): Promise<Page<TaskArtifactView>> => {
    const page = await t.request<{ items: TaskArtifactView[]; next_cursor?: string | null }>('GET', `${path(id)}/artifacts`, { signal: o.signal, query: { tenant: o.tenant, limit, cursor } });
    return { items: page.items, next_cursor: page.next_cursor ?? null };
  };
  return {
    ...lister<TaskView, TaskFilter>(t, '/api/v1/tasks'),
    submit: (req, o = {}) => t.request('POST', '/api/v1/tasks', { ...scoped(o), body: req, idempotencyKey: o.idempotencyKey }),
    get: (id, o = {}) => t.request('GET', path(id), scoped(o)),
    cancel: (id, o = {}) => t.request('POST', `${path(id)}/cancel`, scoped(o)),
    artifacts: (id, o = {}) => artifactsPage(id, o.limit, o.cursor, o),
    allArtifacts: (id, o = {}) => paginate((cursor) => artifactsPage(id, o.limit, cursor, o)),
    async wait(id, o = {}) {
      const until = o.timeoutMs === undefined ? Infinity : clock.now() + o.timeoutMs;
      for (;;) {
        const left = until - clock.now();
        const timeout_ms = Math.max(0, Math.min(SERVER_WAIT_MS, left));
        const task = await t.request<TaskView>('GET', `${path(id)}/wait`, { signal: o.signal, query: { tenant: o.tenant, timeout_ms } });
        if (isTerminal(task) || clock.now() >= until || o.signal?.aborted) return task;
      }
    },
  };
}
