/**
 * Tasks, the caller's side (04-tasks.md): submit, list, get, cancel, wait, artifacts. Tenancy is in
 * the store query, so another tenant's task — and its artifacts — are a 404; admins may pass `?tenant=`.
 */
import { z } from 'zod';
import { listTasksQuery, submitTaskRequest, taskArtifactsQuery, taskArtifactsView, taskView, waitTaskQuery } from '../../protocol/tasks.js';
import { listOf } from '../../protocol/list.js';
import { owningTenant, readScope, writeScope } from '../auth/principal.js';
import { defineRoute, type RouteDef } from '../http/route.js';
import { listTaskArtifacts } from '../services/tasks/artifacts.js';
import { cancelTask } from '../services/tasks/cancel.js';
import { submitTask } from '../services/tasks/submit.js';
import { waitForTask, type WaitOptions } from '../services/tasks/wait.js';
import { toTaskView } from '../views/task.js';
import { tenantQuery } from './sandboxes.js';
import { NotFound } from '../../domain/errors.js';

const idParams = z.strictObject({ id: z.string().min(1).max(128) });

const header = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

/** `options` tune the wait route's fallback re-read (tests); production uses the defaults. */
export function taskRoutes(options: WaitOptions = {}): RouteDef[] {
  return [
    defineRoute({
      id: 'tasks.submit',
      method: 'POST',
      path: '/api/v1/tasks',
      summary: 'Submit a task (201; Idempotency-Key header or idempotency_key: a replay answers the original, marked Idempotent-Replayed)',
      tags: ['tasks'],
      auth: { kind: 'user', scope: 'write' },
      query: tenantQuery,
      body: submitTaskRequest,
      responses: { 201: taskView, 200: taskView },
      handler: async ({ cp, principal, query, body, req }) => {
        const tenantId = owningTenant(principal, query.tenant);
        // A stored key's tenant exists (the key references it); an admin may act for a tenant that has
        // nothing yet, and the configured or auth-disabled admin's own tenant may never have been made.
        if (principal.kind === 'user' && principal.role === 'admin') await cp.store.tenants.ensureTenant(tenantId);
        const r = await submitTask(cp, tenantId, body, header(req.headers['idempotency-key']));
        return {
          status: r.status,
          body: r.view,
          auditResource: { type: 'task', id: r.view.id },
          ...(r.replayed ? { headers: { 'idempotent-replayed': 'true' } } : {}),
        };
      },
    }),
    defineRoute({
      id: 'tasks.list',
      method: 'GET',
      path: '/api/v1/tasks',
      summary: 'List tasks, newest first; filters state, kind',
      tags: ['tasks'],
      auth: { kind: 'user', scope: 'read' },
      query: listTasksQuery,
      responses: { 200: listOf(taskView) },
      handler: async ({ cp, principal, query }) => {
        const page = await cp.store.tasks.listTasks(readScope(principal, query.tenant), { state: query.state, kind: query.kind }, { limit: query.limit, cursor: query.cursor });
        return { body: { items: page.items.map(toTaskView), next_cursor: page.nextCursor } };
      },
    }),
    defineRoute({
      id: 'tasks.get',
      method: 'GET',
      path: '/api/v1/tasks/:id',
      summary: 'One task: state, attempt, output or error, progress, timings, worker',
      tags: ['tasks'],
      auth: { kind: 'user', scope: 'read' },
      params: idParams,
      query: tenantQuery,
      responses: { 200: taskView },
      handler: async ({ cp, principal, params, query }) => {
        const task = await cp.store.tasks.getTask(readScope(principal, query.tenant), params.id);
        if (!task) throw new NotFound(`task ${params.id}`);
        return { body: toTaskView(task) };
      },
    }),
    defineRoute({
      id: 'tasks.cancel',
      method: 'POST',
      path: '/api/v1/tasks/:id/cancel',
      summary: 'Cancel: a queued task at once; a leased one via its next heartbeat (final on report or lease expiry); idempotent',
      tags: ['tasks'],
      auth: { kind: 'user', scope: 'write' },
      params: idParams,
      query: tenantQuery,
      body: z.strictObject({}),
      auditResource: { type: 'task', param: 'id' },
      responses: { 200: taskView },
      handler: async ({ cp, principal, params, query }) => ({ body: toTaskView(await cancelTask(cp, writeScope(principal, query.tenant), params.id)) }),
    }),
    defineRoute({
      id: 'tasks.wait',
      method: 'GET',
      path: '/api/v1/tasks/:id/wait',
      summary: 'Long-poll until the task is terminal or timeout_ms passes; always 200 with the task as it is (check state)',
      tags: ['tasks'],
      auth: { kind: 'user', scope: 'read' },
      params: idParams,
      query: waitTaskQuery,
      responses: { 200: taskView },
      handler: async ({ cp, principal, params, query, reply }) => {
        const hungUp = new AbortController();
        reply.raw.once('close', () => {
          if (!reply.raw.writableFinished) hungUp.abort();
        });
        const task = await waitForTask(cp, readScope(principal, query.tenant), params.id, query.timeout_ms, hungUp.signal, options);
        return { body: toTaskView(task) };
      },
    }),
    defineRoute({
      id: 'tasks.artifacts',
      method: 'GET',
      path: '/api/v1/tasks/:id/artifacts',
      summary: "Objects under the task's prefix, each with a short-lived download URL; paginated",
      tags: ['tasks'],
      auth: { kind: 'user', scope: 'read' },
      params: idParams,
      query: taskArtifactsQuery,
      responses: { 200: taskArtifactsView },
      handler: async ({ cp, principal, params, query }) => ({
        body: await listTaskArtifacts(cp, readScope(principal, query.tenant), params.id, { limit: query.limit, cursor: query.cursor }),
      }),
    }),
  ];
}
