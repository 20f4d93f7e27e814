/**
 * `drover task submit|ls|get|wait|cancel|artifacts`: remote tasks from the caller's side. `submit
 * --wait` and `wait` exit 1 unless the task succeeded (or when the wait timed out first), so scripts
 * can chain on them; `get` only shows. `artifacts --download DIR` fetches every artifact through its
 * short-lived URL into DIR, keeping the key's path below the task's prefix.
 */
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { Command } from 'commander';
import { parseDuration } from '../../domain/duration.js';
import { submitTaskRequest, TASK_STATES, type SubmitTaskRequest } from '../../protocol/tasks.js';
import { isTerminal, tasksApi, type TaskArtifactView, type TaskFilter, type TaskView } from '../../sdk/tasks.js';
import { action, clientFor, usage } from '../client.js';
import { CliError, printJson, printTable } from '../output.js';
import { withProgress } from '../progress.js';
import { collect, fetchList, integer, pairs, printList, printRecord, withListOptions, type ListOptions } from '../render.js';

type Json = { json?: boolean };
type Tenant = { tenant?: string };

const tasksFor = (cmd: Command) => tasksApi(clientFor(cmd).transport);
const withTenant = (cmd: Command) => cmd.option('--tenant <id>', "admins: act on another tenant's tasks");

export const taskRow = (t: TaskView) => ({
  id: t.id,
  kind: t.kind,
  state: t.state,
  attempt: `${t.attempt}/${t.max_attempts}`,
  priority: t.priority,
  worker: t.worker_id,
  created_at: t.created_at,
  ended_at: t.ended_at,
});

/** The fields people look at first, in a stable order; `--json` has everything. */
function summary(t: TaskView): Record<string, unknown> {
  return {
    id: t.id,
    kind: t.kind,
    state: t.state,
    attempt: `${t.attempt} of ${t.max_attempts}`,
    tenant: t.tenant_id,
    worker: t.worker_id,
    priority: t.priority,
    code_version: t.code_version,
    labels: Object.keys(t.labels).length ? t.labels : null,
    cancel_requested: t.cancel_requested || null,
    progress: t.progress,
    output: t.output,
    error: t.error ? `${t.error.message}${t.error.code ? ` (${t.error.code})` : ''}${t.error.retryable === false ? ' [not retryable]' : ''}` : null,
    artifacts: t.artifacts?.length ? t.artifacts.join(',') : null,
    created_at: t.created_at,
    started_at: t.started_at,
    ended_at: t.ended_at,
    deadline: t.deadline,
  };
}

function show(t: TaskView, o: Json): void {
  if (o.json) printJson(t);
  else printRecord(summary(t));
}

/** After a wait: 0 only when the task succeeded. */
function exitOnOutcome(t: TaskView, waited?: string): void {
  if (!isTerminal(t)) throw new CliError(`task ${t.id} is still ${t.state}${waited ? ` after ${waited}` : ''}`, 1);
  if (t.state !== 'succeeded') throw new CliError(`task ${t.id} ${t.state}${t.error ? `: ${t.error.message}` : ''}`, 1);
}

interface SubmitOptions extends Json, Tenant {
  input?: string;
  inputFile?: string;
  timeout?: string;
  maxAttempts?: string;
  retryBackoff?: string;
  priority?: string;
  codeVersion?: string;
  idempotencyKey?: string;
  label?: string[];
  wait?: boolean;
}

