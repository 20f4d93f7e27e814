/**
 * Submitting a task (04-tasks.md). Defaults come from `config.tasks` (timeout, max attempts); the
 * deadline counts from submission. With an idempotency key (the `Idempotency-Key` header or the body's
 * `idempotency_key`; both must agree) the same request again replays the original answer and another
 * request under the key is 409 — through the shared idempotency records, like every create. The key
 * is also stored on the task, whose unique index makes a duplicate impossible even after the
 * idempotency record has been pruned (24 h); such a late repeat is answered 200 with the task as it is
 * now, if it asks for the same thing, else 409.
 */
import { BadRequest, Conflict } from '../../../domain/errors.js';
import { newId } from '../../../domain/ids.js';
import type { SubmitTaskRequest, TaskView } from '../../../protocol/tasks.js';
import type { NewTask, TaskRecord } from '../../../store/types.js';
import type { ControlPlane } from '../../deps.js';
import { toTaskView } from '../../views/task.js';
import { hashRequest, withIdempotency } from '../idempotency.js';
import { emitTask } from './events.js';

/** Retry backoff base when the request names none: 1 s, doubling per attempt (domain/tasks/decide.ts). */
export const DEFAULT_RETRY_BACKOFF_MS = 1_000;

export type SubmitBody = Omit<SubmitTaskRequest, 'idempotency_key'> & { idempotency_key?: string | undefined };

export interface Submitted {
  status: 201 | 200;
  view: TaskView;
  replayed: boolean;
}

/** The key from the header or the body; both given and different is a 400. */
export function idempotencyKeyOf(header: string | undefined, body: SubmitBody): string | undefined {
  const fromBody = body.idempotency_key;
  if (header !== undefined && fromBody !== undefined && header !== fromBody) {
    throw new BadRequest('the Idempotency-Key header and idempotency_key in the body differ', { fields: { 'body.idempotency_key': 'differs from the Idempotency-Key header' } });
  }
  return header ?? fromBody;
}

/** The request with defaults applied, as the store takes it (pure). */
export function resolveSubmit(cp: Pick<ControlPlane, 'config' | 'clock'>, id: string, tenantId: string, body: SubmitBody, key: string | undefined): NewTask {
  const timeoutMs = body.timeout_ms ?? cp.config.tasks.default_timeout;
  const runAfter = body.run_after === undefined ? undefined : Date.parse(body.run_after);
  if (runAfter !== undefined && runAfter >= cp.clock.now() + timeoutMs) {
    // The deadline counts from submission: such a task could only ever expire.
    throw new BadRequest('run_after is at or past the deadline (timeout_ms counts from submission)', { fields: { 'body.run_after': 'after the deadline' } });
  }
  return {
    id,
    tenantId,
    kind: body.kind,
    input: body.input ?? null,
    priority: body.priority ?? 0,
    maxAttempts: body.max_attempts ?? cp.config.tasks.default_max_attempts,
    retryBackoffMs: body.retry_backoff_ms ?? DEFAULT_RETRY_BACKOFF_MS,
    runAfter,
    timeoutMs,
    codeVersion: body.code_version ?? null,
    labels: body.labels ?? {},
    idempotencyKey: key ?? null,
  };
}

/** Whether an existing task is what `wanted` asks for (times aside: they count from each submission). */
export function sameSubmission(existing: TaskRecord, wanted: NewTask): boolean {
  return (
    existing.kind === wanted.kind &&
    existing.priority === wanted.priority &&
    existing.maxAttempts === wanted.maxAttempts &&
    existing.retryBackoffMs === wanted.retryBackoffMs &&
    existing.codeVersion === wanted.codeVersion &&
    hashRequest(existing.input) === hashRequest(wanted.input) &&
    hashRequest(existing.labels) === hashRequest(wanted.labels)
  );
}

export async function submitTask(cp: ControlPlane, tenantId: string, body: SubmitBody, header: string | undefined): Promise<Submitted> {
  const key = idempotencyKeyOf(header, body);
  const { idempotency_key: _k, ...request } = body;
  const result = await withIdempotency(cp, { tenantId, scope: 'tasks.submit', key, body: request }, async () => {
    const wanted = resolveSubmit(cp, newId('tsk', cp.clock.now()), tenantId, request, key);
    const { task, created } = await cp.store.tasks.submitTask(wanted);
    if (!created) {
      if (!sameSubmission(task, wanted)) throw new Conflict('this idempotency key was used for another task', { idempotency_key: key, task_id: task.id });
      return { status: 200, body: toTaskView(task), resourceId: task.id };
    }
    await emitTask(cp, 'submitted', task, { priority: task.priority });
    return { status: 201, body: toTaskView(task), resourceId: task.id };
  });
  return { status: result.status === 200 ? 200 : 201, view: result.body as TaskView, replayed: result.replayed };
}
