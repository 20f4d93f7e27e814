/**
 * The history checker (support/history.ts) on hand-made histories: each invariant it guards is shown
 * both holding and broken, so a checker that passes everything would fail here.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkHistory, formatHistory, parseHistory, type HistoryRecord, type WriteRecord } from '../support/history.js';

const submit = (task: string, at = 0): HistoryRecord => ({ op: 'submit', task, at });
const lease = (task: string, gen: number, worker: string, at: number, sent = at - 1): HistoryRecord => ({ op: 'lease', task, gen, worker, sent, at });
const write = (w: Omit<WriteRecord, 'op'>): HistoryRecord => ({ op: 'write', ...w });
const report = (task: string, gen: number, worker: string, sent: number, status: number, extra: Partial<WriteRecord> = {}): HistoryRecord =>
  write({ kind: 'report', task, gen, worker, sent, at: sent + 1, status, outcome: 'succeeded', ...(status === 200 ? { state: 'succeeded', replay: false } : { code: 'lease_lost' }), ...extra });
const heartbeat = (task: string, gen: number, worker: string, sent: number, status: number): HistoryRecord =>
  write({ kind: 'heartbeat', task, gen, worker, sent, at: sent + 1, status });
const final = (task: string, state: string, gen: number, attempt = gen): HistoryRecord => ({ op: 'final', task, state, gen, attempt, worker: 'w' });

/** A task run twice: w1 leased it at gen 1, stalled; w2 got gen 2 at t=100 and completed at t=150. */
const takenOver = (): HistoryRecord[] => [
  submit('t1'),
  lease('t1', 1, 'w1', 10),
  heartbeat('t1', 1, 'w1', 20, 200),
  lease('t1', 2, 'w2', 100),
  report('t1', 2, 'w2', 140, 200),
  final('t1', 'succeeded', 2),
];

describe('history checker', () => {
  it('accepts a clean run, and counts completions', () => {
    const r = checkHistory([submit('a'), lease('a', 1, 'w', 1), heartbeat('a', 1, 'w', 2, 200), report('a', 1, 'w', 3, 200), final('a', 'succeeded', 1)], { expectState: 'succeeded' });
    assert.deepEqual(r.violations, []);
    assert.equal(r.ok, true);
    assert.equal(r.stats.completions, 1);
    assert.equal(r.stats.tasks, 1);
  });

  it('a stale write that was refused is the fence working, not a violation', () => {
    const r = checkHistory([...takenOver(), heartbeat('t1', 1, 'w1', 160, 409), report('t1', 1, 'w1', 170, 409)], { expectState: 'succeeded' });
    assert.deepEqual(r.violations, []);
    assert.equal(r.stats.staleRefused, 2);
    assert.equal(r.stats.staleAccepted, 0);
  });

  it('flags a stale heartbeat, presign or report that was accepted', () => {
    for (const kind of ['heartbeat', 'presign'] as const) {
      const r = checkHistory([...takenOver(), write({ kind, task: 't1', gen: 1, worker: 'w1', sent: 120, at: 121, status: 200 })]);
      assert.equal(r.ok, false, kind);
      assert.equal(r.stats.staleAccepted, 1);
      assert.match(r.violations.join('\n'), new RegExp(`stale ${kind} at generation 1 from w1 was accepted`));
    }
    const late = checkHistory([...takenOver(), report('t1', 1, 'w1', 120, 200, { state: 'leased' })]);
    assert.equal(late.stats.staleAccepted, 1);
  });

  it('flags a write accepted after the task was completed by another generation', () => {
    // No newer lease is in the history (say the line was lost), but the completion is.
    const r = checkHistory([submit('a'), lease('a', 1, 'w1', 1), report('a', 1, 'w1', 5, 200), heartbeat('a', 1, 'w1', 10, 200), final('a', 'succeeded', 1)]);
    assert.equal(r.ok, false);
    assert.match(r.violations.join('\n'), /sent after the task was completed/);
  });

  it('does not judge a write sent in the same millisecond as the newer lease', () => {
    const r = checkHistory([...takenOver(), heartbeat('t1', 1, 'w1', 100, 200)]);
    assert.deepEqual(r.violations, []);
  });

  it('an idempotent replay of the accepted report is not a second completion', () => {
    const r = checkHistory([...takenOver(), report('t1', 2, 'w2', 200, 200, { replay: true })], { expectState: 'succeeded' });
    assert.deepEqual(r.violations, []);
    assert.equal(r.stats.replays, 1);
    assert.equal(r.stats.completions, 1);
  });

  it('flags two accepted completions of one task', () => {
    const r = checkHistory([submit('a'), lease('a', 1, 'w1', 1), report('a', 1, 'w1', 2, 200), lease('a', 2, 'w2', 1), report('a', 2, 'w2', 2, 200), final('a', 'succeeded', 2)]);
    assert.equal(r.ok, false);
    assert.match(r.violations.join('\n'), /2 accepted completions/);
  });

  it('flags a task that succeeded without a completion, or never ended as expected', () => {
    const none = checkHistory([submit('a'), lease('a', 1, 'w', 1), final('a', 'succeeded', 1)]);
    assert.match(none.violations.join('\n'), /succeeded without an accepted completion/);
    const wrong = checkHistory([submit('a'), lease('a', 1, 'w', 1), final('a', 'leased', 1)], { expectState: 'succeeded' });
    assert.match(wrong.violations.join('\n'), /ended leased, expected succeeded/);
    const missing = checkHistory([submit('a')]);
    assert.match(missing.violations.join('\n'), /no final state/);
  });

  it('flags a completion at another generation than the task ended with', () => {
    const r = checkHistory([submit('a'), lease('a', 1, 'w', 1), report('a', 1, 'w', 2, 200), final('a', 'succeeded', 2)]);
    assert.match(r.violations.join('\n'), /completed at generation 1 but the task's generation is 2/);
  });

  it('flags a generation granted twice, and generations going backwards', () => {
    const twice = checkHistory([submit('a'), lease('a', 1, 'w1', 1), lease('a', 1, 'w2', 2), report('a', 1, 'w1', 3, 200), final('a', 'succeeded', 1)]);
    assert.match(twice.violations.join('\n'), /generation 1 was granted twice/);
    const back = checkHistory([submit('a'), lease('a', 2, 'w1', 1), lease('a', 1, 'w2', 5), report('a', 2, 'w1', 3, 200), final('a', 'succeeded', 2)]);
    assert.match(back.violations.join('\n'), /generation went from 2 to 1/);
  });

  it('does not order leases by when a worker noted them: a paused worker notes its lease late', () => {
    // w1 asked at 0 and was granted gen 1, but was paused before noting it (at 50); w2 got gen 2 at 20.
    const r = checkHistory([submit('a'), lease('a', 1, 'w1', 50, 0), lease('a', 2, 'w2', 20, 15), report('a', 2, 'w2', 30, 200), final('a', 'succeeded', 2)]);
    assert.deepEqual(r.violations, []);
  });

  it('flags operations on a task that was never submitted', () => {
    const r = checkHistory([lease('ghost', 1, 'w', 1)]);
    assert.match(r.violations.join('\n'), /never submitted/);
  });

  it('round-trips through JSON lines', () => {
    const h = takenOver();
    assert.deepEqual(parseHistory(formatHistory(h)), h);
    assert.deepEqual(parseHistory(''), []);
  });
});