export function registerTask(program: Command): void {
  const task = program.command('task').description('submit, follow and manage remote tasks');

  withTenant(
    task
      .command('submit')
      .description('submit a task for a task worker that handles <kind>')
      .argument('<kind>', 'the task kind (a handler name on the task workers)')
      .option('--input <json>', 'the input, as JSON (default null)')
      .option('--input-file <path>', 'read the JSON input from a file; - reads stdin')
      .option('--timeout <duration>', 'deadline from now, e.g. 30s, 2h (default tasks.default_timeout)')
      .option('--max-attempts <n>', 'attempts before the task fails (default 3)')
      .option('--retry-backoff <duration>', 'first retry delay; doubles per attempt')
      .option('--priority <n>', 'higher runs first, -1000..1000 (default 0)')
      .option('--code-version <v>', 'only a task worker running exactly this code version receives it')
      .option('-l, --label <key=value>', 'a label (repeatable)', collect)
      .option('--idempotency-key <key>', 'a retry with the same key returns the same task')
      .option('--wait', 'wait until the task ends; exit 1 unless it succeeded')
      .option('--json', 'machine-readable output'),
  ).action(
    action(async (kind: string, o: SubmitOptions, cmd: Command) => {
      const body = submitBody(kind, o);
      const tasks = tasksFor(cmd);
      const submitted = await tasks.submit(body, { idempotencyKey: o.idempotencyKey, tenant: o.tenant });
      if (!o.wait) return show(submitted, o);
      const t = await withProgress(`task ${submitted.id} submitted, waiting for it to end`, () => tasks.wait(submitted.id, { tenant: o.tenant }));
      show(t, o);
      exitOnOutcome(t);
    }),
  );

  withTenant(
    withListOptions(
      task
        .command('ls')
        .description('list tasks, newest first')
        .option('--state <state>', `only this state (${TASK_STATES.join(', ')})`)
        .option('--kind <kind>', 'only this kind'),
    ),
  ).action(
    action(async (o: ListOptions & Tenant & { state?: string; kind?: string }, cmd: Command) => {
      if (o.state !== undefined && !TASK_STATES.includes(o.state as TaskView['state'])) throw usage(`--state ${o.state}: use one of ${TASK_STATES.join(', ')}`);
      const filter: TaskFilter = { state: o.state as TaskView['state'] | undefined, kind: o.kind, tenant: o.tenant };
      printList(await fetchList(tasksFor(cmd), filter, o), o, taskRow, 'no tasks');
    }),
  );

  withTenant(task.command('get').description('one task: state, attempt, progress, output or error').argument('<id>', 'task id').option('--json', 'machine-readable output')).action(
    action(async (id: string, o: Json & Tenant, cmd: Command) => show(await tasksFor(cmd).get(id, { tenant: o.tenant }), o)),
  );

  withTenant(
    task
      .command('wait')
      .description('wait until a task ends; exit 1 unless it succeeded')
      .argument('<id>', 'task id')
      .option('--timeout <duration>', 'give up after this long (exit 1), e.g. 5m; default: wait until it ends')
      .option('--json', 'machine-readable output'),
  ).action(
    action(async (id: string, o: Json & Tenant & { timeout?: string }, cmd: Command) => {
      const timeoutMs = o.timeout === undefined ? undefined : parseDuration(o.timeout);
      const t = await withProgress(`waiting for task ${id}`, () => tasksFor(cmd).wait(id, { timeoutMs, tenant: o.tenant }));
      show(t, o);
      exitOnOutcome(t, o.timeout);
    }),
  );

  withTenant(task.command('cancel').description('request cancellation (idempotent)').argument('<id>', 'task id').option('--json', 'machine-readable output')).action(
    action(async (id: string, o: Json & Tenant, cmd: Command) => {
      const t = await tasksFor(cmd).cancel(id, { tenant: o.tenant });
      if (o.json) return printJson(t);
      const note = isTerminal(t) ? '' : ' (cancel requested; the worker stops at its next heartbeat)';
      process.stdout.write(`task ${t.id} ${t.state}${note}\n`);
    }),
  );

  withTenant(
    task
      .command('artifacts')
      .description("list a task's artifacts; --download fetches them")
      .argument('<id>', 'task id')
      .option('--download <dir>', 'download every artifact into this directory')
      .option('--json', 'machine-readable output'),
  ).action(
    action(async (id: string, o: Json & Tenant & { download?: string }, cmd: Command) => {
      const items: TaskArtifactView[] = [];
      for await (const a of tasksFor(cmd).allArtifacts(id, { tenant: o.tenant })) items.push(a);
      if (o.download === undefined) {
        if (o.json) return printJson({ items });
        if (items.length === 0) return void process.stdout.write('no artifacts\n');
        return printTable(items.map((a) => ({ key: a.key, size: a.size, expires_at: a.expires_at })));
      }
      const saved: Array<{ key: string; path: string; size: number }> = [];
      for (const a of items) {
        const path = localPath(o.download, id, a.key);
        const size = await withProgress(`downloading ${a.key}`, () => download(a, path));
        saved.push({ key: a.key, path, size });
        if (!o.json) process.stdout.write(`${a.key} -> ${path} (${size} bytes)\n`);
      }
      if (o.json) printJson({ items: saved });
      else if (items.length === 0) process.stdout.write('no artifacts\n');
    }),
  );
}

