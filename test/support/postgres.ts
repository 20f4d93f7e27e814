/**
 * Throwaway PostgreSQL for tests.
 *
 * Usage in a test file — top-level await is fine in our ESM test files, and node:test (Node 20) runs
 * suites registered after an await:
 *
 *   import { after, before, it } from 'node:test';
 *   import { createTestDatabase, describePostgres, type TestDatabase } from '../support/postgres.js';
 *
 *   await describePostgres('postgres job store', () => {
 *     let db: TestDatabase;
 *     before(async () => { db = await createTestDatabase(); });
 *     after(() => db.drop());
 *     it('claims a job', async () => { ... connect to db.url ... });
 *   });
 *
 * Where the server comes from, first match wins:
 *   1. DROVER_TEST_POSTGRES_URL — an existing server. scripts/test.mjs sets it to the one cluster it
 *      starts for the whole run, so test files running in parallel share a server, never a database.
 *   2. DROVER_TEST_POSTGRES_UNAVAILABLE=<reason> — skip without trying. scripts/test.mjs sets it when it
 *      could not start a cluster, so each test file does not retry (and wait) on its own.
 *   3. A cluster started for this process from local binaries (`node --test dist/test/x.test.js` run by
 *      hand), torn down when the process exits.
 * Without a server, suites are reported as skipped with the reason — or fail under REQUIRE_POSTGRES=1
 * (CI), so a broken setup cannot pass as "all green, nothing ran".
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, closeSync, constants, existsSync, openSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import pg from 'pg';

export interface PostgresBinaries { initdb: string; postgres: string; pg_ctl?: string }

export interface PostgresCluster {
  url: string;
  /** Fast shutdown (SIGINT, which does not wait for clients a test leaked), then removes the directory. */
  stop(): Promise<void>;
  /** Synchronous best effort for `process.on('exit')`, where nothing async runs any more. */
  stopNow(): void;
}

export interface StartOptions {
  binaries?: PostgresBinaries;
  /** How long to wait for the server to accept connections. */
  startTimeoutMs?: number;
}

export type PostgresAvailability = { available: true; url: string } | { available: false; reason: string };

export interface TestDatabase { name: string; url: string; drop(): Promise<void> }

/** Server binaries on PATH, else the newest Debian/Ubuntu install (those are not on PATH). */
export function findPostgresBinaries(path = process.env.PATH ?? ''): PostgresBinaries | undefined {
  const dirs = [...path.split(delimiter).filter(Boolean), ...debianBinDirs()];
  for (const dir of dirs) {
    const initdb = join(dir, 'initdb');
    const postgres = join(dir, 'postgres');
    if (!isExecutable(initdb) || !isExecutable(postgres)) continue;
    const pgCtl = join(dir, 'pg_ctl');
    return isExecutable(pgCtl) ? { initdb, postgres, pg_ctl: pgCtl } : { initdb, postgres };
  }
  return undefined;
}

function debianBinDirs(): string[] {
  let versions: string[];
  try {
    versions = readdirSync('/usr/lib/postgresql');
  } catch {
    return [];
  }
  return versions
    .filter((v) => /^\d+(\.\d+)?$/.test(v))
    .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a))
    .map((v) => `/usr/lib/postgresql/${v}/bin`);
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** initdb and postgres refuse to run as root, so as root we run them as `nobody`. */
function unprivilegedUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const entry = readFileSync('/etc/passwd', 'utf8').split('\n').find((line) => line.startsWith('nobody:'));
  const [, , uid, gid] = entry?.split(':') ?? [];
  if (uid === undefined || gid === undefined) {
    throw new Error('running as root and /etc/passwd has no "nobody" user to run PostgreSQL as (initdb refuses root)');
  }
  return { uid: Number(uid), gid: Number(gid) };
}

