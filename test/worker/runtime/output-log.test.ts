import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BadRequest } from '../../../src/domain/errors.js';
import type { OutputFrame } from '../../../src/worker/runtime/frames.js';
import { toWireFrame } from '../../../src/worker/runtime/frames.js';
import { OutputLog } from '../../../src/worker/runtime/output-log.js';
import { collect } from './support/runtime.js';

const OVERHEAD = 64; // the per-chunk accounting cost in output-log.ts

function describeFrames(frames: OutputFrame[]): string[] {
  return frames.map((f) =>
    f.kind === 'data' ? `${f.seq}:${f.stream}:${f.data.toString()}` : f.kind === 'exit' ? `${f.seq}:exit:${f.exitCode}` : `gap:${f.from}-${f.to}`,
  );
}

describe('OutputLog', () => {
  it('numbers chunks from 1 across both streams and replays after a sequence number', async () => {
    const log = new OutputLog();
    log.append('stdout', Buffer.from('a'));
    log.append('stderr', Buffer.from('b'));
    log.append('stdout', Buffer.from('c'));
    log.finish({ exitCode: 0, signal: null });
    assert.deepEqual(describeFrames(await collect(log.read())), ['1:stdout:a', '2:stderr:b', '3:stdout:c', '4:exit:0']);
    assert.deepEqual(describeFrames(await collect(log.read({ afterSeq: 2 }))), ['3:stdout:c', '4:exit:0']);
    assert.deepEqual(describeFrames(await collect(log.read({ afterSeq: 3 }))), ['4:exit:0']);
    assert.deepEqual(await collect(log.read({ afterSeq: 4 })), []);
  });

  it('without follow stops at what is there; the exit frame only once the process exited', async () => {
    const log = new OutputLog();
    log.append('stdout', Buffer.from('x'));
    assert.deepEqual(describeFrames(await collect(log.read())), ['1:stdout:x']);
    assert.deepEqual(await collect(log.read({ afterSeq: 1 })), []);
  });

  it('refuses an after_seq beyond what exists', () => {
    const log = new OutputLog();
    log.append('stdout', Buffer.from('x'));
    assert.throws(() => log.read({ afterSeq: 2 }), BadRequest);
    assert.throws(() => log.read({ afterSeq: -1 }), BadRequest);
    assert.throws(() => log.read({ afterSeq: 0.5 }), BadRequest);
    log.finish({ exitCode: 0, signal: null });
    assert.doesNotThrow(() => log.read({ afterSeq: 2 }));
    assert.throws(() => log.read({ afterSeq: 3 }), BadRequest);
  });

  it('follows live output and ends with the exit frame after the last chunk', async () => {
    const log = new OutputLog();
    const seen: string[] = [];
    const reading = (async () => {
      for await (const frame of log.read({ follow: true })) {
        seen.push(describeFrames([frame])[0]!);
        if (frame.kind === 'data' && frame.seq === 1) {
          log.append('stdout', Buffer.from('second'));
          log.finish({ exitCode: 7, signal: null });
          log.append('stdout', Buffer.from('after exit: ignored'));
        }
      }
    })();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(seen, [], 'nothing yet, and the reader is waiting rather than finished');
    log.append('stdout', Buffer.from('first'));
    await reading;
    assert.deepEqual(seen, ['1:stdout:first', '2:stdout:second', '3:exit:7']);
  });

  it('drops the oldest chunks past capacity and announces them with a gap frame first', async () => {
    const log = new OutputLog(3 * (10 + OVERHEAD));
    for (let i = 1; i <= 10; i++) log.append('stdout', Buffer.from(`chunk-${String(i).padStart(4, '0')}`)); // 10 bytes each
    assert.equal(log.firstSeq, 8);
    assert.equal(log.lastSeq, 10);
    log.finish({ exitCode: 0, signal: null });
    const frames = await collect(log.read());
    assert.deepEqual(describeFrames(frames), ['gap:1-7', '8:stdout:chunk-0008', '9:stdout:chunk-0009', '10:stdout:chunk-0010', '11:exit:0']);
    assert.deepEqual(toWireFrame(frames[0]!), { type: 'gap', from: 1, to: 7 });
    // A reader resuming inside the retained range sees no gap.
    assert.deepEqual(describeFrames(await collect(log.read({ afterSeq: 7 }))), ['8:stdout:chunk-0008', '9:stdout:chunk-0009', '10:stdout:chunk-0010', '11:exit:0']);
    // One resuming just before it sees exactly the missing part.
    assert.deepEqual(describeFrames(await collect(log.read({ afterSeq: 5 }))).slice(0, 2), ['gap:6-7', '8:stdout:chunk-0008']);
  });

  it('gives a slow reader that fell out of the ring a gap mid-stream, never a silent hole', async () => {
    const log = new OutputLog(4 * (1 + OVERHEAD));
    log.append('stdout', Buffer.from('1'));
    log.append('stdout', Buffer.from('2'));
    const iterator = log.read({ follow: true })[Symbol.asyncIterator]();
    assert.equal(describeFrames([(await iterator.next()).value as OutputFrame])[0], '1:stdout:1');
    // The reader pauses; the process writes on (never blocked) and the ring moves past the reader.
    for (let i = 3; i <= 12; i++) log.append('stdout', Buffer.from(String(i % 10)));
    log.finish({ exitCode: 0, signal: null });
    const rest: OutputFrame[] = [];
    for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) rest.push(next.value);
    assert.deepEqual(describeFrames(rest), ['gap:2-8', '9:stdout:9', '10:stdout:0', '11:stdout:1', '12:stdout:2', '13:exit:0']);
  });

  it('serves concurrent followers the same frames', async () => {
    const log = new OutputLog();
    const readers = [0, 0, 0].map(() => collect(log.read({ follow: true })));
    for (let i = 0; i < 100; i++) {
      log.append(i % 2 === 0 ? 'stdout' : 'stderr', Buffer.from(`line ${i}\n`));
      if (i % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    log.finish({ exitCode: null, signal: 'SIGTERM' });
    const results = await Promise.all(readers);
    for (const frames of results) {
      assert.equal(frames.length, 101);
      assert.deepEqual(describeFrames(frames), describeFrames(results[0]!));
    }
    assert.deepEqual(toWireFrame(results[0]!.at(-1)!), { seq: 101, type: 'exit', exit_code: null, signal: 'SIGTERM' });
  });

  it('splits chunks larger than 64 KiB into several sequence numbers', async () => {
    const log = new OutputLog();
    log.append('stdout', Buffer.alloc(64 * 1024 * 2 + 1, 1));
    assert.equal(log.lastSeq, 3);
    const frames = await collect(log.read());
    assert.deepEqual(
      frames.map((f) => (f.kind === 'data' ? f.data.length : -1)),
      [65536, 65536, 1],
    );
  });

  it('ends a follower when its signal aborts', async () => {
    const log = new OutputLog();
    const controller = new AbortController();
    const reading = collect(log.read({ follow: true, signal: controller.signal }));
    log.append('stdout', Buffer.from('x'));
    await new Promise((resolve) => setImmediate(resolve));
    controller.abort();
    assert.deepEqual(describeFrames(await reading), ['1:stdout:x']);
  });
});
