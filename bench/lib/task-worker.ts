/**
 * A benchmark task worker: `createTaskWorker` from the SDK with one no-op handler, in its own process
 * (the `tasks` benchmark runs four). It leases nothing until the `go` command on stdin, so the
 * throughput clock starts with every worker already up. It reports on stdout, in batches to keep its own
 * overhead small, one line per event: `{"s":id,"at":ms}` when a handler starts (wall clock, for
 * submit→start latency) and `{"d":id,"r":result}` when a task is settled. `stop` (or stdin closing)
 * stops the worker and exits.
 *
 *   env: BW_URL, BW_TOKEN, BW_ID, BW_KIND, BW_CONCURRENCY
 */
import { createInterface } from 'node:readline';
import { createTaskWorker } from '../../src/sdk/task-worker/index.js';

const env = process.env;
/**
 * Wall-clock ms with sub-ms resolution: the process's start on the wall clock plus the monotonic time
 * since. The benchmark uses the same in its own process, so times compare across processes on one host.
 */
const wallClock = () => performance.timeOrigin + performance.now();
let buffered: string[] = [];
const flush = () => {
  if (buffered.length === 0) return;
  process.stdout.write(buffered.join(''));
  buffered = [];
};
const out = (line: unknown) => {
  if (buffered.length === 0) setTimeout(flush, 5);
  buffered.push(`${JSON.stringify(line)}\n`);
};

const worker = createTaskWorker({
  url: env.BW_URL!,
  workerId: env.BW_ID!,
  token: env.BW_TOKEN!,
  concurrency: Number(env.BW_CONCURRENCY ?? 8),
  handlers: {
    [env.BW_KIND!]: async (_input, ctx) => {
      out({ s: ctx.task.id, at: wallClock() });
      return null;
    },
  },
});
worker.on('task.settled', (s) => out({ d: s.task.id, r: s.result }));
worker.on('lease.error', ({ error }) => out({ e: error.message }));

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await worker.stop({ timeoutMs: 5_000 });
  flush();
  process.exit(0);
};
createInterface({ input: process.stdin })
  .on('line', (line) => {
    if (line === 'go') void worker.start().then(() => out({ ready: true }));
    if (line === 'stop') void stop();
  })
  .on('close', () => void stop());
process.stdout.write(`${JSON.stringify({ up: true })}\n`);
