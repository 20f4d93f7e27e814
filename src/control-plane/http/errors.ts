/**
 * The one place domain errors become HTTP. Codes and statuses are the table of 02-api.md; nothing else
 * in the code base picks a status for an error.
 */
import { DroverError, type ErrorCode } from '../../domain/errors.js';

export const STATUS_BY_CODE: Record<ErrorCode, number> = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  lease_lost: 409,
  lease_conflict: 409,
  payload_too_large: 413,
  rate_limited: 429,
  quota_exceeded: 429,
  no_capacity: 503,
  worker_unavailable: 503,
  timeout: 504,
  unavailable: 503,
  internal: 500,
};

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: Record<string, unknown> };
}

/** Errors from the store or a dependency we classify, or anything else: an internal error. */
export function toHttpError(err: unknown, isUnavailable: (err: unknown) => boolean): { status: number; body: ErrorBody } {
  if (err instanceof DroverError) {
    const body: ErrorBody = { error: { code: err.code, message: err.message } };
    if (err.details) body.error.details = err.details;
    return { status: STATUS_BY_CODE[err.code], body };
  }
  const fastify = fastifyError(err);
  if (fastify) return fastify;
  if (isUnavailable(err)) {
    return { status: 503, body: { error: { code: 'unavailable', message: 'the store is unavailable; retry shortly' } } };
  }
  // No stack, no message from inside: it may carry a query, a DSN or a secret.
  return { status: 500, body: { error: { code: 'internal', message: 'internal error' } } };
}

/** Errors Fastify raises before our handler runs (body too large, bad JSON, wrong content type). */
function fastifyError(err: unknown): { status: number; body: ErrorBody } | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, body: { error: { code: 'payload_too_large', message: 'request body is too large' } } };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 400, body: { error: { code: 'bad_request', message: 'unsupported content type; send application/json' } } };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { status: 400, body: { error: { code: 'bad_request', message: 'request body is not valid JSON' } } };
    default:
      if ((err as { statusCode?: unknown }).statusCode === 400 && err instanceof SyntaxError) {
        return { status: 400, body: { error: { code: 'bad_request', message: 'request body is not valid JSON' } } };
      }
      return undefined;
  }
}

export class Unauthorized extends DroverError {
  constructor(message = 'missing or invalid credentials') {
    super('unauthorized', message);
  }
}

export class Forbidden extends DroverError {
  constructor(message = 'not allowed') {
    super('forbidden', message);
  }
}

export class RateLimited extends DroverError {
  constructor(readonly retryAfterSeconds: number) {
    super('rate_limited', 'too many requests', { retry_after_s: retryAfterSeconds });
  }
}

export class PayloadTooLarge extends DroverError {
  constructor(message = 'request body is too large') {
    super('payload_too_large', message);
  }
}
