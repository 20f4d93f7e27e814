/** Conformance: reaching a port inside the sandbox from the worker. */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { describe, it } from 'node:test';
import type { PortAddress } from '../../../../src/worker/providers/types.js';
import { needs, type ProviderFixture } from './fixture.js';
import { useSession } from './session.js';
import { freePort, rejectsWithCode, start, uniqueId, type Watched } from './support.js';

/** A tiny HTTP server, run with `node -e SERVER PORT`; prints `listening` once it accepts. */
export const SERVER = [
  "const http = require('http');",
  'const port = Number(process.argv[1]);',
  "http.createServer((req, res) => res.end('hello from the sandbox ' + req.url))",
  "  .listen(port, '127.0.0.1', () => console.log('listening'));",
].join('\n');

export async function startServer(w: () => Promise<Watched>): Promise<Watched> {
  const server = await w();
  await server.until(() => server.text().includes('listening'), 'the server to listen');
  return server;
}

/** GET / through a PortAddress, the way the worker's proxy would connect. */
export function get(address: PortAddress, path = '/'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const target = address.kind === 'tcp' ? { host: address.host, port: address.port } : { socketPath: address.path };
    const req = request({ ...target, path, method: 'GET', timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end();
  });
}

export function networkContract(fixture: ProviderFixture): void {
  describe('ports', () => {
    const session = useSession(fixture);

    it('portAddress reaches a server listening inside the sandbox', needs(fixture, 'realCommands', 'ports'), async () => {
      const { provider } = session();
      const handle = await session().spawn();
      const port = await freePort();
      const server = await startServer(() => start(provider, handle.runtimeId, { argv: ['node', '-e', SERVER, String(port)] }));
      const address = await provider.portAddress(handle.runtimeId, port);
      assert.deepEqual(await get(address, '/ping'), { status: 200, body: 'hello from the sandbox /ping' });
      server.proc.signal('SIGTERM');
      assert.deepEqual(await server.exited(), { exitCode: null, signal: 'SIGTERM' });
    });

    it('rejects a port outside 1..65535 and a runtime it does not have', needs(fixture), async () => {
      const { provider } = session();
      const handle = await session().spawn();
      for (const bad of [0, -1, 65536, 1.5]) await rejectsWithCode(provider.portAddress(handle.runtimeId, bad), 'bad_request');
      await rejectsWithCode(provider.portAddress(uniqueId('missing'), 8080), 'not_found');
    });
  });
}
