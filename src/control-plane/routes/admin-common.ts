/**
 * Schemas and small helpers shared by the administration routes (keys, worker tokens, tenants, quota,
 * audit). The wire shapes are in protocol/admin.ts (shared with the SDK); only the request-side helpers
 * that more than one admin file needs are here.
 */
import { z } from 'zod';
import { toRfc3339 } from '../../domain/clock.js';
import { tenantId } from '../../protocol/admin.js';
import type { Page } from '../../store/types.js';

/** `?limit=&cursor=` as 02-api.md fixes them (query strings arrive as strings). */
export const pageQuery = {
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().max(512).optional(),
};

/** An admin narrowing a list to one tenant. */
export const tenantQuery = { tenant: tenantId.optional() };

export const idParams = z.strictObject({ id: z.string().min(1).max(128) });

export const time = (ms: number): string => toRfc3339(ms);
export const timeOrNull = (ms: number | null): string | null => (ms === null ? null : toRfc3339(ms));

export function listBody<T, V>(page: Page<T>, view: (item: T) => V): { items: V[]; next_cursor: string | null } {
  return { items: page.items.map(view), next_cursor: page.nextCursor };
}