export async function startPostgresCluster(opts: StartOptions = {}): Promise<PostgresCluster> {
  const bin = opts.binaries ?? findPostgresBinaries();
  if (!bin) throw new Error('no PostgreSQL server binaries (initdb, postgres) on PATH or in /usr/lib/postgresql/*/bin');
  const user = unprivilegedUser();
  const dir = await mkdtemp(join(tmpdir(), 'drover-pg-'));
  const data = join(dir, 'data');
  let server: ChildProcess | undefined;
  try {
    if (user) await chown(dir, user.uid, user.gid);
    const initdbLog = join(dir, 'initdb.log');
    const initdb = spawnLogged(bin.initdb, ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C'], initdbLog, user);
    const code = await new Promise<number | null>((resolve, reject) => {
      initdb.once('error', reject);
      initdb.once('exit', (c) => resolve(c));
    });
    if (code !== 0) throw new Error(`initdb exited with ${code}${logTail(initdbLog)}`);

    const port = await freePort();
    const serverLog = join(dir, 'server.log');
    server = spawnLogged(bin.postgres, [
      '-D', data, '-p', String(port),
      '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${dir}`,
      '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off',
      '-c', 'max_connections=300',
    ], serverLog, user);
    server.unref();
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    await waitUntilAccepting(url, server, serverLog, opts.startTimeoutMs ?? 30_000);
    return clusterHandle(url, server, dir);
  } catch (err) {
    if (server?.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
    throw err;
  }
}

function spawnLogged(command: string, args: string[], logPath: string, user: { uid: number; gid: number } | undefined): ChildProcess {
  // Output goes to a file, not a pipe: an undrained pipe would block the server, and a drained one
  // would keep this process's event loop alive after its tests finish.
  const log = openSync(logPath, 'a');
  try {
    return spawn(command, args, {
      cwd: dirname(logPath),
      stdio: ['ignore', log, log],
      // LC_ALL/TZ pinned so collation and timestamp text are the same on every machine.
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', TZ: 'UTC' },
      // Own process group: a Ctrl-C in the terminal must not shut the server down under running
      // tests; stop() does that once they are done.
      detached: true,
      ...user,
    });
  } finally {
    closeSync(log); // the child holds its own copy
  }
}

function clusterHandle(url: string, server: ChildProcess, dir: string): PostgresCluster {
  let stopping: Promise<void> | undefined;
  const running = () => server.exitCode === null && server.signalCode === null;
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  const stop = async () => {
    server.ref();
    if (running()) {
      server.kill('SIGINT');
      // Escalate rather than hang the test run: SIGQUIT is PostgreSQL's immediate shutdown.
      const escalate = setTimeout(() => server.kill('SIGQUIT'), 10_000);
      const kill = setTimeout(() => server.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(escalate);
      clearTimeout(kill);
    }
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  };
  return {
    url,
    stop: () => (stopping ??= stop()),
    stopNow() {
      try {
        if (running()) server.kill('SIGQUIT');
        // The postmaster removes its pid file as it exits; wait for that (bounded) so the directory is
        // not removed under a server still writing to it.
        const pidFile = join(dir, 'data', 'postmaster.pid');
        const tick = new Int32Array(new SharedArrayBuffer(4));
        for (let i = 0; i < 250 && existsSync(pidFile); i++) Atomics.wait(tick, 0, 0, 20);
        rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
      } catch {
        // Exit handlers must not throw; a leftover temp directory is the worst case.
      }
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

async function waitUntilAccepting(url: string, server: ChildProcess, logPath: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let spawnError: Error | undefined;
  server.on('error', (err) => { spawnError = err; });
  let lastError: unknown;
  for (;;) {
    if (spawnError) throw new Error(`could not run postgres: ${spawnError.message}`);
    if (server.exitCode !== null || server.signalCode !== null) {
      throw new Error(`postgres exited (${server.exitCode ?? server.signalCode}) before accepting connections${logTail(logPath)}`);
    }
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
    try {
      await client.connect();
      await client.end();
      return;
    } catch (err) {
      lastError = err;
      await client.end().catch(() => undefined);
    }
    if (Date.now() > deadline) {
      const reason = lastError instanceof Error ? lastError.message : String(lastError);
      throw new Error(`postgres did not accept connections within ${timeoutMs} ms (last error: ${reason})${logTail(logPath)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function logTail(logPath: string): string {
  try {
    const text = readFileSync(logPath, 'utf8').trimEnd();
    if (!text) return ` (${logPath} is empty)`;
    const lines = text.split('\n').slice(-20);
    return `\n--- ${logPath} (last ${lines.length} lines) ---\n${lines.join('\n')}`;
  } catch {
    return '';
  }
}

// One server per process is the point of this module, so the memo is module state (test support only).
let perProcess: Promise<PostgresAvailability> | undefined;

export function testPostgres(): Promise<PostgresAvailability> {
  return (perProcess ??= resolveAvailability());
}

async function resolveAvailability(): Promise<PostgresAvailability> {
  const url = process.env.DROVER_TEST_POSTGRES_URL;
  if (url) return { available: true, url };
  const told = process.env.DROVER_TEST_POSTGRES_UNAVAILABLE;
  if (told) return { available: false, reason: told };
  if (!findPostgresBinaries()) {
    return { available: false, reason: 'no initdb/postgres on PATH or in /usr/lib/postgresql/*/bin, and DROVER_TEST_POSTGRES_URL is not set' };
  }
  try {
    const cluster = await startPostgresCluster();
    tearDownAtExit(cluster);
    return { available: true, url: cluster.url };
  } catch (err) {
    return { available: false, reason: `could not start a throwaway cluster: ${err instanceof Error ? err.message : String(err)}` };
  }
}

function tearDownAtExit(cluster: PostgresCluster): void {
  process.once('exit', () => cluster.stopNow());
  // A signal ends the process without 'exit' and the server (its own process group) would outlive us:
  // clean up, then re-raise so the process still dies of the signal.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      cluster.stopNow();
      process.kill(process.pid, signal);
    });
  }
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const server = await testPostgres();
  if (!server.available) throw new Error(`PostgreSQL unavailable: ${server.reason}`);
  const name = `drover_test_${randomBytes(6).toString('hex')}`;
  await withClient(server.url, (client) => client.query(`create database "${name}"`));
  const url = new URL(server.url);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    // WITH (FORCE): a pool a test forgot to close must not turn into "database is being accessed".
    drop: () => withClient(server.url, (client) => client.query(`drop database if exists "${name}" with (force)`)),
  };
}

async function withClient(url: string, fn: (client: pg.Client) => Promise<unknown>): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * `describe` for suites that need PostgreSQL; await it (see the top of this file). When PostgreSQL is
 * unavailable it registers a skipped test carrying the reason rather than a skipped `describe`: Node 20
 * counts a skipped suite under `# suites` but not under `# skipped`, so the skip would vanish from the
 * summary line CI shows.
 */
export async function describePostgres(name: string, fn: () => void): Promise<void> {
  const server = await testPostgres();
  if (server.available) {
    describe(name, fn);
    return;
  }
  if (process.env.REQUIRE_POSTGRES === '1') {
    test(name, () => {
      throw new Error(`PostgreSQL is required (REQUIRE_POSTGRES=1) but unavailable: ${server.reason}`);
    });
    return;
  }
  console.error(`notice: skipping "${name}": PostgreSQL unavailable: ${server.reason}`);
  test(name, { skip: `PostgreSQL unavailable: ${server.reason}` }, () => undefined);
}
