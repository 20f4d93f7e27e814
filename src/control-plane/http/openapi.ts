/**
 * The OpenAPI 3.1 document, generated from the same zod schemas that validate requests (JSON Schema
 * 2020-12 is OpenAPI 3.1's dialect, which is what zod emits).
 */
import { z } from 'zod';
import { STATUS_BY_CODE } from './errors.js';
import type { RouteDef } from './route.js';

const errorSchema = z.object({
  error: z.object({
    code: z.enum(Object.keys(STATUS_BY_CODE) as [string, ...string[]]),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});

function schemaOf(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const json = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;
  delete json.$schema;
  return json;
}

function parametersOf(schema: z.ZodType | undefined, where: 'path' | 'query') {
  if (!schema) return [];
  const json = schemaOf(schema, 'input') as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, s]) => ({
    name,
    in: where,
    required: where === 'path' || (json.required ?? []).includes(name),
    schema: s,
  }));
}

export function buildOpenApi(routes: RouteDef[], info: { version: string }): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const path = r.path.replace(/:([A-Za-z_]+)/g, '{$1}').replace(/\*$/, '{path}');
    const responses: Record<string, unknown> = {};
    for (const [status, schema] of Object.entries(r.responses)) {
      responses[status] = schema
        ? { description: `HTTP ${status}`, content: { 'application/json': { schema: schemaOf(schema, 'output') } } }
        : { description: `HTTP ${status}` };
    }
    responses.default = { description: 'error', content: { 'application/json': { schema: schemaOf(errorSchema, 'output') } } };
    const op: Record<string, unknown> = {
      operationId: r.id,
      summary: r.summary,
      tags: r.tags,
      parameters: [...parametersOf(r.params, 'path'), ...parametersOf(r.query, 'query')],
      responses,
      security: securityOf(r),
    };
    if (r.body) op.requestBody = { required: true, content: { 'application/json': { schema: schemaOf(r.body, 'input') } } };
    if (r.rawBody) op.requestBody = { required: true, content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } };
    (paths[path] ??= {})[r.method.toLowerCase()] = op;
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Drover control plane API', version: info.version },
    paths,
    components: {
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: 'An API key (drv_…); X-API-Key is accepted too.' },
        workerToken: { type: 'apiKey', in: 'header', name: 'X-Worker-Token', description: 'Worker token, with X-Worker-ID.' },
        metricsToken: { type: 'http', scheme: 'bearer', description: 'metrics.token, when configured.' },
      },
    },
  };
}

function securityOf(r: RouteDef): Record<string, string[]>[] {
  switch (r.auth.kind) {
    case 'user':
      return [{ apiKey: [r.auth.scope] }];
    case 'worker':
      return [{ workerToken: [r.auth.scope] }];
    case 'metrics':
      return [{}, { metricsToken: [] }];
    default:
      return [];
  }
}
