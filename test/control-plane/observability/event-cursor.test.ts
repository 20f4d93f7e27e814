import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { advance, parseTypes, resumePoint, visible, type CursorState } from '../../../src/control-plane/observability/event-cursor.js';
import type { EventRecord } from '../../../src/store/types.js';

const seqs = (...s: number[]) => s.map((seq) => ({ seq }));
const at = (cursor: number): CursorState => ({ cursor, hold: null });
const SETTLE = 2_000;

describe('event cursor: advancing through the log', () => {
  it('contiguous seqs all go out at once', () => {
    assert.deepEqual(advance(at(10), seqs(11, 12, 13), 0, SETTLE), { accepted: 3, state: at(13) });
    assert.deepEqual(advance(at(10), [], 0, SETTLE), { accepted: 0, state: at(10) });
  });

  it('holds back everything after a gap until the missing seq appears', () => {
    const first = advance(at(10), seqs(11, 13, 14), 100, SETTLE);
    assert.deepEqual(first, { accepted: 1, state: { cursor: 11, hold: { seq: 12, since: 100 } } });
    // Still missing a moment later: still held, and the hold keeps its original start.
    const second = advance(first.state, seqs(13, 14), 1_000, SETTLE);
    assert.deepEqual(second, { accepted: 0, state: { cursor: 11, hold: { seq: 12, since: 100 } } });
    // The in-flight insert committed: everything goes, in order.
    assert.deepEqual(advance(second.state, seqs(12, 13, 14), 1_500, SETTLE), { accepted: 3, state: at(14) });
  });

  it('skips a gap that has stood for the settle window (a rolled-back insert, pruned events)', () => {
    const held = advance(at(10), seqs(12, 13), 100, SETTLE).state;
    assert.deepEqual(advance(held, seqs(12, 13), 100 + SETTLE - 1, SETTLE).accepted, 0);
    assert.deepEqual(advance(held, seqs(12, 13), 100 + SETTLE, SETTLE), { accepted: 2, state: at(13) });
  });

  it('a later gap starts its own hold', () => {
    const held = advance(at(10), seqs(12, 13, 15), 100, SETTLE).state;
    const step = advance(held, seqs(12, 13, 15), 100 + SETTLE, SETTLE);
    assert.deepEqual(step, { accepted: 2, state: { cursor: 13, hold: { seq: 14, since: 100 + SETTLE } } });
  });
});

describe('event cursor: visibility, ?types=, resume point', () => {
  const event = (type: string, tenantId: string | null): EventRecord => ({ seq: 1, at: 0, type, tenantId, resourceType: null, resourceId: null, data: {} });

  it('a tenant sees its own events only; the all-tenants scope sees tenant-less ones too', () => {
    const a = { kind: 'tenant', tenantId: 'a' } as const;
    assert.equal(visible(event('sandbox.created', 'a'), a, undefined), true);
    assert.equal(visible(event('sandbox.created', 'b'), a, undefined), false);
    assert.equal(visible(event('worker.online', null), a, undefined), false);
    assert.equal(visible(event('worker.online', null), { kind: 'all' }, undefined), true);
  });

  it('types: exact names and families', () => {
    const f = parseTypes(' sandbox.running , task.* ,');
    assert.ok(f);
    const all = { kind: 'all' } as const;
    assert.equal(visible(event('sandbox.running', 'a'), all, f), true);
    assert.equal(visible(event('sandbox.stopped', 'a'), all, f), false);
    assert.equal(visible(event('task.succeeded', 'a'), all, f), true);
    assert.equal(visible(event('taskish.x', 'a'), all, f), false);
    assert.equal(parseTypes(undefined), undefined);
    assert.equal(parseTypes(' , '), undefined);
    assert.throws(() => parseTypes('sandbox running'), /types/);
    assert.throws(() => parseTypes('*'), /types/);
    assert.throws(() => parseTypes(Array(51).fill('a').join(',')), /at most/);
  });

  it('Last-Event-ID wins over ?after=; neither means from now on', () => {
    assert.equal(resumePoint('42', 7), 42);
    assert.equal(resumePoint(undefined, 7), 7);
    assert.equal(resumePoint('', 7), 7);
    assert.equal(resumePoint(undefined, undefined), undefined);
    assert.throws(() => resumePoint('-1', undefined), /Last-Event-ID/);
    assert.throws(() => resumePoint('1e3', undefined), /Last-Event-ID/);
  });
});
