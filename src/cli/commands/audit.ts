/**
 * `drover audit ls` (admin): the audit log, newest first, as a table, JSON or CSV. CSV with `--all`
 * walks every page and writes the header once, so `drover audit ls --all --format csv > audit.csv` is a
 * complete export.
 */
import { Option, type Command } from 'commander';
import type { AuditFilter, AuditView } from '../../sdk/index.js';
import { action, clientFor, usage } from '../client.js';
import { fetchList, integer, printList, withListOptions, type ListOptions } from '../render.js';

interface AuditOptions extends ListOptions {
  action?: string;
  actor?: string;
  resource?: string;
  tenant?: string;
  format?: 'table' | 'json' | 'csv';
}

const row = (r: AuditView) => ({
  at: r.at,
  actor: r.actor_id ? `${r.actor_type}:${r.actor_id}` : r.actor_type,
  tenant: r.tenant_id,
  action: r.action,
  resource: r.resource_id ? `${r.resource_type ?? ''}/${r.resource_id}` : null,
  outcome: r.outcome,
  request: r.request_id,
});

export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('the audit log (admin)');
  withListOptions(
    audit
      .command('ls')
      .description('list audit records, newest first')
      .option('--action <action>', 'only this action, e.g. sandboxes.create')
      .option('--actor <id>', 'only this actor (key or worker id)')
      .option('--resource <id>', 'only this resource id')
      .option('--tenant <id>', 'only this tenant')
      .addOption(new Option('--format <format>', 'output format').choices(['table', 'json', 'csv'])),
  ).action(
    action(async (o: AuditOptions, cmd: Command) => {
      if (o.json && o.format && o.format !== 'json') throw usage(`--json and --format ${o.format} disagree`);
      const filter: AuditFilter = { action: o.action, actor_id: o.actor, resource_id: o.resource, tenant: o.tenant };
      const client = clientFor(cmd);
      if (o.format !== 'csv') {
        printList(await fetchList(client.audit, filter, o), { ...o, json: o.json || o.format === 'json' }, row, 'no audit records');
        return;
      }
      if (o.all && o.cursor) throw usage('--all and --cursor do not go together');
      const limit = o.limit === undefined ? undefined : integer('--limit', o.limit, 1, 1000);
      let cursor = o.cursor;
      let first = true;
      do {
        const page = await client.audit.csv({ ...filter, limit, cursor });
        // Every page starts with the header row; an export keeps only the first one.
        process.stdout.write(first ? page.csv : page.csv.slice(page.csv.indexOf('\r\n') + 2));
        first = false;
        cursor = page.next_cursor ?? undefined;
        if (!o.all && cursor) process.stderr.write(`more results: add --cursor ${cursor} (or --all)\n`);
      } while (o.all && cursor);
    }),
  );
}
