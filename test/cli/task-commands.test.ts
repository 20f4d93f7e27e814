/**
 * `drover task …` as a user runs them: the built CLI in a child process against a real control plane on
 * loopback, with a real task worker (the SDK's) in this process doing the work.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { NonRetryableError, type TaskWorker } from '../../src/sdk/task-worker/index.js';
import type { TaskView } from '../../src/sdk/tasks.js';
import { startTaskControlPlane, type TaskControlPlane } from '../sdk/task-worker/support/control-plane.js';
import { startWorker } from '../sdk/task-worker/support/worker-kit.js';
import { cliFor, emptyDir } from './api-support.js';

const BINARY = Buffer.from([0, 1, 2, 253, 254, 255, 10, 13, 0]);

describe('cli: task commands', () => {
  let cp: TaskControlPlane;
  let worker: TaskWorker;
  let cli: ReturnType<typeof cliFor>;

  before(async () => {
    cp = await startTaskControlPlane({ 'tasks.lease_ttl': 3_000 });
    cli = cliFor(cp.url, cp.apiKey);
    ({ worker } = startWorker(cp, {
      concurrency: 4,
      handlers: {
        'cli.echo': async (input: unknown, ctx) => ({ echo: input, attempt: ctx.task.attempt }),
        'cli.fail': async () => {
          throw new NonRetryableError('no such file', { code: 'E_MISSING' });
        },
        'cli.files': async (_input, ctx) => {
          await ctx.artifacts.put('report.txt', 'hello from the task\n');
          await ctx.artifacts.put('deep/dir/data.bin', BINARY);
          return { files: 2 };
        },
      },
    }));
    await worker.start();
  });
  after(async () => {
    await worker.stop({ timeoutMs: 500 });
    await cp.close();
  });

  it('submit --wait runs the task to the end and shows the output; --json gives the record', async () => {
    const r = await cli(['task', 'submit', 'cli.echo', '--input', '{"x": [1, 2]}', '--wait']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^id:\s+tsk_\S+$/m);
    assert.match(r.stdout, /^state:\s+succeeded$/m);
    assert.match(r.stdout, /^output:\s+\{"echo":\{"x":\[1,2\]\},"attempt":1\}$/m);
    assert.match(r.stdout, /^attempt:\s+1 of 3$/m);

    const j = await cli(['task', 'submit', 'cli.echo', '--input', '7', '--wait', '--json']);
    assert.equal(j.code, 0, j.stderr);
    const t = JSON.parse(j.stdout) as TaskView;
    assert.deepEqual([t.state, t.output], ['succeeded', { echo: 7, attempt: 1 }]);
  });

  it('submit takes every option; --input-file reads a file or stdin; the idempotency key replays', async () => {
    const dir = emptyDir();
    const file = join(dir, 'input.json');
    writeFileSync(file, JSON.stringify({ from: 'file' }));
    const args = [
      'task', 'submit', 'cli.nobody', '--input-file', file, '--timeout', '90s', '--max-attempts', '5', '--retry-backoff', '2s',
      '--priority', '-7', '--code-version', 'v9', '-l', 'team=media', '-l', 'env=ci', '--idempotency-key', 'cli-k-1', '--json',
    ];
    const r = await cli(args);
    assert.equal(r.code, 0, r.stderr);
    const t = JSON.parse(r.stdout) as TaskView;
    assert.deepEqual(
      [t.kind, t.state, t.input, t.max_attempts, t.retry_backoff_ms, t.priority, t.code_version, t.labels],
      ['cli.nobody', 'queued', { from: 'file' }, 5, 2_000, -7, 'v9', { team: 'media', env: 'ci' }],
    );
    const deadlineIn = Date.parse(t.deadline) - Date.parse(t.created_at);
    assert.ok(deadlineIn === 90_000, `deadline 90 s after submit (${deadlineIn})`);
    const replay = await cli(args);
    assert.equal(replay.code, 0, replay.stderr);
    assert.equal((JSON.parse(replay.stdout) as TaskView).id, t.id, 'the same key and body answer the same task');
    const reused = await cli(['task', 'submit', 'cli.nobody', '--input', '1', '--idempotency-key', 'cli-k-1']);
    assert.equal(reused.code, 1, 'the same key with another body is refused');
    assert.match(reused.stderr, /^drover: \S+: /m);

    const fromStdin = await cli(['task', 'submit', 'cli.echo', '--input-file', '-', '--wait', '--json'], { stdin: '{"via": "stdin"}' });
    assert.equal(fromStdin.code, 0, fromStdin.stderr);
    assert.deepEqual((JSON.parse(fromStdin.stdout) as TaskView).output, { echo: { via: 'stdin' }, attempt: 1 });
  });

  it('a failed task makes submit --wait and wait exit 1 with the error; get still exits 0', async () => {
    const r = await cli(['task', 'submit', 'cli.fail', '--wait']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^state:\s+failed$/m);
    assert.match(r.stdout, /^error:\s+no such file \(E_MISSING\) \[not retryable\]$/m);
    assert.match(r.stderr, /^drover: task tsk_\S+ failed: no such file$/m);
    const id = /^id:\s+(tsk_\S+)$/m.exec(r.stdout)![1]!;
    const w = await cli(['task', 'wait', id]);
    assert.equal(w.code, 1);
    const g = await cli(['task', 'get', id, '--json']);
    assert.equal(g.code, 0, g.stderr);
    assert.equal((JSON.parse(g.stdout) as TaskView).state, 'failed');
  });

  it('wait --timeout gives up with exit 1 on a task nobody runs; cancel ends it', async () => {
    const t = JSON.parse((await cli(['task', 'submit', 'cli.nobody', '--json'])).stdout) as TaskView;
    const w = await cli(['task', 'wait', t.id, '--timeout', '300ms']);
    assert.equal(w.code, 1);
    assert.match(w.stderr, new RegExp(`task ${t.id} is still queued after 300ms`));
    const c = await cli(['task', 'cancel', t.id]);
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stdout, new RegExp(`^task ${t.id} cancelled`, 'm'));
    const after = await cli(['task', 'wait', t.id, '--json']);
    assert.equal(after.code, 1);
    assert.equal((JSON.parse(after.stdout) as TaskView).state, 'cancelled');
  });

  it('ls filters by state and kind, as a table or JSON', async () => {
    await cli(['task', 'submit', 'cli.echo', '--input', '1', '--wait']);
    const table = await cli(['task', 'ls', '--kind', 'cli.echo', '--state', 'succeeded']);
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trim().split('\n');
    assert.match(lines[0]!, /^ID\s+KIND\s+STATE\s+ATTEMPT\s+PRIORITY\s+WORKER\s+CREATED_AT\s+ENDED_AT$/);
    assert.ok(lines.length >= 2);
    assert.ok(lines.slice(1).every((l) => /\bcli\.echo\s+succeeded\s+1\/3\b/.test(l)), table.stdout);
    const j = JSON.parse((await cli(['task', 'ls', '--kind', 'cli.fail', '--json'])).stdout) as { items: TaskView[]; next_cursor: string | null };
    assert.ok(j.items.length >= 1 && j.items.every((t) => t.kind === 'cli.fail'));
    const none = await cli(['task', 'ls', '--kind', 'cli.never']);
    assert.equal(none.stdout, 'no tasks\n');
  });

  it('artifacts lists keys and sizes, and --download writes the files byte for byte (no key sent to the URL)', async () => {
    const r = await cli(['task', 'submit', 'cli.files', '--wait', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const t = JSON.parse(r.stdout) as TaskView;
    const list = await cli(['task', 'artifacts', t.id]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^KEY\s+SIZE\s+EXPIRES_AT$/m);
    assert.match(list.stdout, new RegExp(`^tasks/${t.id}/report\\.txt\\s+20\\s`, 'm'));
    assert.match(list.stdout, new RegExp(`^tasks/${t.id}/deep/dir/data\\.bin\\s+9\\s`, 'm'));

    const dir = emptyDir();
    const d = await cli(['task', 'artifacts', t.id, '--download', dir]);
    assert.equal(d.code, 0, d.stderr);
    assert.equal(readFileSync(join(dir, 'report.txt'), 'utf8'), 'hello from the task\n');
    assert.ok(readFileSync(join(dir, 'deep', 'dir', 'data.bin')).equals(BINARY));
    assert.match(d.stdout, /report\.txt -> .*report\.txt \(20 bytes\)/);

    const j = JSON.parse((await cli(['task', 'artifacts', t.id, '--json'])).stdout) as { items: Array<{ key: string; url: string }> };
    assert.equal(j.items.length, 2);
    assert.ok(j.items.every((a) => a.url.includes('/api/v1/blobs/') && !a.url.includes(cp.apiKey)));
  });

  it('bad input is a usage error (2) before anything is sent; an API refusal is 1', async () => {
    const before = (await cp.tasks.list({ limit: 1000 })).items.length;
    const cases = await Promise.all([
      cli(['task', 'submit', 'cli.echo', '--input', '{not json']),
      cli(['task', 'submit', 'cli.echo', '--input', '1', '--input-file', '-']),
      cli(['task', 'submit', 'cli.echo', '--input-file', '/nonexistent/input.json']),
      cli(['task', 'submit', 'cli.echo', '--priority', 'high']),
      cli(['task', 'submit', 'cli.echo', '--priority', '5000']),
      cli(['task', 'submit', 'cli.echo', '--max-attempts', '0']),
      cli(['task', 'submit', 'cli.echo', '--timeout', 'forever']),
      cli(['task', 'submit', 'bad kind!']),
      cli(['task', 'submit', 'cli.echo', '-l', 'novalue']),
      cli(['task', 'submit']),
      cli(['task', 'ls', '--state', 'sleeping']),
      cli(['task', 'wait', 'tsk_x', '--timeout', 'soon']),
      cli(['task', 'get']),
    ]);
    cases.forEach((r, i) => assert.equal(r.code, 2, `case ${i}: ${r.stderr}`));
    assert.equal((await cp.tasks.list({ limit: 1000 })).items.length, before, 'no task was submitted');

    const missing = await cli(['task', 'get', 'tsk_doesnotexist']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^drover: not_found: /m);
    const anonymous = await cliFor(cp.url, 'drv_wrong')(['task', 'ls']);
    assert.equal(anonymous.code, 1);
    assert.match(anonymous.stderr, /unauthorized/);
  });
});
