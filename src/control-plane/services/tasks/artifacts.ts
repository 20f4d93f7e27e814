/**
 * `GET /api/v1/tasks/{id}/artifacts`: the objects under the task's prefix, each with a short-lived
 * download URL. Every object under the prefix is listed — the outputs of every attempt, not only the
 * keys the accepted report named (those are in the task's `artifacts`). The task is looked up in the
 * caller's tenant scope first, so another tenant's artifacts are a 404 like its task.
 */
import { toRfc3339 } from '../../../domain/clock.js';
import { NotFound } from '../../../domain/errors.js';
import type { TenantScope } from '../../../store/types.js';
import type { ControlPlane } from '../../deps.js';
import { taskPrefix } from '../../views/task.js';

/** Download URLs in a listing live this long (or `artifacts.max_url_ttl`, if shorter). */
export const ARTIFACT_URL_TTL_MS = 15 * 60 * 1000;

export interface ArtifactItem {
  key: string;
  size: number | null;
  url: string;
  expires_at: string;
}

export async function listTaskArtifacts(
  cp: ControlPlane,
  scope: TenantScope,
  id: string,
  page: { limit: number; cursor?: string | undefined },
): Promise<{ items: ArtifactItem[]; next_cursor: string | null }> {
  const task = await cp.store.tasks.getTask(scope, id);
  if (!task) throw new NotFound(`task ${id}`);
  const listed = await cp.blobs.list(taskPrefix(task.id), { limit: page.limit, cursor: page.cursor });
  const ttl = Math.min(ARTIFACT_URL_TTL_MS, cp.config.artifacts.max_url_ttl);
  const items = await Promise.all(
    listed.items.map(async (o) => {
      const signed = await cp.blobs.presign('get', o.key, ttl);
      return { key: o.key, size: o.size, url: signed.url, expires_at: toRfc3339(signed.expiresAt) };
    }),
  );
  return { items, next_cursor: listed.nextCursor ?? null };
}
