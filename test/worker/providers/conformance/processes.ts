/** Conformance: processes over pipes — output, exit, signals, stdin, backpressure, env, cwd. */
import assert from 'node:assert/strict';
import { chown, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { needs, type ProviderFixture } from './fixture.js';
import { useSession } from './session.js';
import { LIST_FDS, MiB, eventually, hostProcesses, pseudoRandom, run, sha256, start, strayFds, uniqueSleep } from './support.js';

const CANARY = 'DROVER_CONFORMANCE_CANARY';

export function processContract(fixture: ProviderFixture): void {
  describe('processes', () => {
    const session = useSession(fixture);
    let runtimeId: string;
    let workspace: string;
    before(async () => {
      const handle = await session().spawn({ env: { FROM_SANDBOX: 'sandbox-value', SHARED: 'from-sandbox' } });
      runtimeId = handle.runtimeId;
      workspace = handle.workspace;
    });

    it('delivers stdout and stderr in order and the exit code after all output', needs(fixture, 'realCommands'), async () => {
      const p = await run(session().provider, runtimeId, { argv: ['sh', '-c', 'echo out; echo err >&2; echo more; exit 3'] });
      assert.equal(p.text('stdout'), 'out\nmore\n');
      assert.equal(p.text('stderr'), 'err\n');
      assert.deepEqual(p.exit, { exitCode: 3, signal: null });
      assert.equal(p.events.at(-1), 'exit');
    });

    it('never loses the output of a process that exits at once', needs(fixture), async () => {
      for (let i = 0; i < 20; i++) {
        const p = await run(session().provider, runtimeId, { argv: ['echo', `round ${i}`] });
        assert.equal(p.text('stdout'), `round ${i}\n`);
        assert.deepEqual(p.exit, { exitCode: 0, signal: null });
      }
      const failing = await run(session().provider, runtimeId, { argv: ['false'] });
      assert.deepEqual(failing.exit, { exitCode: 1, signal: null });
    });

    it('reports an unknown command as exit 127 with a message on stderr', needs(fixture), async () => {
      const p = await run(session().provider, runtimeId, { argv: ['drover-no-such-command-x7'] });
      assert.deepEqual(p.exit, { exitCode: 127, signal: null });
      assert.match(p.text('stderr'), /drover-no-such-command-x7/);
    });

    it('reports death by signal as signal name and a null exit code', needs(fixture), async () => {
      for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
        const p = await start(session().provider, runtimeId, { argv: ['sleep', '100'] });
        p.proc.signal(signal);
        assert.deepEqual(await p.exited(), { exitCode: null, signal });
      }
    });

    it('signals the whole process group', needs(fixture, 'realCommands', 'backgroundChildren'), async () => {
      const seconds = uniqueSleep();
      const p = await start(session().provider, runtimeId, { argv: ['sh', '-c', `sleep ${seconds} & echo started; wait`] });
      await p.until(() => p.text().includes('started'), '"started"');
      await eventually(async () => (await hostProcesses(['sleep', seconds])).length > 0, 'the background sleep');
      p.proc.signal('SIGKILL');
      assert.deepEqual(await p.exited(), { exitCode: null, signal: 'SIGKILL' });
      await eventually(async () => (await hostProcesses(['sleep', seconds])).length === 0, 'the background sleep to die with its group');
    });

    it('copies stdin to a process exactly, binary included', needs(fixture), async () => {
      const everyByte = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      const input = [Buffer.from('hello\n'), everyByte, pseudoRandom(MiB + 17), Buffer.from('\0end')];
      const p = await run(session().provider, runtimeId, { argv: ['cat'] }, input);
      assert.deepEqual(p.exit, { exitCode: 0, signal: null });
      const expected = Buffer.concat(input);
      assert.equal(p.bytes().length, expected.length);
      assert.equal(sha256(p.bytes()), sha256(expected));
    });

    it('delivers 5 MiB written at full speed byte for byte, holding output and exit while paused', needs(fixture, 'realCommands', 'workspaceFiles'), async () => {
      const data = pseudoRandom(5 * MiB + 3);
      await writeFile(join(workspace, 'big.bin'), data);
      const proc = await session().provider.startProcess(runtimeId, { argv: ['cat', 'big.bin'] });
      const chunks: Buffer[] = [];
      let received = 0;
      let paused = false;
      let pauses = 0;
      let deliveredWhilePaused = 0;
      let exitedWhilePaused = false;
      let nextPauseAt = 256 * 1024;
      const exit = new Promise<{ exitCode: number | null; signal: NodeJS.Signals | null }>((resolve) => {
        proc.onExit((info) => {
          if (paused) exitedWhilePaused = true;
          resolve(info);
        });
      });
      let onStderr = 0;
      proc.onOutput((stream, chunk) => {
        if (stream !== 'stdout') onStderr++;
        if (paused) deliveredWhilePaused++;
        chunks.push(Buffer.from(chunk));
        received += chunk.length;
        if (received >= nextPauseAt && !paused) {
          // A slow consumer: stop, stay away for a while, come back. Nothing may arrive meanwhile.
          nextPauseAt += MiB;
          paused = true;
          pauses++;
          proc.pause();
          setTimeout(() => {
            paused = false;
            proc.resume();
          }, 100);
        }
      });
      const info = await withBound(exit, 'the exit of cat big.bin');
      assert.deepEqual(info, { exitCode: 0, signal: null });
      assert.ok(pauses >= 4, `paused ${pauses} times`);
      assert.equal(onStderr, 0, 'nothing on stderr');
      assert.equal(deliveredWhilePaused, 0, 'no output while paused');
      assert.equal(exitedWhilePaused, false, 'no exit while paused');
      const got = Buffer.concat(chunks);
      assert.equal(got.length, data.length);
      assert.equal(sha256(got), sha256(data));
    });

    it('delivers everything a process wrote before it exited during a pause, then the exit', needs(fixture, 'realCommands'), async () => {
      // ~20 KB: fits in a pipe or terminal buffer, so the program can finish while nobody reads.
      const script = 'i=0; while [ $i -lt 2000 ]; do echo "line $i"; i=$((i+1)); done; echo last';
      const p = await start(session().provider, runtimeId, { argv: ['sh', '-c', script] });
      p.proc.pause();
      // Long enough for the program to finish on an idle machine; on a loaded one the check is weaker, never wrong.
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.equal(p.exit, undefined, 'no exit while paused');
      p.proc.resume();
      assert.deepEqual(await p.exited(), { exitCode: 0, signal: null });
      const lines = p.text().split('\n');
      assert.equal(lines.length, 2002, p.describe());
      assert.equal(lines[1999], 'line 1999');
      assert.equal(lines[2000], 'last');
    });

    it("inherits no descriptor of the worker, not even another sandbox's terminal", needs(fixture, 'realCommands'), async () => {
      const other = await session().spawn();
      const terminal = session().provider.info().capabilities.includes('pty')
        ? await start(session().provider, other.runtimeId, { argv: ['sleep', '100'], pty: { cols: 80, rows: 24 } })
        : undefined;
      try {
        const p = await run(session().provider, runtimeId, { argv: LIST_FDS });
        assert.deepEqual(p.exit, { exitCode: 0, signal: null }, p.describe());
        assert.deepEqual(strayFds(p.text()), [], p.text());
      } finally {
        terminal?.proc.signal('SIGKILL');
        await terminal?.exited();
      }
    });

    it("passes the sandbox's and the process's env, process winning, and never the worker's", needs(fixture, 'realCommands'), async () => {
      process.env[CANARY] = 'the-worker-env-must-not-leak';
      try {
        const p = await run(session().provider, runtimeId, { argv: ['env'], env: { FROM_PROCESS: 'process-value', SHARED: 'from-process' } });
        const env = new Map(p.text().split('\n').filter(Boolean).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
        assert.equal(env.get('FROM_SANDBOX'), 'sandbox-value');
        assert.equal(env.get('FROM_PROCESS'), 'process-value');
        assert.equal(env.get('SHARED'), 'from-process');
        assert.ok(env.get('PATH'), 'PATH is set');
        assert.equal(env.has(CANARY), false, "the worker's environment leaked into the sandbox");
        assert.ok(!p.text().includes('the-worker-env-must-not-leak'));
      } finally {
        delete process.env[CANARY];
      }
    });

    it('starts in the workspace by default; files written there appear on the host and back', needs(fixture, 'realCommands', 'workspaceFiles'), async () => {
      await writeFile(join(workspace, 'from-host.txt'), 'written by the host\n');
      const p = await run(session().provider, runtimeId, { argv: ['sh', '-c', 'cat from-host.txt; printf "written inside" > from-inside.txt; pwd'] });
      assert.deepEqual(p.exit, { exitCode: 0, signal: null }, p.describe());
      const [fromHost, pwd] = p.text().split('\n');
      assert.equal(fromHost, 'written by the host');
      assert.ok(pwd === '/workspace' || pwd === workspace, `pwd is the workspace: ${pwd}`);
      assert.equal(await readFile(join(workspace, 'from-inside.txt'), 'utf8'), 'written inside');
    });

    it('honours a cwd inside /workspace', needs(fixture, 'realCommands', 'workspaceFiles'), async () => {
      await mkdir(join(workspace, 'sub', 'dir'), { recursive: true });
      // What the host creates in a workspace belongs to the workspace's owner (the sandbox user under
      // bwrap, which runs sandboxes unprivileged), as the worker's file layer does for uploads.
      const owner = await stat(workspace);
      await chown(join(workspace, 'sub'), owner.uid, owner.gid);
      await chown(join(workspace, 'sub', 'dir'), owner.uid, owner.gid);
      const p = await run(session().provider, runtimeId, { argv: ['sh', '-c', 'printf here > marker.txt; pwd'], cwd: '/workspace/sub/dir' });
      assert.deepEqual(p.exit, { exitCode: 0, signal: null }, p.describe());
      assert.match(p.text().trim(), /\/sub\/dir$/);
      assert.equal(await readFile(join(workspace, 'sub', 'dir', 'marker.txt'), 'utf8'), 'here');
    });
  });

  describe('background children', () => {
    const session = useSession(fixture);
    const leftovers: string[] = [];
    after(async () => {
      for (const seconds of leftovers) for (const pid of await hostProcesses(['sleep', seconds])) process.kill(pid, 'SIGKILL');
    });

    it('background children die when the runtime is destroyed', needs(fixture, 'realCommands', 'backgroundChildren'), async () => {
      const handle = await session().spawn();
      // One child keeps the process's stdout open, the other has let go of it; the shell waits for
      // both, so whatever the provider does when a process's leader exits, they live until destroy.
      const holding = uniqueSleep();
      const detached = uniqueSleep();
      leftovers.push(holding, detached);
      const p = await start(session().provider, handle.runtimeId, {
        argv: ['sh', '-c', `sleep ${detached} >/dev/null 2>&1 & sleep ${holding} & echo $!; wait`],
      });
      await p.until(() => p.text().endsWith('\n'), 'the pid of the background child');
      // Inside a pid namespace $! is not a host pid; the unique sleep durations find them on the host.
      for (const seconds of [holding, detached]) {
        await eventually(async () => (await hostProcesses(['sleep', seconds])).length === 1, `sleep ${seconds} on the host`);
      }
      await session().provider.destroy(handle.runtimeId);
      for (const seconds of [holding, detached]) {
        assert.deepEqual(await hostProcesses(['sleep', seconds]), [], `sleep ${seconds} survived destroy`);
      }
      const exit = await p.exited();
      assert.equal(exit.exitCode, null, `killed, not exited: ${JSON.stringify(exit)}`);
    });
  });
}

async function withBound<T>(promise: Promise<T>, what: string, ms = 60_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, bound]);
  } finally {
    clearTimeout(timer);
  }
}
