/**
 * `drover worker-tokens create|ls|revoke` (admin): credentials for workers, issued through the API. Like
 * `keys create`, `create` prints the token once; nothing else ever shows it.
 */
import type { Command } from 'commander';
import { parseDuration } from '../../domain/duration.js';
import { WORKER_TOKEN_SCOPES } from '../../protocol/admin.js';
import type { CreateWorkerTokenRequest, WorkerTokenView } from '../../sdk/index.js';
import { action, clientFor, usage } from '../client.js';
import { printJson, printTable } from '../output.js';
import { collect, fetchList, printList, withListOptions, type ListOptions } from '../render.js';

type Scope = (typeof WORKER_TOKEN_SCOPES)[number];

const row = (t: WorkerTokenView) => ({
  id: t.id,
  worker: t.worker_id,
  name: t.name,
  scopes: t.scopes.join(','),
  expires_at: t.expires_at,
  revoked_at: t.revoked_at,
});

export function registerWorkerTokens(program: Command): void {
  const tokens = program.command('worker-tokens').description('worker credentials issued through the API (admin)');

  tokens
    .command('create')
    .description('issue a worker token (default: all worker scopes, any worker id, no expiry); printed once')
    .option('--worker <id>', 'only this worker id may use it')
    .option('--name <name>', 'a label for people')
    .option('--scope <scope>', `repeatable; one of ${WORKER_TOKEN_SCOPES.join(', ')}`, collect)
    .option('--ttl <duration>', 'expire after this long, e.g. 30d')
    .option('--idempotency-key <key>', 'a retry with the same key names the same token (without its secret)')
    .option('--json', 'machine-readable output (includes the token)')
    .action(
      action(async (o: { worker?: string; name?: string; scope?: string[]; ttl?: string; idempotencyKey?: string; json?: boolean }, cmd: Command) => {
        for (const s of o.scope ?? []) if (!WORKER_TOKEN_SCOPES.includes(s as Scope)) throw usage(`--scope ${s}: use one of ${WORKER_TOKEN_SCOPES.join(', ')}`);
        const body: CreateWorkerTokenRequest = {
          worker_id: o.worker,
          name: o.name,
          scopes: o.scope as Scope[] | undefined,
          ttl_ms: o.ttl === undefined ? undefined : parseDuration(o.ttl),
        };
        const t = await clientFor(cmd).workerTokens.create(body, { idempotencyKey: o.idempotencyKey });
        if (o.json) return printJson(t);
        printTable([{ id: t.id, worker: t.worker_id, name: t.name, scopes: t.scopes.join(','), expires_at: t.expires_at }]);
        if (t.token) process.stdout.write(`\ntoken (shown only now; give it to the worker as worker.token):\n${t.token}\n`);
        else process.stdout.write('\nthis was a replay of an earlier create: the token itself is not shown again; revoke it if it was lost\n');
      }),
    );

  withListOptions(tokens.command('ls').description('list issued worker tokens (never their secrets)')).action(
    action(async (o: ListOptions, cmd: Command) => printList(await fetchList(clientFor(cmd).workerTokens, {}, o), o, row, 'no worker tokens')),
  );

  tokens
    .command('revoke')
    .description('revoke a worker token; it stops working at once')
    .argument('<id>', 'token id (wtk_…)')
    .option('--json', 'machine-readable output')
    .action(
      action(async (id: string, o: { json?: boolean }, cmd: Command) => {
        const t = await clientFor(cmd).workerTokens.revoke(id);
        if (o.json) printJson(t);
        else process.stdout.write(`worker token ${t.id} revoked at ${t.revoked_at}\n`);
      }),
    );
}
