/**
 * A real task-worker process for end-to-end tests: `createTaskWorker` from the SDK in a child process,
 * so a test can SIGKILL, SIGSTOP and SIGCONT it like any worker in production. This file has two
 * halves: run as a script it is the child; imported, `startTaskWorkerProcess` is the parent's handle.
 *
 * Child configuration, all through the environment (the token never on a command line):
 *   TW_URL, TW_TOKEN, TW_ID          control plane, worker token, worker id
 *   TW_CONCURRENCY                   slots (default 8)
 *   TW_KINDS                         comma list of `kind=handler` or `handler` (kind = handler name);
 *                                    handlers: noop, sleep, artifact, fail (see `handlerFor`)
 *   TW_CODE_VERSION                  optional
 *   TW_LEASE_WAIT_MS                 the long poll (default 5000)
 *   TW_CLOCK_SKEW_MS                 the SDK's clock runs this far ahead (negative: behind) of the host's;
 *                                    event lines keep the host's time
 *   TW_HOLD                          hold fenced writes before they are sent, to model a process paused
 *                                    between deciding to send and sending:
 *                                      `release:heartbeat,presign,report` — the first write of each
 *                                      listed kind waits for the `release` command;
 *                                      `random:<p>:<maxMs>` — each write waits 0..maxMs with probability p.
 *                                    A held write goes out even if the SDK gave up on it meanwhile (it was
 *                                    "on the wire"); the SDK then sees its abort, as fetch would answer.
 *
 * It writes one JSON line per event to stdout: `ready`, `lease` (a task received), `write` (a heartbeat,
 * presign or report sent, with the answer), `hold`, `start`/`end` (the handler), `abort`, `settled`,
 * `lease_error`, `log` (SDK warnings), `stopped`. Commands on stdin: `release`, `stop`; stdin closing
 * stops the worker too, so a child cannot outlive its test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createTaskWorker, NonRetryableError, type TaskContext, type TaskHandler } from '../../../src/sdk/task-worker/index.js';
import type { HistoryRecord } from './history.js';

// ---- shared by both halves -------------------------------------------------------------------------

/** Deterministic bytes: every byte value first (0..255), then xorshift32 noise from `seed`. */
export function artifactBytes(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  let x = (seed >>> 0) || 0x9e3779b9;
  for (let i = 0; i < size; i++) {
    if (i < 256) {
      out[i] = i;
      continue;
    }
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

export const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

export interface ArtifactSpec {
  name: string;
  size: number;
  seed: number;
  /** `stream`: a Readable in uneven chunks with `size` given; `buffer`: one Buffer. */
  mode: 'buffer' | 'stream';
}

/** One event line from a worker process. */
export interface WorkerLine {
  ev: string;
  /** Worker id. */
  w: string;
  at: number;
  task?: string;
  gen?: number;
  attempt?: number;
  [field: string]: unknown;
}

// ---- the child -------------------------------------------------------------------------------------

type Emit = (ev: string, fields?: Record<string, unknown>) => void;

const WRITE_PATH = /\/api\/v1\/worker\/[^/]+\/tasks\/(?:(lease)|([^/]+)\/(heartbeat|report|presign))$/;

type HoldPlan = { mode: 'none' } | { mode: 'release'; kinds: Set<string> } | { mode: 'random'; p: number; maxMs: number };

function parseHold(spec: string | undefined): HoldPlan {
  if (!spec) return { mode: 'none' };
  const [mode, a, b] = spec.split(':');
  if (mode === 'release') return { mode, kinds: new Set((a ?? '').split(',').filter(Boolean)) };
  if (mode === 'random') return { mode, p: Number(a), maxMs: Number(b) };
  throw new Error(`TW_HOLD: unknown mode ${spec}`);
}

/**
 * The worker's fetch, recording every protocol call as a line (and holding writes per TW_HOLD). Artifact
 * transfers (blob URLs, S3) pass straight through, recorded without their URLs.
 */
function recordingFetch(emit: Emit, hold: HoldPlan, released: Promise<void>): typeof fetch {
  const real = globalThis.fetch;
  const heldOnce = new Set<string>();
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const m = WRITE_PATH.exec(url.pathname);
    if (!m) {
      const res = await real(input, init);
      emit('blob', { method: init?.method ?? 'GET', status: res.status });
      return res;
    }
    if (m[1]) {
      const sent = Date.now();
      const res = await real(input, init);
      if (!res.ok) return res;
      const text = await res.text();
      const body = JSON.parse(text) as { tasks: Array<{ task: { id: string; attempt: number }; lease: { generation: number; expires_at: string } }> };
      for (const t of body.tasks) emit('lease', { task: t.task.id, gen: t.lease.generation, attempt: t.task.attempt, sent, lease_expires_at: t.lease.expires_at });
      return new Response(text, { status: res.status, statusText: res.statusText, headers: res.headers });
    }
    const task = decodeURIComponent(m[2]!);
    const kind = m[3]!;
    const sentBody = JSON.parse(String(init?.body ?? '{}')) as { generation?: number; outcome?: { status?: string } };
    const gen = sentBody.generation ?? 0;
    const signal = init?.signal ?? undefined;
    let holdMs: number | 'release' | undefined;
    if (hold.mode === 'release' && hold.kinds.has(kind) && !heldOnce.has(kind)) {
      heldOnce.add(kind);
      holdMs = 'release';
    } else if (hold.mode === 'random' && Math.random() < hold.p) holdMs = Math.floor(Math.random() * hold.maxMs);
    if (holdMs !== undefined) {
      emit('hold', { kind, task, gen, ms: holdMs });
      await (holdMs === 'release' ? released : delay(holdMs));
    }
    const sent = Date.now();
    let res: Response;
    try {
      // A held write is sent whatever became of the SDK's signal meanwhile: it models bytes already
      // committed to the wire when the process stopped.
      res = await real(input, { ...init, signal: holdMs === undefined ? signal : undefined });
    } catch (err) {
      emit('write', { kind, task, gen, sent, status: 0, error: (err as Error).message });
      throw err;
    }
    const text = await res.text();
    let reply: { replay?: boolean; task?: { state?: string }; cancel?: boolean; lease_expires_at?: string; error?: { code?: string } } = {};
    try {
      reply = JSON.parse(text) as typeof reply;
    } catch {
      // not JSON: recorded by status alone
    }
    emit('write', {
      kind,
      task,
      gen,
      sent,
      status: res.status,
      ...(reply.error?.code ? { code: reply.error.code } : {}),
      ...(kind === 'report' ? { outcome: sentBody.outcome?.status, state: reply.task?.state, replay: reply.replay } : {}),
      ...(kind === 'heartbeat' && res.ok ? { cancel: reply.cancel, lease_expires_at: reply.lease_expires_at } : {}),
    });
    if (holdMs !== undefined && signal?.aborted) throw signal.reason;
    return new Response(text, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return delay(ms, undefined, { signal });
}

/** Uneven chunks, so the upload path sees more than one buffer boundary. */
function* chunksOf(bytes: Buffer): Generator<Buffer> {
  const sizes = [1, 4093, 65_537, 16_384];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const n = sizes[i % sizes.length]!;
    yield bytes.subarray(at, at + n);
    at += n;
  }
}

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(parts);
}

function handlerFor(name: string, workerId: string, emit: Emit): TaskHandler {
  const run = (body: (input: Record<string, unknown>, ctx: TaskContext) => Promise<unknown>): TaskHandler =>
    async (input: Record<string, unknown> | null, ctx) => {
      const base = { task: ctx.task.id, gen: ctx.task.generation, attempt: ctx.task.attempt };
      emit('start', base);
      try {
        const out = await body(input ?? {}, ctx);
        emit('end', { ...base, ok: true });
        return out;
      } catch (err) {
        emit('end', { ...base, ok: false, error: (err as Error).message });
        throw err;
      }
    };
  switch (name) {
    case 'noop':
      return run(async (_input, ctx) => ({ by: workerId, gen: ctx.task.generation }));
    case 'sleep':
      // `ms` on the first attempt, `retry_ms` (default `ms`) on later ones: a retry can finish quickly.
      return run(async (input, ctx) => {
        const ms = Number(ctx.task.attempt === 1 ? input.ms : (input.retry_ms ?? input.ms));
        await abortableSleep(ms, ctx.signal);
        return { by: workerId, gen: ctx.task.generation, slept: ms };
      });
    case 'artifact':
      return run(async (input, ctx) => {
        const files: Array<Record<string, unknown>> = [];
        for (const spec of input.files as ArtifactSpec[]) {
          const bytes = artifactBytes(spec.size, spec.seed);
          const put =
            spec.mode === 'buffer'
              ? await ctx.artifacts.put(spec.name, bytes)
              : await ctx.artifacts.put(spec.name, Readable.from(chunksOf(bytes)), { size: bytes.length });
          const back = await readAll(await ctx.artifacts.get(spec.name));
          files.push({ name: spec.name, key: put.key, size: put.size, sha256: put.sha256, get_size: back.length, get_sha256: sha256(back) });
        }
        return { by: workerId, files };
      });
    case 'fail':
      return run(async (input, ctx) => {
        const message = `${String(input.message ?? 'failed')} (attempt ${ctx.task.attempt})`;
        throw input.retryable === false ? new NonRetryableError(message) : new Error(message);
      });
    default:
      throw new Error(`unknown handler ${name}`);
  }
}

async function runChild(env: NodeJS.ProcessEnv): Promise<void> {
  const id = env.TW_ID!;
  const emit: Emit = (ev, fields = {}) => process.stdout.write(`${JSON.stringify({ ev, w: id, at: Date.now(), ...fields })}\n`);
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const handlers: Record<string, TaskHandler> = {};
  for (const entry of (env.TW_KINDS ?? '').split(',').filter(Boolean)) {
    const [kind, handler] = entry.includes('=') ? entry.split('=') : [entry, entry];
    handlers[kind!] = handlerFor(handler!, id, emit);
  }
  const worker = createTaskWorker({
    url: env.TW_URL!,
    workerId: id,
    token: env.TW_TOKEN!,
    concurrency: Number(env.TW_CONCURRENCY ?? 8),
    handlers,
    leaseWaitMs: Number(env.TW_LEASE_WAIT_MS ?? 5_000),
    fetch: recordingFetch(emit, parseHold(env.TW_HOLD), released),
    ...(env.TW_CODE_VERSION ? { codeVersion: env.TW_CODE_VERSION } : {}),
    ...(env.TW_CLOCK_SKEW_MS ? { clock: { now: () => Date.now() + Number(env.TW_CLOCK_SKEW_MS) } } : {}),
    logger: {
      debug() {},
      info() {},
      warn: (message, fields) => emit('log', { level: 'warn', message, ...fields }),
      error: (message, fields) => emit('log', { level: 'error', message, ...fields }),
    },
  });
  worker.on('task.aborted', ({ task, reason }) => emit('abort', { task: task.id, gen: task.generation, reason: reason.kind }));
  worker.on('task.settled', (s) => emit('settled', { task: s.task.id, gen: s.task.generation, result: s.result, ...(s.reported ? {} : { reason: s.reason }) }));
  worker.on('lease.error', ({ error }) => emit('lease_error', { message: error.message }));

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= worker.stop({ timeoutMs: 2_000 }).then(() => {
      emit('stopped');
      process.exit(0);
    }));
  createInterface({ input: process.stdin })
    .on('line', (line) => {
      if (line === 'release') release();
      if (line === 'stop') void stop();
    })
    .on('close', () => void stop());
  await worker.start();
  emit('ready', { kinds: Object.keys(handlers) });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await runChild(process.env);

// ---- the parent's handle ---------------------------------------------------------------------------

export interface TaskWorkerProcessOptions {
  url: string;
  token: string;
  id: string;
  kinds: string[];
  concurrency?: number;
  codeVersion?: string;
  hold?: string;
  leaseWaitMs?: number;
  clockSkewMs?: number;
}

export interface TaskWorkerProcess {
  id: string;
  pid: number;
  proc: ChildProcess;
  /** Every line so far, in order. */
  lines: WorkerLine[];
  /** The first line (so far or to come) that matches; rejects after `timeoutMs` or if the process exits. */
  waitFor(match: (l: WorkerLine) => boolean, what: string, timeoutMs?: number): Promise<WorkerLine>;
  command(cmd: 'release' | 'stop'): void;
  signal(sig: NodeJS.Signals): void;
  /** Graceful (the `stop` command), then SIGKILL if it has not exited within `timeoutMs`. */
  stop(timeoutMs?: number): Promise<void>;
  exited: Promise<void>;
  /** This worker's leases and writes as history records. */
  history(): HistoryRecord[];
  stderr(): string;
}

const ENTRY = fileURLToPath(import.meta.url);

export async function startTaskWorkerProcess(o: TaskWorkerProcessOptions): Promise<TaskWorkerProcess> {
  const proc = spawn(process.execPath, ['--enable-source-maps', ENTRY], {
    env: {
      PATH: process.env.PATH ?? '',
      TW_URL: o.url,
      TW_TOKEN: o.token,
      TW_ID: o.id,
      TW_KINDS: o.kinds.join(','),
      TW_CONCURRENCY: String(o.concurrency ?? 8),
      TW_LEASE_WAIT_MS: String(o.leaseWaitMs ?? 5_000),
      ...(o.codeVersion ? { TW_CODE_VERSION: o.codeVersion } : {}),
      ...(o.hold ? { TW_HOLD: o.hold } : {}),
      ...(o.clockSkewMs ? { TW_CLOCK_SKEW_MS: String(o.clockSkewMs) } : {}),
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines: WorkerLine[] = [];
  const watchers = new Set<(l: WorkerLine) => void>();
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  createInterface({ input: proc.stdout! }).on('line', (text) => {
    let line: WorkerLine;
    try {
      line = JSON.parse(text) as WorkerLine;
    } catch {
      stderr += `${text}\n`;
      return;
    }
    lines.push(line);
    for (const w of [...watchers]) w(line);
  });
  let gone = false;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => ((gone = true), resolve())));
  // A stopped or killed child must not take the test down with EPIPE on its stdin.
  proc.stdin!.on('error', () => undefined);

  const waitFor = (match: (l: WorkerLine) => boolean, what: string, timeoutMs = 20_000) => {
    const found = lines.find(match);
    if (found) return Promise.resolve(found);
    return new Promise<WorkerLine>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        watchers.delete(watch);
      };
      const watch = (l: WorkerLine) => {
        if (!match(l)) return;
        done();
        resolve(l);
      };
      const timer = setTimeout(() => (done(), reject(new Error(`${o.id}: no ${what} within ${timeoutMs} ms; stderr:\n${stderr.slice(-2000)}`))), timeoutMs);
      watchers.add(watch);
      void exited.then(() => {
        if (!watchers.has(watch)) return;
        done();
        reject(new Error(`${o.id} exited before ${what}; stderr:\n${stderr.slice(-2000)}`));
      });
    });
  };

  const handle: TaskWorkerProcess = {
    id: o.id,
    pid: proc.pid!,
    proc,
    lines,
    waitFor,
    command: (cmd) => {
      if (!gone) proc.stdin!.write(`${cmd}\n`);
    },
    signal: (sig) => {
      if (!gone) proc.kill(sig);
    },
    async stop(timeoutMs = 10_000) {
      if (gone) return;
      proc.kill('SIGCONT'); // a paused child would never read the command
      handle.command('stop');
      const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
    },
    exited,
    history: () => workerHistory(lines),
    stderr: () => stderr,
  };
  await waitFor((l) => l.ev === 'ready', 'ready line');
  return handle;
}

/** A worker's `lease` and `write` lines as history records. */
export function workerHistory(lines: readonly WorkerLine[]): HistoryRecord[] {
  const out: HistoryRecord[] = [];
  for (const l of lines) {
    if (l.ev === 'lease') out.push({ op: 'lease', task: l.task!, gen: l.gen!, worker: l.w, sent: l.sent as number, at: l.at });
    if (l.ev === 'write') {
      out.push({
        op: 'write',
        kind: l.kind as 'heartbeat' | 'presign' | 'report',
        task: l.task!,
        gen: l.gen!,
        worker: l.w,
        sent: l.sent as number,
        at: l.at,
        status: l.status as number,
        ...(typeof l.code === 'string' ? { code: l.code } : {}),
        ...(typeof l.outcome === 'string' ? { outcome: l.outcome } : {}),
        ...(typeof l.state === 'string' ? { state: l.state } : {}),
        ...(typeof l.replay === 'boolean' ? { replay: l.replay } : {}),
      });
    }
  }
  return out;
}
