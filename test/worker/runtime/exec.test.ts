import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BadRequest } from '../../../src/domain/errors.js';
import { dropPartialUtf8, runExec } from '../../../src/worker/runtime/exec.js';
import { startExecStream } from '../../../src/worker/runtime/exec-stream.js';
import type { DataFrame, ExecFrame } from '../../../src/worker/runtime/frames.js';
import { toWireFrame } from '../../../src/worker/runtime/frames.js';
import type { TestRuntime } from './support/runtime.js';
import { alive, collect, eventually, startRuntime } from './support/runtime.js';

describe('sync exec', () => {
  let rt: TestRuntime;
  before(async () => {
    rt = await startRuntime();
  });
  after(() => rt.close());

  it('returns exit code, stdout and stderr as utf8', async () => {
    const result = await runExec(rt.target, { command: 'echo hello; echo oops >&2; printf "é"; exit 3' });
    assert.equal(result.exitCode, 3);
    assert.equal(result.signal, null);
    assert.equal(result.stdout, 'hello\né');
    assert.equal(result.stderr, 'oops\n');
    assert.equal(result.encoding, 'utf8');
    assert.equal(result.truncated, false);
    assert.equal(result.timedOut, false);
    assert.ok(Number.isInteger(result.durationMs) && result.durationMs >= 0);
  });

  it('runs an argv without a shell, and an argv through the shell with shell: true', async () => {
    const plain = await runExec(rt.target, { command: ['echo', '$HOME', 'a  b'] });
    assert.equal(plain.stdout, '$HOME a  b\n');
    const shelled = await runExec(rt.target, { command: ['echo', '$((1+2))'], shell: true });
    assert.equal(shelled.stdout, '3\n');
  });

  it('runs in /workspace by default and in a cwd under it', async () => {
    await runExec(rt.target, { command: 'mkdir -p sub' });
    const result = await runExec(rt.target, { command: 'pwd', cwd: '/workspace/sub' });
    assert.equal(result.stdout.trim(), join(rt.handle.workspace, 'sub'));
  });

  it('switches both streams to base64 when either is not valid UTF-8', async () => {
    const result = await runExec(rt.target, { command: "printf 'ok'; printf '\\377\\376' >&2" });
    assert.equal(result.encoding, 'base64');
    assert.equal(Buffer.from(result.stdout, 'base64').toString(), 'ok');
    assert.deepEqual([...Buffer.from(result.stderr, 'base64')], [0xff, 0xfe]);
  });

  it('feeds stdin and closes it; without stdin the command sees EOF at once', async () => {
    const fed = await runExec(rt.target, { command: ['cat'], stdin: 'line one\nline two\n' });
    assert.equal(fed.stdout, 'line one\nline two\n');
    const binary = Buffer.from([0, 1, 2, 255]);
    const echoed = await runExec(rt.target, { command: 'cat | od -An -tx1', stdin: binary });
    assert.equal(echoed.stdout.trim(), '00 01 02 ff');
    const empty = await runExec(rt.target, { command: ['cat'] });
    assert.equal(empty.exitCode, 0);
    assert.equal(empty.stdout, '');
  });

  it('caps output per stream, keeps draining so the process finishes, and says truncated', async () => {
    const result = await runExec(
      rt.target,
      { command: "head -c 3000000 /dev/zero | tr '\\0' a; echo done >&2" },
      { maxOutputBytes: 1000 },
    );
    assert.equal(result.exitCode, 0);
    assert.equal(result.truncated, true);
    assert.equal(result.stdout, 'a'.repeat(1000));
    assert.equal(result.stderr, 'done\n');
  });

  it('drops a UTF-8 character cut in half by the cap instead of falling back to base64', async () => {
    const result = await runExec(rt.target, { command: "printf 'a\\303\\251b'" }, { maxOutputBytes: 2 });
    assert.equal(result.truncated, true);
    assert.equal(result.encoding, 'utf8');
    assert.equal(result.stdout, 'a');
  });

  it('kills the whole process group at the timeout and reports it', async () => {
    const result = await runExec(rt.target, {
      command: 'sleep 60 & echo $!; wait',
      timeoutMs: 300,
    });
    assert.equal(result.timedOut, true);
    assert.equal(result.signal, 'SIGKILL');
    assert.equal(result.exitCode, null);
    const background = Number(result.stdout.trim());
    assert.ok(background > 0);
    await eventually(() => !alive(background), 'the background sleep to be gone');
  });

  it('kills the process when the caller aborts', async () => {
    const controller = new AbortController();
    const pending = runExec(rt.target, { command: 'echo started; sleep 60' }, { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    const result = await pending;
    assert.equal(result.signal, 'SIGKILL');
    assert.equal(result.timedOut, false);
  });

  it('refuses bad requests with BadRequest before starting anything', async () => {
    await assert.rejects(runExec(rt.target, { command: '' }), BadRequest);
    await assert.rejects(runExec(rt.target, { command: [] }), BadRequest);
    await assert.rejects(runExec(rt.target, { command: 'echo', shell: false }), BadRequest);
    await assert.rejects(runExec(rt.target, { command: ['echo', 'a\0b'] }), BadRequest);
    await assert.rejects(runExec(rt.target, { command: ['true'], timeoutMs: 0 }), BadRequest);
    await assert.rejects(runExec(rt.target, { command: ['true'], timeoutMs: 1.5 }), BadRequest);
    await assert.rejects(runExec(rt.target, { command: ['true'], env: { 'A=B': 'x' } }), BadRequest);
  });

  it('reports a missing command as exit 127', async () => {
    const result = await runExec(rt.target, { command: ['definitely-not-a-command-drover'] });
    assert.equal(result.exitCode, 127);
  });
});

describe('dropPartialUtf8', () => {
  it('removes only an incomplete trailing sequence', () => {
    const e = Buffer.from('é'); // c3 a9
    const euro = Buffer.from('€'); // e2 82 ac
    const emoji = Buffer.from('😀'); // f0 9f 98 80
    assert.deepEqual(dropPartialUtf8(Buffer.concat([Buffer.from('a'), e.subarray(0, 1)])), Buffer.from('a'));
    assert.deepEqual(dropPartialUtf8(Buffer.concat([Buffer.from('a'), euro.subarray(0, 2)])), Buffer.from('a'));
    assert.deepEqual(dropPartialUtf8(Buffer.concat([Buffer.from('a'), emoji.subarray(0, 3)])), Buffer.from('a'));
    assert.deepEqual(dropPartialUtf8(Buffer.from('aé')), Buffer.from('aé'));
    assert.deepEqual(dropPartialUtf8(Buffer.from('a😀')), Buffer.from('a😀'));
    assert.deepEqual(dropPartialUtf8(Buffer.alloc(0)), Buffer.alloc(0));
  });
});

describe('streaming exec', () => {
  let rt: TestRuntime;
  before(async () => {
    rt = await startRuntime();
  });
  after(() => rt.close());

  function assertWellFormed(frames: ExecFrame[]): void {
    assert.ok(frames.length >= 1);
    frames.forEach((frame, i) => assert.equal(frame.seq, i + 1, 'sequence numbers start at 1 and have no holes'));
    assert.equal(frames.filter((f) => f.kind === 'exit').length, 1, 'exactly one exit frame');
    assert.equal(frames.at(-1)!.kind, 'exit', 'the exit frame is last');
  }

  it('yields ordered frames per stream and exactly one exit frame, last', async () => {
    const stream = await startExecStream(rt.target, { command: 'echo a; echo b >&2; echo c; exit 4' });
    const frames = await collect(stream);
    assertWellFormed(frames);
    const data = frames.filter((f): f is DataFrame => f.kind === 'data');
    const text = (s: string) => Buffer.concat(data.filter((f) => f.stream === s).map((f) => f.data)).toString();
    assert.equal(text('stdout'), 'a\nc\n');
    assert.equal(text('stderr'), 'b\n');
    const exit = frames.at(-1)!;
    assert.deepEqual(toWireFrame(exit), { seq: frames.length, type: 'exit', exit_code: 4, signal: null });
    assert.deepEqual(toWireFrame(data[0]!), { seq: 1, stream: data[0]!.stream, data: data[0]!.data.toString('base64') });
  });

  it('carries binary output byte for byte and splits large chunks at 64 KiB', async () => {
    const stream = await startExecStream(rt.target, { command: 'head -c 1000000 /dev/urandom | tee rand.bin' });
    const frames = await collect(stream);
    assertWellFormed(frames);
    const data = frames.filter((f): f is DataFrame => f.kind === 'data');
    assert.ok(data.every((f) => f.data.length <= 64 * 1024));
    const { readFile } = await import('node:fs/promises');
    assert.deepEqual(Buffer.concat(data.map((f) => f.data)), await readFile(join(rt.handle.workspace, 'rand.bin')));
  });

  it('applies backpressure: a consumer that stops reading stops the process', async () => {
    const marker = join(rt.handle.workspace, 'wrote-everything');
    const stream = await startExecStream(
      rt.target,
      { command: `head -c 16777216 /dev/zero; touch ${marker}` },
      { highWaterBytes: 64 * 1024 },
    );
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next();
    // While we hold back, the process cannot write 16 MiB through a paused 64 KiB queue and a pipe.
    // (A slow machine can only make this pass trivially, never fail spuriously.)
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(existsSync(marker), false, 'the process was blocked while the consumer did not read');
    let bytes = 0;
    let last: ExecFrame | undefined;
    for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) {
      last = next.value;
      if (last.kind === 'data') bytes += last.data.length;
    }
    assert.equal(last?.kind, 'exit');
    assert.ok(bytes > 16 * 1024 * 1024 - 64 * 1024 * 2, 'everything after the first frame arrived');
    assert.equal(existsSync(marker), true, 'the exit frame came after the process finished');
  });

  it('kills the process when the consumer stops early', async () => {
    const stream = await startExecStream(rt.target, { command: 'echo ready; sleep 60' });
    for await (const frame of stream) {
      assert.equal(frame.kind, 'data');
      break;
    }
    await eventually(() => !alive(-stream.pid), 'the process group to be killed');
  });

  it('reports a timeout on the exit frame', async () => {
    const stream = await startExecStream(rt.target, { command: 'echo before; sleep 60', timeoutMs: 300 });
    const frames = await collect(stream);
    assertWellFormed(frames);
    const exit = frames.at(-1)!;
    assert.equal(exit.kind, 'exit');
    assert.equal(exit.kind === 'exit' && exit.timedOut, true);
    assert.equal(exit.kind === 'exit' && exit.signal, 'SIGKILL');
    assert.deepEqual(toWireFrame(exit), { seq: exit.seq, type: 'exit', exit_code: null, signal: 'SIGKILL', timed_out: true });
  });

  it('passes stdin through and can be read only once', async () => {
    const stream = await startExecStream(rt.target, { command: ['cat'], stdin: 'piped' });
    const frames = await collect(stream);
    assertWellFormed(frames);
    assert.equal(Buffer.concat(frames.flatMap((f) => (f.kind === 'data' ? [f.data] : []))).toString(), 'piped');
    assert.throws(() => stream[Symbol.asyncIterator]());
  });
});
