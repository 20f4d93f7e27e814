/** What a settled handler reports: pure, from how it settled and why its signal aborted. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NonRetryableError } from '../../../src/sdk/task-worker/errors.js';
import { decideOutcome, DEFAULT_MAX_OUTPUT_BYTES, errorOf } from '../../../src/sdk/task-worker/outcome.js';
import { backoffMs, LEASE_BACKOFF } from '../../../src/sdk/task-worker/backoff.js';

const ok = (value: unknown) => ({ ok: true as const, value });
const threw = (error: unknown) => ({ ok: false as const, error });
const MAX = DEFAULT_MAX_OUTPUT_BYTES;

describe('task outcome', () => {
  it('a returned value is reported as the output, exactly as JSON keeps it', () => {
    assert.deepEqual(decideOutcome(ok({ n: 1, s: 'x' }), undefined, MAX), { report: { status: 'succeeded', output: { n: 1, s: 'x' } } });
    const at = new Date(0);
    assert.deepEqual(decideOutcome(ok({ at, gone: undefined }), undefined, MAX), { report: { status: 'succeeded', output: { at: at.toISOString() } } });
    assert.deepEqual(decideOutcome(ok(undefined), undefined, MAX), { report: { status: 'succeeded' } });
    assert.deepEqual(decideOutcome(ok(null), undefined, MAX), { report: { status: 'succeeded', output: null } });
  });

  it('output that is not JSON, or too large, fails without retry and says why', () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    for (const bad of [circular, { n: 10n }, () => 1, Symbol('s')]) {
      const d = decideOutcome(ok(bad), undefined, MAX);
      assert.equal(d.report?.status, 'failed');
      assert.ok(d.report?.status === 'failed' && d.report.error.retryable === false && d.report.error.code === 'output_invalid', JSON.stringify(d));
    }
    const big = decideOutcome(ok('x'.repeat(100)), undefined, 50);
    assert.ok(big.report?.status === 'failed');
    assert.equal(big.report.error.code, 'output_too_large');
    assert.equal(big.report.error.retryable, false);
    assert.match(big.report.error.message, /102 bytes, over the 50-byte limit.*artifacts\.put/);
    assert.equal(decideOutcome(ok('x'.repeat(48)), undefined, 50).report?.status, 'succeeded', '50 bytes with the quotes is within the limit');
  });

  it('a thrown error fails the attempt, retryable unless it says otherwise', () => {
    assert.deepEqual(decideOutcome(threw(new Error('boom')), undefined, MAX), { report: { status: 'failed', error: { message: 'boom', retryable: true } } });
    assert.deepEqual(decideOutcome(threw(new NonRetryableError('bad input', { code: 'E_INPUT' })), undefined, MAX), {
      report: { status: 'failed', error: { message: 'bad input', retryable: false, code: 'E_INPUT' } },
    });
    const marked = Object.assign(new Error('quota'), { retryable: false, code: 'QUOTA' });
    assert.deepEqual(errorOf(marked), { message: 'quota', retryable: false, code: 'QUOTA' });
    assert.deepEqual(errorOf('plain string'), { message: 'plain string', retryable: true });
    assert.equal(errorOf(new Error('x'.repeat(20_000))).message.length, 16_384, 'clipped to what the wire accepts');
    assert.equal(errorOf(Object.assign(new Error('e'), { code: 42 })).code, undefined, 'a non-string code is not sent');
  });

  it('an aborted signal decides, whatever the handler did afterwards', () => {
    for (const settled of [ok({ partial: true }), threw(new Error('aborted'))]) {
      assert.deepEqual(decideOutcome(settled, { kind: 'cancelled' }, MAX), { report: { status: 'cancelled' } });
      assert.deepEqual(decideOutcome(settled, { kind: 'lease_lost' }, MAX), { report: null, reason: 'lease_lost' });
      assert.deepEqual(decideOutcome(settled, { kind: 'shutdown' }, MAX), { report: null, reason: 'shutdown' });
      assert.deepEqual(decideOutcome(settled, { kind: 'deadline' }, MAX), { report: null, reason: 'deadline' }, 'the sweep ends it as expired');
    }
  });
});

describe('lease backoff', () => {
  it('doubles to the cap with equal jitter', () => {
    assert.deepEqual([1, 2, 3, 4].map((f) => backoffMs(f, () => 0, LEASE_BACKOFF)), [250, 500, 1_000, 2_000]);
    assert.deepEqual([1, 2, 3, 4].map((f) => backoffMs(f, () => 0.999999, LEASE_BACKOFF)), [500, 1_000, 2_000, 4_000]);
    assert.equal(backoffMs(50, () => 0.5, LEASE_BACKOFF), 22_500);
    assert.ok(backoffMs(1_000, () => 0.999999, LEASE_BACKOFF) <= LEASE_BACKOFF.maxMs);
  });
});
