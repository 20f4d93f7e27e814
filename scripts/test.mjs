// Test runner behind `npm test` (after lint and build): runs the compiled tests in dist/test with
// Node's test runner against ONE throwaway PostgreSQL cluster shared by the whole run — each test file
// creates its own databases on it (test/support/postgres.ts), so parallel files never share state.
//
//   node scripts/test.mjs [filter ...] [--node-test-flag ...]
//
// A filter keeps the test files whose path under dist/test contains it; arguments starting with "-"
// go to `node --test` (e.g. --test-name-pattern=claim). Environment:
//   DROVER_TEST_POSTGRES_URL   use this server instead of starting one
//   DROVER_TEST_CONCURRENCY    test files run in parallel (default 2)
//   REQUIRE_POSTGRES=1         no PostgreSQL is a failure (CI), not a skip
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const startedAt = Date.now();
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const distTest = join(root, 'dist', 'test');

function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return walk(path);
    return entry.isFile() && entry.name.endsWith('.test.js') ? [path] : [];
  });
}

/** Compiled tests whose source still exists: tsc never deletes output, so a removed test would run on. */
function testFiles(filters) {
  if (!existsSync(distTest)) fail('dist/test does not exist; run `npm run build` first');
  return walk(distTest)
    .map((file) => relative(distTest, file))
    .filter((rel) => existsSync(join(root, 'test', rel.replace(/\.js$/, '.ts'))))
    .filter((rel) => filters.length === 0 || filters.some((f) => rel.split(sep).join('/').includes(f)))
    .sort()
    .map((rel) => join(distTest, rel));
}

function fail(message) {
  console.error(`test: ${message}`);
  process.exit(1);
}

function redact(url) {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable URL)';
  }
}

/** The server the tests use, as env for the test processes plus the one-line notice and a stop(). */
async function providePostgres() {
  const none = async () => undefined;
  const given = process.env.DROVER_TEST_POSTGRES_URL;
  if (given) return { env: {}, notice: `PostgreSQL: DROVER_TEST_POSTGRES_URL ${redact(given)}`, stop: none };
  const unavailable = (reason) => ({
    reason,
    env: { DROVER_TEST_POSTGRES_UNAVAILABLE: reason },
    notice: `PostgreSQL: unavailable (${reason})${process.env.REQUIRE_POSTGRES === '1' ? '' : '; PostgreSQL suites will skip'}`,
    stop: none,
  });
  if (process.env.DROVER_TEST_POSTGRES_UNAVAILABLE) return unavailable(process.env.DROVER_TEST_POSTGRES_UNAVAILABLE);
  const harness = await import(pathToFileURL(join(distTest, 'support', 'postgres.js')).href);
  const binaries = harness.findPostgresBinaries();
  if (!binaries) return unavailable('no initdb/postgres on PATH or in /usr/lib/postgresql/*/bin, and DROVER_TEST_POSTGRES_URL is not set');
  try {
    const cluster = await harness.startPostgresCluster({ binaries });
    return {
      env: { DROVER_TEST_POSTGRES_URL: cluster.url },
      notice: `PostgreSQL: throwaway cluster ${cluster.url} (${dirname(binaries.postgres)})`,
      stop: () => cluster.stop(),
    };
  } catch (err) {
    return unavailable(`could not start a throwaway cluster: ${err instanceof Error ? err.message : String(err)}`);
  }
}

const args = process.argv.slice(2);
const files = testFiles(args.filter((a) => !a.startsWith('-')));
if (files.length === 0) fail(`no compiled test files match ${JSON.stringify(args)}`);

const concurrency = Number(process.env.DROVER_TEST_CONCURRENCY ?? 2);
if (!Number.isInteger(concurrency) || concurrency < 1) fail('DROVER_TEST_CONCURRENCY must be a positive integer');

// A signal during cluster start-up is acted on once start-up returns, so the cluster is still stopped.
let child;
let signalled;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    signalled = signal;
    child?.kill(signal);
  });
}

const postgres = await providePostgres();
console.error(postgres.notice);
if (postgres.reason && process.env.REQUIRE_POSTGRES === '1') {
  fail('REQUIRE_POSTGRES=1 and PostgreSQL is unavailable');
}

let exitCode = 1;
if (signalled) {
  exitCode = 128 + constants.signals[signalled];
} else {
  // Explicit reporter: Node 20 defaults to TAP only when stdout is not a TTY, and later Node versions
  // default to spec everywhere; CI logs should keep the TAP summary (# tests / # pass / # fail).
  const reporter = process.stdout.isTTY ? 'spec' : 'tap';
  child = spawn(process.execPath, [
    '--test', '--enable-source-maps', `--test-concurrency=${concurrency}`, `--test-reporter=${reporter}`,
    ...args.filter((a) => a.startsWith('-')),
    ...files,
  ], { stdio: 'inherit', env: { ...process.env, ...postgres.env } });
  exitCode = await new Promise((resolve) => {
    child.once('error', (err) => {
      console.error(`test: could not run node: ${err.message}`);
      resolve(1);
    });
    child.once('exit', (code, signal) => resolve(code ?? 128 + (constants.signals[signal] ?? 0)));
  });
}

if (signalled) exitCode = 128 + constants.signals[signalled];
try {
  await postgres.stop();
} catch (err) {
  console.error(`test: stopping PostgreSQL failed: ${err instanceof Error ? err.message : String(err)}`);
  exitCode ||= 1;
}
console.error(`test: ${files.length} file(s), wall time ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
process.exit(exitCode);
