/**
 * The few named domain errors. They carry a stable `code`; the HTTP edge maps codes to statuses in one
 * table (control-plane/http/errors.ts), so nothing below the edge knows about HTTP.
 */
export type ErrorCode =
  | 'bad_request'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'lease_lost'
  | 'lease_conflict'
  | 'payload_too_large'
  | 'rate_limited'
  | 'quota_exceeded'
  | 'no_capacity'
  | 'worker_unavailable'
  | 'timeout'
  | 'unavailable'
  | 'internal';

export class DroverError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Another holder has an unexpired lease on the resource. */
export class LeaseConflict extends DroverError {
  constructor(resource: string, details?: Record<string, unknown>) {
    super('lease_conflict', `lease on ${resource} is held by another holder`, details);
  }
}

/** The caller's lease is gone: expired, taken over, released, or its generation is stale. */
export class LeaseLost extends DroverError {
  constructor(resource: string, details?: Record<string, unknown>) {
    super('lease_lost', `lease on ${resource} is no longer held at that generation`, details);
  }
}

export class NotFound extends DroverError {
  constructor(what: string) {
    super('not_found', `${what} not found`);
  }
}

export class Conflict extends DroverError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('conflict', message, details);
  }
}

export class BadRequest extends DroverError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('bad_request', message, details);
  }
}

/** The store (or another dependency we cannot do without) is unreachable; callers should retry. */
export class Unavailable extends DroverError {
  constructor(message: string) {
    super('unavailable', message);
  }
}
