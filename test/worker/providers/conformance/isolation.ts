/**
 * Conformance for isolating providers only: what a sandbox must not see or reach (spec 03 "Providers",
 * "Network"; 06 security). Providers that do not isolate are exempt in their fixture, with the reason.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { needs, type ProviderFixture } from './fixture.js';
import { SERVER, get, startServer } from './network.js';
import { useSession } from './session.js';
import { freePort, run, start, uniqueSleep } from './support.js';

/** Prints `connected` or `error <code>` for a TCP connect to 127.0.0.1:<argv[1]>. */
const PROBE = [
  "const s = require('net').connect(Number(process.argv[1]), '127.0.0.1');",
  "s.on('connect', () => { console.log('connected'); process.exit(0); });",
  "s.on('error', (e) => { console.log('error ' + e.code); process.exit(0); });",
  "setTimeout(() => { console.log('error TIMEOUT'); process.exit(0); }, 10000);",
].join('\n');

export function isolationContract(fixture: ProviderFixture): void {
  describe('isolation', () => {
    const session = useSession(fixture);

    it('with network "none", the host loopback is out of reach', needs(fixture, 'isolation', 'realCommands'), async () => {
      const host = createServer((socket) => socket.end('host service\n'));
      await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve));
      try {
        const port = (host.address() as { port: number }).port;
        const handle = await session().spawn({ network: 'none' });
        const p = await run(session().provider, handle.runtimeId, { argv: ['node', '-e', PROBE, String(port)] });
        assert.match(p.text(), /^error /, `the sandbox reached the host's 127.0.0.1:${port}: ${p.describe()}`);
      } finally {
        host.close();
      }
    });

    it('with network "none", a port inside is reachable only through portAddress', needs(fixture, 'isolation', 'realCommands', 'ports'), async () => {
      const { provider } = session();
      const handle = await session().spawn({ network: 'none' });
      const port = await freePort();
      const server = await startServer(() => start(provider, handle.runtimeId, { argv: ['node', '-e', SERVER, String(port)] }));
      assert.equal((await get(await provider.portAddress(handle.runtimeId, port))).status, 200);
      const direct = await new Promise<string>((resolve) => {
        const socket = connect(port, '127.0.0.1');
        socket.on('connect', () => {
          socket.destroy();
          resolve('connected');
        });
        socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
      });
      assert.notEqual(direct, 'connected', "the sandbox's port is open on the host's loopback");
      server.proc.signal('SIGKILL');
      await server.exited();
    });

    it("sees neither the worker's data dir nor another sandbox's workspace", needs(fixture, 'isolation', 'realCommands'), async () => {
      const { dataDir } = session();
      const mine = await session().spawn();
      const other = await session().spawn();
      await writeFile(join(dataDir, 'worker-secret.txt'), 'secret');
      await writeFile(join(other.workspace, 'other-sandbox.txt'), 'private');
      const paths = [join(dataDir, 'worker-secret.txt'), join(other.workspace, 'other-sandbox.txt'), other.workspace, dataDir];
      const p = await run(session().provider, mine.runtimeId, {
        argv: ['sh', '-c', 'for p in "$@"; do if [ -e "$p" ]; then echo "visible: $p"; fi; done; echo checked', 'sh', ...paths],
      });
      assert.equal(p.text(), 'checked\n', `host paths visible inside the sandbox: ${p.describe()}`);
    });

    it("sees none of the host's processes", needs(fixture, 'isolation', 'realCommands'), async () => {
      const seconds = uniqueSleep();
      const hostSleep = spawn('sleep', [seconds], { stdio: 'ignore' });
      try {
        const handle = await session().spawn();
        const p = await run(session().provider, handle.runtimeId, {
          argv: ['sh', '-c', 'for f in /proc/[0-9]*/cmdline; do tr "\\000" " " < "$f" 2>/dev/null; echo; done'],
        });
        assert.deepEqual(p.exit, { exitCode: 0, signal: null }, p.describe());
        assert.ok(!p.text().includes(`sleep ${seconds}`), "a host process is visible in the sandbox's /proc");
      } finally {
        hostSleep.kill('SIGKILL');
      }
    });
  });
}
