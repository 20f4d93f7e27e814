/** Conformance: processes on a pseudo-terminal. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { needs, type ProviderFixture } from './fixture.js';
import { useSession } from './session.js';
import { LIST_FDS, run, start, strayFds } from './support.js';

export function ptyContract(fixture: ProviderFixture): void {
  describe('pseudo-terminals', () => {
    const session = useSession(fixture);
    let runtimeId: string;
    before(async () => {
      runtimeId = (await session().spawn()).runtimeId;
    });

    it('gives the process a terminal', needs(fixture, 'pty', 'realCommands'), async () => {
      const p = await run(session().provider, runtimeId, { argv: ['tty'], pty: { cols: 80, rows: 24 } });
      assert.deepEqual(p.exit, { exitCode: 0, signal: null }, p.describe());
      assert.match(p.text().trim(), /^\/dev\/pts\/\d+$/);
      assert.equal(p.text('stderr'), '', 'a terminal has one output stream');
    });

    it('has the requested size, and a resize reaches the program', needs(fixture, 'pty', 'realCommands'), async () => {
      const p = await start(session().provider, runtimeId, {
        argv: ['sh', '-c', 'stty size; read answer; stty size'],
        pty: { cols: 91, rows: 37 },
      });
      await p.until(() => p.text().includes('37 91'), 'the first `stty size`');
      p.proc.resize(120, 40);
      p.proc.write(Buffer.from('go\r'));
      await p.until(() => p.text().includes('40 120'), 'the `stty size` after the resize');
      assert.deepEqual(await p.exited(), { exitCode: 0, signal: null });
    });

    it('reads input typed at the terminal and merges stderr into the output', needs(fixture, 'pty', 'realCommands'), async () => {
      const p = await start(session().provider, runtimeId, {
        argv: ['sh', '-c', 'read line; echo "got:$line"; echo "to-stderr" >&2; exit 4'],
        pty: { cols: 80, rows: 24 },
      });
      p.proc.write(Buffer.from('hello\r'));
      assert.deepEqual(await p.exited(), { exitCode: 4, signal: null });
      assert.match(p.text(), /got:hello/);
      assert.match(p.text(), /to-stderr/);
      assert.equal(p.text('stderr'), '');
    });

    it('ends input with end-of-file and reports death by signal', needs(fixture, 'pty', 'realCommands'), async () => {
      const cat = await start(session().provider, runtimeId, { argv: ['cat'], pty: { cols: 80, rows: 24 } });
      cat.proc.write(Buffer.from('line\r'));
      await cat.until(() => cat.text().includes('line'), 'the echo of the line');
      cat.proc.endInput();
      assert.deepEqual(await cat.exited(), { exitCode: 0, signal: null });

      const sleeper = await start(session().provider, runtimeId, { argv: ['sleep', '100'], pty: { cols: 80, rows: 24 } });
      sleeper.proc.signal('SIGKILL');
      assert.deepEqual(await sleeper.exited(), { exitCode: null, signal: 'SIGKILL' });
    });

    it("holds no descriptor of the worker besides its terminal, not even another sandbox's terminal", needs(fixture, 'pty', 'realCommands', 'ptyFds'), async () => {
      const other = await session().spawn();
      const terminal = await start(session().provider, other.runtimeId, { argv: ['sleep', '100'], pty: { cols: 80, rows: 24 } });
      try {
        const p = await run(session().provider, runtimeId, { argv: LIST_FDS, pty: { cols: 200, rows: 24 } });
        assert.deepEqual(p.exit, { exitCode: 0, signal: null }, p.describe());
        assert.deepEqual(strayFds(p.text()), [], p.text());
      } finally {
        terminal.proc.signal('SIGKILL');
        await terminal.exited();
      }
    });

    it('delivers the last output of a process that exits while the consumer has paused', needs(fixture, 'pty', 'realCommands'), async () => {
      const p = await start(session().provider, runtimeId, {
        argv: ['sh', '-c', 'read x; i=0; while [ $i -lt 200 ]; do echo "line $i"; i=$((i+1)); done; echo done'],
        pty: { cols: 80, rows: 24 },
      });
      p.proc.pause();
      p.proc.write(Buffer.from('\r'));
      // Stay paused well past the moment the program exits: nothing may be lost meanwhile.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      assert.equal(p.exit, undefined, 'no exit while paused');
      p.proc.resume();
      assert.deepEqual(await p.exited(), { exitCode: 0, signal: null });
      assert.match(p.text(), /line 199\r?\n/);
      assert.match(p.text(), /done/);
    });
  });
}
