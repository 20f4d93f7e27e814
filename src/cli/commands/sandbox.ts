/**
 * `drover sandbox create|ls|get|rm|extend`: sandbox records. `create` waits until the sandbox runs (a
 * spinner on a terminal) and exits 1 if it failed to start; `--no-wait` returns once it is placed.
 * The data-plane commands (exec, shell, cp, logs, ...) live in their own modules.
 */
import type { Command } from 'commander';
import { parseDuration } from '../../domain/duration.js';
import { createSandboxSchema, SANDBOX_STATE_NAMES } from '../../protocol/sandbox.js';
import type { SandboxFilter, SandboxView } from '../../sdk/index.js';
import { action, clientFor, usage } from '../client.js';
import { CliError, printJson } from '../output.js';
import { withProgress } from '../progress.js';
import { collect, fetchList, pairs, printList, printRecord, withListOptions, type ListOptions } from '../render.js';
import { checkSpec, specFromOptions, withSpecOptions, type SpecOptions } from '../sandbox-spec.js';

type Json = { json?: boolean };
type Tenant = { tenant?: string };

export const sandboxRow = (s: SandboxView) => ({
  id: s.id,
  state: s.state,
  worker: s.worker_id,
  provider: s.provider,
  source: s.template ?? s.image,
  cpu: s.resources.cpu,
  memory_mb: s.resources.memory_mb,
  expires_at: s.expires_at,
  labels: Object.keys(s.labels).length ? Object.entries(s.labels).map(([k, v]) => `${k}=${v}`).join(',') : null,
});

/** The fields people look at first, in a stable order; `--json` has everything. */
function summary(s: SandboxView): Record<string, unknown> {
  return {
    id: s.id,
    state: s.state,
    state_reason: s.state_reason,
    tenant: s.tenant_id,
    worker: s.worker_id,
    provider: s.provider ?? s.provider_requested,
    template: s.template,
    image: s.image,
    resources: `cpu ${s.resources.cpu}, memory ${s.resources.memory_mb} MiB, disk ${s.resources.disk_mb} MiB${s.resources.pids ? `, pids ${s.resources.pids}` : ''}`,
    network: s.network,
    ports: s.ports.length ? s.ports.join(',') : null,
    service: s.service ? `${Array.isArray(s.service.command) ? s.service.command.join(' ') : s.service.command} (port ${s.service.port ?? 'pending'})` : null,
    previews: Object.keys(s.previews).length ? s.previews : null,
    labels: Object.keys(s.labels).length ? s.labels : null,
    env: s.env_keys.length ? s.env_keys.join(',') : null,
    created_at: s.created_at,
    expires_at: s.expires_at,
    warnings: s.warnings.length ? s.warnings.join('; ') : null,
  };
}

function show(s: SandboxView, o: Json): void {
  if (o.json) printJson(s);
  else printRecord(summary(s));
}

const withTenant = (cmd: Command) => cmd.option('--tenant <id>', "admins: act on another tenant's sandboxes");

export function registerSandbox(program: Command): void {
  const sandbox = program.command('sandbox').description('create, list and manage sandboxes');

  withTenant(
    withSpecOptions(sandbox.command('create').description('create a sandbox and wait until it runs'))
      .option('--template <name>', 'start from this template (flags override its fields)')
      .option('--no-wait', 'return as soon as the sandbox is placed, without waiting for it to run')
      .option('--idempotency-key <key>', 'a retry with the same key returns the same sandbox')
      .option('--json', 'machine-readable output'),
  ).action(
    action(async (o: SpecOptions & Json & Tenant & { template?: string; wait: boolean; idempotencyKey?: string }, cmd: Command) => {
      const spec = specFromOptions(o);
      if (o.template !== undefined) spec.template = o.template;
      if (!o.wait) spec.wait = false;
      const body = checkSpec(createSandboxSchema, spec);
      const client = clientFor(cmd);
      const s = await withProgress(o.wait ? 'creating sandbox, waiting for it to run' : 'creating sandbox', () =>
        client.sandboxes.create(body, { idempotencyKey: o.idempotencyKey, tenant: o.tenant }),
      );
      show(s, o);
      if (s.state === 'failed' || s.state === 'stopped' || s.state === 'expired') {
        throw new CliError(`sandbox ${s.id} did not start: ${s.state}${s.state_reason ? ` (${s.state_reason})` : ''}`, 1);
      }
    }),
  );

  withTenant(
    withListOptions(
      sandbox
        .command('ls')
        .description('list sandboxes, newest first')
        .option('--state <state>', `only this state (${SANDBOX_STATE_NAMES.join(', ')})`)
        .option('--worker <id>', 'only sandboxes on this worker')
        .option('-l, --label <key=value>', 'only sandboxes with this label (repeatable; all must match)', collect),
    ),
  ).action(
    action(async (o: ListOptions & Tenant & { state?: string; worker?: string; label?: string[] }, cmd: Command) => {
      if (o.state !== undefined && !SANDBOX_STATE_NAMES.includes(o.state as SandboxView['state'])) throw usage(`--state ${o.state}: use one of ${SANDBOX_STATE_NAMES.join(', ')}`);
      const filter: SandboxFilter = { state: o.state as SandboxView['state'] | undefined, worker_id: o.worker, label: pairs('--label', o.label), tenant: o.tenant };
      printList(await fetchList(clientFor(cmd).sandboxes, filter, o), o, sandboxRow, 'no sandboxes');
    }),
  );

  withTenant(sandbox.command('get').description('one sandbox').argument('<id>', 'sandbox id (sbx_…)').option('--json', 'machine-readable output')).action(
    action(async (id: string, o: Json & Tenant, cmd: Command) => show(await clientFor(cmd).sandboxes.get(id, { tenant: o.tenant }), o)),
  );

  withTenant(sandbox.command('rm').description('destroy sandboxes (idempotent)').argument('<ids...>', 'sandbox ids').option('--json', 'machine-readable output')).action(
    action(async (ids: string[], o: Json & Tenant, cmd: Command) => {
      const client = clientFor(cmd);
      const done: SandboxView[] = [];
      for (const id of ids) {
        const s = await withProgress(`destroying ${id}`, () => client.sandboxes.delete(id, { tenant: o.tenant }));
        done.push(s);
        if (!o.json) process.stdout.write(`sandbox ${s.id} ${s.state}\n`);
      }
      if (o.json) printJson(ids.length === 1 ? done[0] : done);
    }),
  );

  withTenant(
    sandbox
      .command('extend')
      .description("set a sandbox's remaining lifetime (from now)")
      .argument('<id>', 'sandbox id')
      .requiredOption('--ttl <duration>', 'new time to live from now, e.g. 2h')
      .option('--json', 'machine-readable output'),
  ).action(
    action(async (id: string, o: Json & Tenant & { ttl: string }, cmd: Command) => {
      const s = await clientFor(cmd).sandboxes.extend(id, { ttl_ms: parseDuration(o.ttl) }, { tenant: o.tenant });
      if (o.json) printJson(s);
      else process.stdout.write(`sandbox ${s.id} now expires at ${s.expires_at}\n`);
    }),
  );
}
