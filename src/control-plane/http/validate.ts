import type { z } from 'zod';
import { BadRequest } from '../../domain/errors.js';

/** Parse `value` with `schema`, or throw 400 with one `details` entry per offending field. */
export function validate<T>(schema: z.ZodType<T> | undefined, value: unknown, where: 'params' | 'query' | 'body'): T {
  if (!schema) return value as T;
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const fields: Record<string, string> = {};
  for (const issue of result.error.issues) {
    // zod reports every unknown key in one issue; the API promises one detail per offending field.
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) fields[[where, ...issue.path.map(String), key].join('.')] ??= 'unknown field';
      continue;
    }
    const path = [where, ...issue.path.map(String)].join('.');
    fields[path] ??= issue.message;
  }
  const first = Object.entries(fields)[0];
  throw new BadRequest(first ? `invalid ${first[0]}: ${first[1]}` : `invalid ${where}`, { fields });
}
