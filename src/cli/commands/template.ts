/**
 * `drover template create|ls|get|rm`: named partial sandbox specs. `create` takes the same spec flags as
 * `sandbox create`; `--replace` overwrites an existing template instead of failing with a conflict.
 */
import type { Command } from 'commander';
import { templateSpecSchema } from '../../protocol/sandbox.js';
import type { TemplateView } from '../../sdk/index.js';
import { action, clientFor } from '../client.js';
import { printJson } from '../output.js';
import { fetchList, printList, printRecord, withListOptions, type ListOptions } from '../render.js';
import { checkSpec, specFromOptions, withSpecOptions, type SpecOptions } from '../sandbox-spec.js';

type Json = { json?: boolean };
type Tenant = { tenant?: string };

const row = (t: TemplateView) => ({ name: t.name, tenant: t.tenant_id, spec: t.spec, updated_at: t.updated_at });

function show(t: TemplateView, o: Json): void {
  if (o.json) printJson(t);
  else printRecord({ name: t.name, tenant: t.tenant_id, ...t.spec, created_at: t.created_at, updated_at: t.updated_at });
}

const withTenant = (cmd: Command) => cmd.option('--tenant <id>', "admins: act on another tenant's templates");

export function registerTemplate(program: Command): void {
  const template = program.command('template').description('sandbox templates: named partial specs');

  withTenant(
    withSpecOptions(template.command('create').description('create a template from a spec file and/or flags').argument('<name>', 'template name: [a-z0-9][a-z0-9._-]*'))
      .option('--replace', 'replace the template if it exists (default: fail with a conflict)')
      .option('--json', 'machine-readable output'),
  ).action(
    action(async (name: string, o: SpecOptions & Json & Tenant & { replace?: boolean }, cmd: Command) => {
      const spec = checkSpec(templateSpecSchema, specFromOptions(o));
      const client = clientFor(cmd);
      const t = o.replace ? await client.templates.put(name, { spec }, { tenant: o.tenant }) : await client.templates.create({ name, spec }, { tenant: o.tenant });
      if (o.json) printJson(t);
      else process.stdout.write(`template ${t.name} ${o.replace ? 'saved' : 'created'}\n`);
    }),
  );

  withTenant(withListOptions(template.command('ls').description('list templates by name'))).action(
    action(async (o: ListOptions & Tenant, cmd: Command) => printList(await fetchList(clientFor(cmd).templates, { tenant: o.tenant }, o), o, row, 'no templates')),
  );

  withTenant(template.command('get').description('one template').argument('<name>', 'template name').option('--json', 'machine-readable output')).action(
    action(async (name: string, o: Json & Tenant, cmd: Command) => show(await clientFor(cmd).templates.get(name, { tenant: o.tenant }), o)),
  );

  withTenant(template.command('rm').description('delete a template (sandboxes made from it are unaffected)').argument('<name>', 'template name').option('--json', 'machine-readable output')).action(
    action(async (name: string, o: Json & Tenant, cmd: Command) => {
      await clientFor(cmd).templates.delete(name, { tenant: o.tenant });
      if (o.json) printJson({ name, deleted: true });
      else process.stdout.write(`template ${name} deleted\n`);
    }),
  );
}
