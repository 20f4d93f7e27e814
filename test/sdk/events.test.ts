/** The SDK's event stream: SSE frames parsed incrementally, iterated from a real control plane, resumed. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DroverApiError, type DroverEvent } from '../../src/sdk/index.js';
import { SseParser } from '../../src/sdk/sse.js';
import { sdkHarness, type SdkHarness } from './support.js';

describe('sdk: SSE parser', () => {
  const wire = 'retry: 2000\n\n: keepalive\n\nid: 7\nevent: worker.cordoned\ndata: {"seq":7}\n\nid: 8\nevent: worker.uncordoned\ndata: {"seq":8}\n\n';

  it('parses events, skips comments and retry-only blocks, and keeps the last id', () => {
    const p = new SseParser();
    const out = p.push(wire);
    assert.deepEqual(out, [
      { id: '7', event: 'worker.cordoned', data: '{"seq":7}' },
      { id: '8', event: 'worker.uncordoned', data: '{"seq":8}' },
    ]);
    assert.equal(p.lastEventId, '8');
    assert.equal(p.retryMs, 2000);
  });

  it('gives the same events whichever way the bytes are split, with CRLF and CR line ends', () => {
    for (const ending of ['\n', '\r\n', '\r']) {
      const text = wire.replaceAll('\n', ending);
      const whole = new SseParser().push(text);
      for (let cut = 1; cut < text.length; cut++) {
        const p = new SseParser();
        const got = [...p.push(text.slice(0, cut)), ...p.push(text.slice(cut))];
        assert.deepEqual(got, whole, `split at ${cut} with ${JSON.stringify(ending)}`);
      }
    }
  });

  it('joins multi-line data with newlines and defaults the event name', () => {
    assert.deepEqual(new SseParser().push('data: a\ndata:b\n\n'), [{ id: undefined, event: 'message', data: 'a\nb' }]);
    assert.deepEqual(new SseParser().push('data: incomplete\n'), [], 'no event before the blank line');
  });
});

describe('sdk: events.stream against a control plane', () => {
  let s: SdkHarness;
  before(async () => {
    s = await sdkHarness();
    await s.h.addWorker({ id: 'w-1' });
  });
  after(() => s.close());

  /** The next `n` events of an iterator, or a failure if the stream ends first. */
  async function take(it: AsyncIterator<DroverEvent>, n: number): Promise<DroverEvent[]> {
    const out: DroverEvent[] = [];
    while (out.length < n) {
      const r = await it.next();
      if (r.done) assert.fail(`the stream ended after ${out.length} events`);
      out.push(r.value);
    }
    return out;
  }

  it('yields events as they happen, filtered by type, and resumes after lastEventId', async () => {
    const stream = await s.operator.events.stream({ types: ['worker.*'] });
    const it = stream[Symbol.asyncIterator]();
    const pending = take(it, 2);
    await s.apiA.sandboxes.create({ wait: false }); // sandbox.* events: filtered out
    await s.operator.workers.cordon('w-1');
    await s.operator.workers.uncordon('w-1');
    const [first, second] = await pending;
    assert.equal(first!.type, 'worker.cordoned');
    assert.equal(first!.resource_id, 'w-1');
    assert.equal(second!.type, 'worker.uncordoned');
    assert.equal(stream.lastEventId, String(second!.seq));
    assert.equal(stream.retryMs, 2000);
    stream.close();
    assert.deepEqual(await it.next(), { done: true, value: undefined }, 'close() ends the iteration');

    // Resume: an event that happened while no stream was open arrives, and nothing before it again.
    await s.operator.workers.cordon('w-1');
    await s.operator.workers.uncordon('w-1');
    const resumed = await s.operator.events.stream({ after: stream.lastEventId, types: ['worker.*'] });
    const [next] = await take(resumed[Symbol.asyncIterator](), 1);
    assert.equal(next!.type, 'worker.cordoned');
    assert.ok(next!.seq > second!.seq);
    resumed.close();
  });

  it('ends a for-await loop when the caller aborts', async () => {
    const ac = new AbortController();
    const stream = await s.operator.events.stream({ after: 0, signal: ac.signal });
    const seen: string[] = [];
    for await (const e of stream) {
      seen.push(e.type);
      if (seen.length === 2) ac.abort();
    }
    assert.equal(seen.length, 2, 'the loop ended right after the abort');
  });

  it('a tenant key sees only its own tenant events', async () => {
    const stream = await s.apiB.events.stream({ after: 0 });
    const it = stream[Symbol.asyncIterator]();
    const pending = take(it, 1);
    const mine = await s.apiB.sandboxes.create({ wait: false });
    const [e] = await pending;
    assert.equal(e!.resource_id, mine.id, "tenant-a's earlier events and the workers' events are not visible");
    assert.equal(e!.tenant_id, 'tenant-b');
    stream.close();
  });

  it('a bad filter or a missing key throws at connect, as a DroverApiError', async () => {
    await assert.rejects(s.operator.events.stream({ types: ['not a type!'] }), (e: unknown) => e instanceof DroverApiError && e.code === 'bad_request');
    await assert.rejects(s.anonymous.events.stream(), (e: unknown) => e instanceof DroverApiError && e.status === 401);
  });
});
