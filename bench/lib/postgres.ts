/**
 * PostgreSQL for a benchmark: `DROVER_BENCH_POSTGRES_URL` (an existing server; each run gets a fresh
 * database on it), or else a throwaway cluster started from the local binaries with the durability
 * settings the reference numbers in 06-quality.md were measured with (fsync off), removed afterwards.
 * The benchmark harness does not import test code, hence its own small copy of the idea.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, closeSync, constants, openSync, readdirSync, readFileSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import pg from 'pg';

export interface BenchDatabase {
  /** DSN of a fresh, empty database. */
  url: string;
  /** Where it runs, for the results (never the DSN). */
  source: string;
  close(): Promise<void>;
}

export async function benchPostgres(): Promise<BenchDatabase> {
  const given = process.env.DROVER_BENCH_POSTGRES_URL;
  if (given) {
    const db = await createDatabase(given);
    return { url: db.url, source: 'DROVER_BENCH_POSTGRES_URL', close: db.drop };
  }
  const cluster = await startCluster();
  try {
    const db = await createDatabase(cluster.url);
    return { url: db.url, source: `throwaway cluster (${cluster.version}, fsync off)`, close: cluster.stop };
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}

async function createDatabase(serverUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `drover_bench_${randomBytes(6).toString('hex')}`;
  await admin(serverUrl, `create database "${name}"`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => admin(serverUrl, `drop database if exists "${name}" with (force)`) };
}

async function admin(url: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

function binDir(): string {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  try {
    const versions = readdirSync('/usr/lib/postgresql').filter((v) => /^\d+/.test(v));
    versions.sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a));
    dirs.push(...versions.map((v) => `/usr/lib/postgresql/${v}/bin`));
  } catch {
    // no Debian-style install
  }
  for (const dir of dirs) {
    try {
      accessSync(join(dir, 'initdb'), constants.X_OK);
      accessSync(join(dir, 'postgres'), constants.X_OK);
      return dir;
    } catch {
      // keep looking
    }
  }
  throw new Error('no PostgreSQL binaries (initdb, postgres) found; set DROVER_BENCH_POSTGRES_URL');
}

/** initdb and postgres refuse to run as root; as root, run them as `nobody`. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('nobody:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined) throw new Error('running as root without a "nobody" user for PostgreSQL');
  return { uid: Number(uid), gid: Number(gid) };
}

function run(command: string, args: string[], log: string, user: { uid: number; gid: number } | undefined): ChildProcess {
  const fd = openSync(log, 'a');
  try {
    return spawn(command, args, { stdio: ['ignore', fd, fd], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', TZ: 'UTC' }, detached: true, ...user });
  } finally {
    closeSync(fd);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

async function startCluster(): Promise<{ url: string; version: string; stop(): Promise<void> }> {
  const bin = binDir();
  const user = runAs();
  const dir = await mkdtemp(join(tmpdir(), 'drover-bench-pg-'));
  if (user) await chown(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  const initdb = run(join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C'], join(dir, 'initdb.log'), user);
  const code = await new Promise<number | null>((resolve, reject) => initdb.once('error', reject).once('exit', resolve));
  if (code !== 0) throw new Error(`initdb exited with ${code}`);
  const port = await freePort();
  const server = run(
    join(bin, 'postgres'),
    ['-D', data, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${dir}`, '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=300'],
    log,
    user,
  );
  server.unref();
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const stop = async () => {
    if (server.exitCode === null && server.signalCode === null) {
      server.kill('SIGINT');
      const kill = setTimeout(() => server.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(kill);
    }
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  };
  const until = Date.now() + 30_000;
  for (;;) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
    try {
      await client.connect();
      const r = await client.query<{ server_version: string }>('show server_version');
      await client.end();
      return { url, version: `PostgreSQL ${r.rows[0]?.server_version ?? '?'}`, stop };
    } catch (err) {
      await client.end().catch(() => undefined);
      if (Date.now() > until || server.exitCode !== null) {
        await stop();
        throw new Error(`PostgreSQL did not start: ${(err as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