function submitBody(kind: string, o: SubmitOptions): SubmitTaskRequest {
  if (o.input !== undefined && o.inputFile !== undefined) throw usage('--input and --input-file do not go together');
  const body: Record<string, unknown> = { kind };
  if (o.input !== undefined) body.input = parseJson('--input', o.input);
  if (o.inputFile !== undefined) body.input = parseJson(`--input-file ${o.inputFile}`, readInput(o.inputFile));
  if (o.timeout !== undefined) body.timeout_ms = parseDuration(o.timeout);
  if (o.maxAttempts !== undefined) body.max_attempts = integer('--max-attempts', o.maxAttempts, 1, 100);
  if (o.retryBackoff !== undefined) body.retry_backoff_ms = parseDuration(o.retryBackoff);
  if (o.priority !== undefined) body.priority = signedInteger('--priority', o.priority, -1000, 1000);
  if (o.codeVersion !== undefined) body.code_version = o.codeVersion;
  const labels = pairs('--label', o.label);
  if (labels) body.labels = labels;
  const r = submitTaskRequest.safeParse(body);
  if (!r.success) throw usage(`invalid task: ${r.error.issues.map((i) => `${i.path.join('.') || 'task'}: ${i.message}`).join('; ')}`);
  return body as SubmitTaskRequest;
}

function readInput(path: string): string {
  try {
    return path === '-' ? readFileSync(0, 'utf8') : readFileSync(path, 'utf8');
  } catch (err) {
    throw usage(`--input-file ${path}: ${(err as Error).message}`);
  }
}

function parseJson(flag: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw usage(`${flag} is not JSON: ${(err as Error).message}`);
  }
}

function signedInteger(flag: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || n < min || n > max) throw usage(`${flag} must be a whole number from ${min} to ${max}, not "${value}"`);
  return n;
}

/**
 * Where an artifact lands: its key below the task's `tasks/{id}/` prefix, under `dir`. Keys are
 * normalised by the server, but a path that would leave `dir` is refused here too.
 */
function localPath(dir: string, taskId: string, key: string): string {
  const prefix = `tasks/${taskId}/`;
  const rel = key.startsWith(prefix) ? key.slice(prefix.length) : key;
  const root = resolve(dir);
  const path = resolve(root, join(...rel.split('/')));
  const inside = relative(root, path);
  if (inside === '' || inside.startsWith(`..${sep}`) || inside === '..') throw new CliError(`artifact key ${key} does not map to a path inside ${dir}`, 1);
  return path;
}

/** The URL is the credential: no API key is sent with it. */
async function download(a: TaskArtifactView, path: string): Promise<number> {
  const res = await fetch(a.url);
  if (!res.ok || !res.body) throw new CliError(`downloading ${a.key} failed: HTTP ${res.status}`, 1);
  mkdirSync(dirname(path), { recursive: true });
  let size = 0;
  await pipeline(
    Readable.fromWeb(res.body as WebReadableStream<Uint8Array>),
    async function* count(chunks: AsyncIterable<Buffer>) {
      for await (const chunk of chunks) {
        size += chunk.length;
        yield chunk;
      }
    },
    createWriteStream(path),
  );
  return size;
}
