/**
 * Pure decisions behind the event stream: how far a stream's cursor may advance through what it read
 * from the event log, which events a caller may see, and how `?types=` is parsed.
 *
 * Why a cursor needs more than "the highest seq sent": on PostgreSQL `seq` is a sequence, and sequence
 * values are handed out at insert but become visible at commit, so seq 11 can be visible while seq 10
 * is still in flight. A stream that sent 11 and moved on would never send 10, and a client resuming
 * with Last-Event-ID 11 would never see it either. SQLite has one writer, so its seqs appear in order.
 *
 * The rule (one rule for both drivers, no driver check): the stream reads the log unfiltered and only
 * advances through contiguous seqs. At a gap it holds back everything after the gap until the missing
 * seq appears or the gap has stood for `settleMs`, after which the gap is taken to be permanent (a
 * rolled-back insert, or events removed by retention) and skipped. Without gaps, which is the normal
 * case and the only case on SQLite, events go out as soon as they are read; a gap delays one stream by
 * at most `settleMs` plus one poll. An insert whose transaction stays open longer than `settleMs` can
 * still be missed: events are appended outside long transactions (the event bus appends on its own).
 */
import type { EventRecord, TenantScope } from '../../store/types.js';
import { BadRequest } from '../../domain/errors.js';

/** A missing seq the stream is waiting for, and since when (the stream's monotonic time, ms). */
export interface Hold {
  seq: number;
  since: number;
}

export interface CursorState {
  /** Every seq up to here has been sent (or filtered out, or judged permanently missing). */
  cursor: number;
  hold: Hold | null;
}

/**
 * How many events at the head of `batch` (ascending seqs after `state.cursor`) may be sent now, and the
 * new state. Pure: the caller owns reading, time and writing.
 */
export function advance(state: CursorState, batch: readonly { seq: number }[], now: number, settleMs: number): { accepted: number; state: CursorState } {
  let { cursor, hold } = state;
  let accepted = 0;
  for (const event of batch) {
    const expected = cursor + 1;
    if (event.seq !== expected) {
      const waiting = hold !== null && hold.seq === expected ? hold : { seq: expected, since: now };
      if (now - waiting.since < settleMs) return { accepted, state: { cursor, hold: waiting } };
    }
    cursor = event.seq;
    hold = null;
    accepted++;
  }
  return { accepted, state: { cursor, hold } };
}

/** Exact event types, or every type under a prefix (`sandbox.*`). */
export interface TypeFilter {
  exact: ReadonlySet<string>;
  prefixes: readonly string[];
}

const TYPE_PATTERN = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*(\.\*)?$/;
const MAX_TYPES = 50;

/** `?types=sandbox.running,task.*`; undefined (no filter) when absent or empty. */
export function parseTypes(raw: string | undefined): TypeFilter | undefined {
  const names = (raw ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (names.length === 0) return undefined;
  if (names.length > MAX_TYPES) throw new BadRequest(`types: at most ${MAX_TYPES} entries`);
  const bad = names.find((n) => n.length > 100 || !TYPE_PATTERN.test(n));
  if (bad !== undefined) throw new BadRequest(`types: "${bad.slice(0, 100)}" is not an event type or a prefix like sandbox.*`);
  return {
    exact: new Set(names.filter((n) => !n.endsWith('.*'))),
    prefixes: names.filter((n) => n.endsWith('.*')).map((n) => n.slice(0, -1)),
  };
}

/**
 * Whether a caller with `scope` sees `event`: the same rule as the store's listEvents (a tenant sees
 * its own events; tenant-less ones, such as worker.*, only the all-tenants scope), applied here because
 * the stream reads the log unfiltered to see its gaps.
 */
export function visible(event: EventRecord, scope: TenantScope, types: TypeFilter | undefined): boolean {
  if (scope.kind === 'tenant' && event.tenantId !== scope.tenantId) return false;
  if (!types) return true;
  return types.exact.has(event.type) || types.prefixes.some((p) => event.type.startsWith(p));
}

/**
 * Where a stream starts: after the Last-Event-ID header (an EventSource reconnecting sends it, and it
 * wins over the URL it reconnects to), else after `?after=`; undefined means "from now on".
 */
export function resumePoint(lastEventId: string | string[] | undefined, after: number | undefined): number | undefined {
  const header = Array.isArray(lastEventId) ? lastEventId[0] : lastEventId;
  if (header !== undefined && header.trim() !== '') {
    if (!/^\d{1,15}$/.test(header.trim())) throw new BadRequest('Last-Event-ID must be an event sequence number');
    return Number(header.trim());
  }
  return after;
}
