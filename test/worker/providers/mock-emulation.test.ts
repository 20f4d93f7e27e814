/** The mock provider's emulated commands and its in-memory behaviour beyond the conformance suite. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createMockProvider, parseMockCommand, type MockProvider } from '../../../src/worker/providers/mock/index.js';
import { run, spawnRequest, start, uniqueId } from './conformance/support.js';

describe('mock provider: command emulation (pure)', () => {
  it('parses the commands it emulates', () => {
    assert.deepEqual(parseMockCommand(['echo', 'a', 'b']), { kind: 'print', stdout: 'a b\n', stderr: '', exitCode: 0 });
    assert.deepEqual(parseMockCommand(['echo', '-n', 'a']), { kind: 'print', stdout: 'a', stderr: '', exitCode: 0 });
    assert.deepEqual(parseMockCommand(['exit', '300']), { kind: 'print', stdout: '', stderr: '', exitCode: 44 });
    assert.deepEqual(parseMockCommand(['sleep', '0.25']), { kind: 'sleep', ms: 250 });
    assert.deepEqual(parseMockCommand(['cat']), { kind: 'cat' });
    assert.equal((parseMockCommand(['sleep', 'soon']) as { exitCode: number }).exitCode, 1);
    const unknown = parseMockCommand(['sh', '-c', 'echo hi']);
    assert.equal(unknown.kind === 'print' && unknown.exitCode, 127);
  });
});

describe('mock provider: behaviour', () => {
  let dataDir: string;
  let provider: MockProvider;
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'drover-mock-'));
    provider = createMockProvider({ dataDir });
  });
  after(async () => {
    await provider.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('uses pids no real process can have', async () => {
    const handle = await provider.spawn(spawnRequest(uniqueId()));
    const p = await run(provider, handle.runtimeId, { argv: ['true'] });
    assert.ok(p.proc.pid > 4_194_304);
  });

  it('holds output and exit while paused, and merges stderr on a terminal', async () => {
    const handle = await provider.spawn(spawnRequest(uniqueId()));
    const p = await start(provider, handle.runtimeId, { argv: ['cat'] });
    p.proc.pause();
    p.proc.write(Buffer.from('held'));
    p.proc.endInput();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(p.events, [], 'nothing delivered while paused');
    p.proc.resume();
    assert.deepEqual(await p.exited(), { exitCode: 0, signal: null });
    assert.deepEqual(p.events, ['stdout', 'exit']);

    const tty = await run(provider, handle.runtimeId, { argv: ['nope'], pty: { cols: 80, rows: 24 } });
    assert.equal(tty.text('stderr'), '');
    assert.match(tty.text('stdout'), /nope: command not found/);
  });

  it('sleeps on a timer and ignores signals that do not terminate', async () => {
    const handle = await provider.spawn(spawnRequest(uniqueId()));
    const p = await start(provider, handle.runtimeId, { argv: ['sleep', '0.05'] });
    p.proc.signal('SIGWINCH');
    assert.deepEqual(await p.exited(), { exitCode: 0, signal: null });
  });

  it('ends every emulated process when closed, so no timer outlives it', async () => {
    const other = createMockProvider({ dataDir, workspaces: false });
    const handle = await other.spawn(spawnRequest(uniqueId()));
    assert.equal(existsSync(handle.workspace), false, 'no directory with workspaces: false');
    const p = await start(other, handle.runtimeId, { argv: ['sleep', '1000'] });
    await other.close();
    assert.deepEqual(await p.exited(), { exitCode: null, signal: 'SIGKILL' });
    assert.deepEqual(await other.health(), { ok: false, detail: 'mock provider closed' });
  });
});
