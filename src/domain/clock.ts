/**
 * Time as a collaborator. Business logic asks an injected Clock instead of reading the wall clock, so
 * tests drive time by hand and never sleep to make something expire.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that moves only when told to; for tests. */
export class ManualClock implements Clock {
  constructor(private current = Date.UTC(2030, 0, 1)) {}
  now(): number {
    return this.current;
  }
  advance(ms: number): void {
    this.current += ms;
  }
  set(ms: number): void {
    this.current = ms;
  }
}

/** RFC 3339 with milliseconds, always UTC: how times leave the system. */
export function toRfc3339(ms: number): string {
  return new Date(ms).toISOString();
}
