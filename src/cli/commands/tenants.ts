/**
 * `drover tenants ls|get|create|update|rm|quota` (admin), and `drover tenants quota` without an id for
 * any key: its own tenant's limits and usage.
 */
import type { Command } from 'commander';
import { parseDuration } from '../../domain/duration.js';
import { QUOTA_FIELDS } from '../../protocol/admin.js';
import type { OwnQuotaView, PutQuotaRequest, QuotaView, TenantView } from '../../sdk/index.js';
import { action, clientFor, usage } from '../client.js';
import { printJson, printTable } from '../output.js';
import { collect, decimal, fetchList, integer, mebibytes, pairs, printList, printRecord, withListOptions, type ListOptions } from '../render.js';

type Json = { json?: boolean };
type QuotaField = (typeof QUOTA_FIELDS)[number];

const row = (t: TenantView) => ({ id: t.id, name: t.name, created_at: t.created_at, updated_at: t.updated_at });

/** `--set max_cpu=2 --set max_ttl_ms=2h --set max_sandboxes=unlimited` → a quota patch. */
export function quotaPatch(sets: string[] | undefined): PutQuotaRequest {
  const patch: Record<string, number | null> = {};
  for (const [key, raw] of Object.entries(pairs('--set', sets) ?? {})) {
    if (!QUOTA_FIELDS.includes(key as QuotaField)) throw usage(`--set ${key}: not a quota field; use ${QUOTA_FIELDS.join(', ')}`);
    const flag = `--set ${key}`;
    if (['unlimited', 'null', 'none'].includes(raw)) patch[key] = null;
    else if (key === 'max_cpu') patch[key] = decimal(flag, raw);
    else if (key.endsWith('_ms')) patch[key] = parseDuration(raw);
    else if (key === 'max_memory_mb') patch[key] = /^\d+$/.test(raw) ? integer(flag, raw, 0) : mebibytes(flag, raw);
    else patch[key] = integer(flag, raw, 0);
  }
  return patch as PutQuotaRequest;
}

const limits = (q: Omit<QuotaView, 'tenant_id'>) => Object.fromEntries(QUOTA_FIELDS.map((f) => [f, q[f] ?? 'unlimited']));

function printOwn(q: OwnQuotaView): void {
  const used: Record<string, number> = { max_sandboxes: q.usage.sandboxes, max_cpu: q.usage.cpu, max_memory_mb: q.usage.memory_mb, max_running_tasks: q.usage.running_tasks };
  process.stdout.write(`tenant ${q.tenant_id}\n`);
  printTable(QUOTA_FIELDS.map((f) => ({ limit: f, value: q.quota[f] ?? 'unlimited', used: used[f] ?? null })));
}

export function registerTenants(program: Command): void {
  const tenants = program.command('tenants').description('tenants and their quotas (admin; `quota` without an id: any key)');

  withListOptions(tenants.command('ls').description('list tenants')).action(
    action(async (o: ListOptions, cmd: Command) => printList(await fetchList(clientFor(cmd).tenants, {}, o), o, row, 'no tenants')),
  );

  tenants
    .command('get')
    .description('one tenant')
    .argument('<id>', 'tenant id')
    .option('--json', 'machine-readable output')
    .action(
      action(async (id: string, o: Json, cmd: Command) => {
        const t = await clientFor(cmd).tenants.get(id);
        if (o.json) printJson(t);
        else printRecord(t);
      }),
    );

  tenants
    .command('create')
    .description('create a tenant (keys can also create one implicitly)')
    .argument('<id>', 'tenant id: 1-63 of [a-z0-9._-]')
    .option('--name <name>', 'display name (default: the id)')
    .option('--json', 'machine-readable output')
    .action(
      action(async (id: string, o: Json & { name?: string }, cmd: Command) => {
        const t = await clientFor(cmd).tenants.create({ id, name: o.name });
        if (o.json) printJson(t);
        else process.stdout.write(`tenant ${t.id} created\n`);
      }),
    );

  tenants
    .command('update')
    .description('rename a tenant (its id never changes)')
    .argument('<id>', 'tenant id')
    .requiredOption('--name <name>', 'the new display name')
    .option('--json', 'machine-readable output')
    .action(
      action(async (id: string, o: Json & { name: string }, cmd: Command) => {
        const t = await clientFor(cmd).tenants.update(id, { name: o.name });
        if (o.json) printJson(t);
        else process.stdout.write(`tenant ${t.id} is now named "${t.name}"\n`);
      }),
    );

  tenants
    .command('rm')
    .description('delete a tenant; refused while it owns sandboxes, tasks, templates or unrevoked keys')
    .argument('<id>', 'tenant id')
    .option('--json', 'machine-readable output')
    .action(
      action(async (id: string, o: Json, cmd: Command) => {
        const t = await clientFor(cmd).tenants.delete(id);
        if (o.json) printJson(t);
        else process.stdout.write(`tenant ${t.id} deleted\n`);
      }),
    );

  tenants
    .command('quota')
    .description("show a tenant's quota, or change it with --set; without an id: your own tenant's limits and usage")
    .argument('[id]', 'tenant id (admin)')
    .option('--set <field=value>', `repeatable; fields ${QUOTA_FIELDS.join(', ')}; value a number, a duration for *_ms, or "unlimited"`, collect)
    .option('--json', 'machine-readable output')
    .action(
      action(async (id: string | undefined, o: Json & { set?: string[] }, cmd: Command) => {
        const client = clientFor(cmd);
        if (id === undefined) {
          if (o.set) throw usage('--set needs a tenant id: drover tenants quota <id> --set field=value');
          const own = await client.quota();
          return o.json ? printJson(own) : printOwn(own);
        }
        const q = o.set ? await client.tenants.putQuota(id, quotaPatch(o.set)) : await client.tenants.getQuota(id);
        if (o.json) return printJson(q);
        process.stdout.write(`tenant ${q.tenant_id}\n`);
        printTable(Object.entries(limits(q)).map(([limit, value]) => ({ limit, value })));
      }),
    );
}
