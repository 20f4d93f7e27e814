/**
 * The port forwarder of one sandbox, run as its own process: `nsenter -t <holder> -n -- node
 * forwarder.js <ports dir>`. It joins only the sandbox's network namespace (so 127.0.0.1 is the
 * sandbox's loopback) and keeps the host's filesystem (so it can listen on unix sockets the worker
 * reaches). Plain Node with no imports beyond Node's own: it must start anywhere the worker runs.
 *
 * Protocol on stdin/stdout, one JSON object per line:
 *   → {"port": 3000}                      listen on <ports dir>/3000.sock (mode 0600) for that port
 *   ← {"port": 3000, "ok": true} | {"port": 3000, "error": "..."}
 * Each connection to the socket is bridged to 127.0.0.1:<port> (::1 if nothing listens on IPv4).
 * The forwarder exits when its stdin closes: a worker that goes away takes its forwarders along.
 */
import { unlinkSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const portsDir = process.argv[2];
if (!portsDir) {
  process.stderr.write('usage: forwarder.js <ports dir>\n');
  process.exit(2);
}
// Sockets are created 0600: only the worker's user may connect.
process.umask(0o177);

const servers = new Map<number, Promise<void>>();

function reply(message: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

function listen(port: number): Promise<void> {
  const path = join(portsDir as string, `${port}.sock`);
  try {
    unlinkSync(path);
  } catch {
    // No stale socket.
  }
  const server = createServer({ allowHalfOpen: true }, (client) => bridge(client, port));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      server.on('error', () => {});
      resolve();
    });
  });
}

function bridge(client: Socket, port: number, host = '127.0.0.1'): void {
  client.pause();
  const upstream = connect({ port, host, allowHalfOpen: true });
  upstream.once('connect', () => {
    client.pipe(upstream);
    upstream.pipe(client);
    client.resume();
  });
  upstream.once('error', (err: NodeJS.ErrnoException) => {
    // connect() failed, so nothing was bridged yet: a server on ::1 only may still be there.
    if (host === '127.0.0.1' && err.code === 'ECONNREFUSED') {
      upstream.destroy();
      bridge(client, port, '::1');
      return;
    }
    client.destroy();
  });
  client.once('error', () => upstream.destroy());
  client.once('close', () => upstream.destroy());
  upstream.once('close', () => client.destroy());
}

createInterface({ input: process.stdin }).on('line', (line) => {
  let port: number;
  try {
    port = Number((JSON.parse(line) as { port?: unknown }).port);
  } catch {
    return;
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) return reply({ port, error: 'invalid port' });
  let ready = servers.get(port);
  if (!ready) {
    ready = listen(port);
    servers.set(port, ready);
    ready.catch(() => servers.delete(port));
  }
  ready.then(
    () => reply({ port, ok: true }),
    (err: Error) => reply({ port, error: err.message }),
  );
});
process.stdin.once('end', () => process.exit(0));
process.stdin.once('close', () => process.exit(0));
