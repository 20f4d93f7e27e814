import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BadRequest, Conflict, NotFound } from '../../../src/domain/errors.js';
import { isId } from '../../../src/domain/ids.js';
import type { OutputFrame } from '../../../src/worker/runtime/frames.js';
import { ProcessRegistry } from '../../../src/worker/runtime/processes.js';
import type { TestRuntime } from './support/runtime.js';
import { alive, collect, eventually, startRuntime } from './support/runtime.js';

/** Follow a process's output until `done(text)` holds; returns the text and the last sequence number. */
async function readUntil(
  registry: ProcessRegistry,
  id: string,
  afterSeq: number,
  done: (text: string) => boolean,
): Promise<{ text: string; lastSeq: number }> {
  let text = '';
  let lastSeq = afterSeq;
  for await (const frame of registry.read(id, { afterSeq, follow: true })) {
    if (frame.kind !== 'data') break;
    text += frame.data.toString();
    lastSeq = frame.seq;
    if (done(text)) break;
  }
  return { text, lastSeq };
}

function bytesOf(frames: OutputFrame[]): Buffer {
  return Buffer.concat(frames.flatMap((f) => (f.kind === 'data' ? [f.data] : [])));
}

describe('process registry', () => {
  let rt: TestRuntime;
  let registry: ProcessRegistry;
  before(async () => {
    rt = await startRuntime();
    registry = new ProcessRegistry({ target: rt.target, clock: rt.clock });
  });
  after(async () => {
    await registry.killAll();
    await rt.close();
  });

  it('starts a process with a prc_ id, takes stdin, and reports its exit', async () => {
    const info = await registry.start({ command: ['cat'] });
    assert.ok(isId(info.id, 'prc'));
    assert.equal(info.running, true);
    assert.equal(info.startedAt, rt.clock.now());
    assert.deepEqual(info.command, ['cat']);
    registry.write(info.id, Buffer.from('hello\n'));
    const { text } = await readUntil(registry, info.id, 0, (t) => t.includes('hello\n'));
    assert.equal(text, 'hello\n');
    registry.endInput(info.id);
    assert.deepEqual(await registry.waitExit(info.id), { exitCode: 0, signal: null });
    const status = registry.get(info.id);
    assert.equal(status.running, false);
    assert.equal(status.exitCode, 0);
    assert.equal(status.exitedAt, rt.clock.now());
    assert.throws(() => registry.write(info.id, Buffer.from('late')), Conflict);
    assert.equal(registry.signal(info.id, 'TERM'), false, 'signalling an exited process is a no-op');
    const frames = await collect(registry.read(info.id));
    assert.equal(frames.at(-1)?.kind, 'exit');
  });

  it('signals the process group and records the signal', async () => {
    const info = await registry.start({ command: 'sleep 60 & echo $!; wait' });
    const { text } = await readUntil(registry, info.id, 0, (t) => t.endsWith('\n'));
    const child = Number(text.trim());
    assert.equal(registry.signal(info.id, 'SIGTERM'), true);
    assert.deepEqual(await registry.waitExit(info.id), { exitCode: null, signal: 'SIGTERM' });
    await eventually(() => !alive(child), 'the background child to be gone (signal went to the group)');
    assert.ok(registry.list().some((p) => p.id === info.id && p.signal === 'SIGTERM'));
  });

  it('refuses unknown ids, bad signals and resizing a process without a terminal', async () => {
    assert.throws(() => registry.get('prc_00000000000000000000000000'), NotFound);
    assert.throws(() => registry.read('nope'), NotFound);
    const info = await registry.start({ command: ['sleep', '60'] });
    assert.throws(() => registry.signal(info.id, 'SIGNOPE'), BadRequest);
    assert.throws(() => registry.resize(info.id, 80, 24), Conflict);
    assert.throws(() => registry.resize(info.id, 0, 24), BadRequest);
    registry.signal(info.id, 'KILL');
    assert.equal((await registry.waitExit(info.id)).signal, 'SIGKILL');
  });

  it('runs a process on a PTY and resizes it', async () => {
    const info = await registry.start({ command: ['sh'], pty: { cols: 80, rows: 24 } });
    assert.equal(info.pty, true);
    registry.write(info.id, Buffer.from('stty size\n'));
    let seen = await readUntil(registry, info.id, 0, (t) => /24 80\r?\n/.test(t));
    assert.match(seen.text, /24 80/);
    registry.resize(info.id, 100, 40);
    registry.write(info.id, Buffer.from('stty size\n'));
    seen = await readUntil(registry, info.id, seen.lastSeq, (t) => /40 100\r?\n/.test(t));
    assert.match(seen.text, /40 100/);
    registry.write(info.id, Buffer.from('exit 5\n'));
    assert.deepEqual(await registry.waitExit(info.id), { exitCode: 5, signal: null });
    const frames = await collect(registry.read(info.id));
    assert.ok(frames.every((f) => f.kind !== 'data' || f.stream === 'stdout'), 'a terminal merges output into stdout');
  });

  it('keeps the newest output in a bounded ring and announces what fell out', async () => {
    const small = new ProcessRegistry({ target: rt.target, clock: rt.clock, ringBytes: 64 * 1024 });
    const info = await small.start({ command: "head -c 1048576 /dev/zero | tr '\\0' z; echo; echo tail" });
    await small.waitExit(info.id);
    const frames = await collect(small.read(info.id));
    const first = frames[0]!;
    assert.equal(first.kind, 'gap');
    const status = small.get(info.id);
    assert.deepEqual(first, { kind: 'gap', from: 1, to: status.firstSeq - 1 });
    const kept = bytesOf(frames);
    assert.ok(kept.length <= 64 * 1024 && kept.length > 0);
    assert.ok(kept.toString().endsWith('z\ntail\n'));
    assert.match(kept.toString(), /^z+\ntail\n$/);
    const data = frames.filter((f) => f.kind === 'data');
    data.forEach((f, i) => assert.equal(f.kind === 'data' && f.seq, status.firstSeq + i));
    assert.deepEqual(frames.at(-1), { kind: 'exit', seq: status.lastSeq + 1, exitCode: 0, signal: null, timedOut: false });
  });

  it('forgets the oldest exited processes beyond maxExited', async () => {
    const bounded = new ProcessRegistry({ target: rt.target, clock: rt.clock, maxExited: 2 });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const info = await bounded.start({ command: ['true'] });
      await bounded.waitExit(info.id);
      ids.push(info.id);
    }
    assert.deepEqual(bounded.list().map((p) => p.id), ids.slice(1));
    assert.throws(() => bounded.get(ids[0]!), NotFound);
  });

  it('killAll stops every running process', async () => {
    const own = new ProcessRegistry({ target: rt.target, clock: rt.clock });
    const a = await own.start({ command: ['sleep', '60'] });
    const b = await own.start({ command: ['sleep', '60'] });
    await own.killAll();
    assert.deepEqual(own.list().map((p) => [p.id, p.running, p.signal]), [
      [a.id, false, 'SIGKILL'],
      [b.id, false, 'SIGKILL'],
    ]);
  });
});
