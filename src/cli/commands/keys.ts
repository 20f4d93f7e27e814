/**
 * `drover keys create|ls|revoke` (admin). `create` is the one command that prints a secret: the API
 * shows a key only in its create reply, so this is the user's one chance to copy it.
 */
import { Option, type Command } from 'commander';
import { ROLES } from '../../protocol/admin.js';
import type { CreateKeyRequest, KeyView } from '../../sdk/index.js';
import { action, clientFor } from '../client.js';
import { printJson, printTable } from '../output.js';
import { fetchList, printList, withListOptions, type ListOptions } from '../render.js';

const row = (k: KeyView) => ({
  id: k.id,
  name: k.name,
  role: k.role,
  tenant: k.tenant_id,
  created_at: k.created_at,
  last_used_at: k.last_used_at,
  revoked_at: k.revoked_at,
});

export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('API keys (admin)');

  keys
    .command('create')
    .description('create an API key; the key is printed once and cannot be shown again')
    .addOption(new Option('--role <role>', 'what the key may do').choices(ROLES).makeOptionMandatory())
    .requiredOption('--tenant <id>', 'the tenant it acts for (created if missing)')
    .option('--name <name>', 'a label for people')
    .option('--idempotency-key <key>', 'a retry with the same key names the same API key (without its secret)')
    .option('--json', 'machine-readable output (includes the key)')
    .action(
      action(async (o: { role: CreateKeyRequest['role']; tenant: string; name?: string; idempotencyKey?: string; json?: boolean }, cmd: Command) => {
        const k = await clientFor(cmd).keys.create({ role: o.role, tenant_id: o.tenant, name: o.name }, { idempotencyKey: o.idempotencyKey });
        if (o.json) return printJson(k);
        printTable([{ id: k.id, name: k.name, role: k.role, tenant: k.tenant_id, created_at: k.created_at }]);
        if (k.key) process.stdout.write(`\nkey (shown only now; store it somewhere safe):\n${k.key}\n`);
        else process.stdout.write('\nthis was a replay of an earlier create: the key itself is not shown again; revoke it if it was lost\n');
      }),
    );

  withListOptions(keys.command('ls').description('list API keys (never their secrets)').option('--tenant <id>', 'only this tenant')).action(
    action(async (o: ListOptions & { tenant?: string }, cmd: Command) => {
      printList(await fetchList(clientFor(cmd).keys, { tenant: o.tenant }, o), o, row, 'no keys');
    }),
  );

  keys
    .command('revoke')
    .description('revoke an API key; it stops working at once')
    .argument('<id>', 'key id (key_…)')
    .option('--json', 'machine-readable output')
    .action(
      action(async (id: string, o: { json?: boolean }, cmd: Command) => {
        const k = await clientFor(cmd).keys.revoke(id);
        if (o.json) printJson(k);
        else process.stdout.write(`key ${k.id} revoked at ${k.revoked_at}\n`);
      }),
    );
}
