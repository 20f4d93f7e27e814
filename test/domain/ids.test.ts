import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isId, newId, WORKER_ID_PATTERN } from '../../src/domain/ids.js';
import { decideLeaseExpiry, decideReport, retryDelayMs } from '../../src/domain/tasks/decide.js';

describe('ids', () => {
  it('are prefixed, 26 characters of Crockford base32, and sort by time', () => {
    const a = newId('sbx', 1_700_000_000_000);
    const b = newId('sbx', 1_700_000_000_001);
    assert.match(a, /^sbx_[0-9A-HJKMNP-TV-Z]{26}$/);
    assert.ok(a < b);
    assert.ok(isId(a, 'sbx'));
    assert.ok(!isId(a, 'tsk'));
  });
  it('carry 80 random bits', () => {
    const seen = new Set(Array.from({ length: 1000 }, () => newId('tsk', 0).slice(14)));
    assert.equal(seen.size, 1000);
    assert.equal(newId('tsk', 0, () => Buffer.alloc(10, 0xff)).slice(14), 'ZZZZZZZZZZZZZZZZ');
  });
  it('worker ids follow the operator pattern', () => {
    assert.ok(WORKER_ID_PATTERN.test('gpu-box.01_a'));
    assert.ok(!WORKER_ID_PATTERN.test('-leading'));
    assert.ok(!WORKER_ID_PATTERN.test('UPPER'));
    assert.ok(!WORKER_ID_PATTERN.test('a'.repeat(64)));
  });
});

describe('task attempt decisions', () => {
  const facts = { attempt: 1, maxAttempts: 3, retryBackoffMs: 1000, cancelRequested: false };
  it('retry with exponential backoff until attempts run out', () => {
    assert.deepEqual(decideReport(facts, { failed: { retryable: true } }), { state: 'queued', delayMs: 1000 });
    assert.deepEqual(decideReport({ ...facts, attempt: 2 }, { failed: { retryable: true } }), { state: 'queued', delayMs: 2000 });
    assert.deepEqual(decideReport({ ...facts, attempt: 3 }, { failed: { retryable: true } }), { state: 'failed', reason: 'attempts_exhausted' });
    assert.deepEqual(decideReport(facts, { failed: { retryable: false } }), { state: 'failed', reason: 'not_retryable' });
    assert.equal(retryDelayMs(100, 1000), 3_600_000);
  });
  it('a pending cancel becomes final when the lease expires', () => {
    assert.deepEqual(decideLeaseExpiry({ ...facts, cancelRequested: true }), { state: 'cancelled' });
    assert.deepEqual(decideLeaseExpiry(facts), { state: 'queued', delayMs: 1000 });
  });
});
