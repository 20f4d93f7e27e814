/**
 * `drover workers ls|get|cordon|uncordon|drain|rm|repair-heartbeat`: the fleet as operators manage it.
 * Reads need any key; cordon/uncordon/drain need the operate scope; rm and repair-heartbeat need admin.
 */
import type { Command } from 'commander';
import { parseDuration } from '../../domain/duration.js';
import type { WorkerView } from '../../sdk/index.js';
import { action, clientFor } from '../client.js';
import { printJson, printTable } from '../output.js';
import { withProgress } from '../progress.js';
import { fetchList, printList, printRecord, ratio, withListOptions, type ListOptions } from '../render.js';

type Json = { json?: boolean };

export function workerRow(w: WorkerView): Record<string, unknown> {
  return {
    id: w.id,
    status: w.status,
    flags: [w.cordoned ? 'cordoned' : '', w.stale ? 'stale' : ''].filter(Boolean).join(',') || null,
    sandboxes: ratio(w.allocated.sandboxes, w.capacity.max_sandboxes),
    cpu: ratio(w.allocated.cpu, w.capacity.cpu),
    memory_mb: ratio(w.allocated.memory_mb, w.capacity.memory_mb),
    providers: w.providers.join(','),
    last_heartbeat: w.last_heartbeat,
  };
}

/** A one-line answer for people, the worker as JSON for machines. */
function done(w: WorkerView, o: Json, what: string): void {
  if (o.json) printJson(w);
  else process.stdout.write(`worker ${w.id} ${what} (status ${w.status}${w.cordoned ? ', cordoned' : ''})\n`);
}

export function registerWorkers(program: Command): void {
  const workers = program.command('workers').description('list and manage the workers of the fleet');

  withListOptions(workers.command('ls').description('list workers with their status and allocation')).action(
    action(async (o: ListOptions, cmd: Command) => {
      const page = await fetchList(clientFor(cmd).workers, {}, o);
      printList(page, o, workerRow, 'no workers');
    }),
  );

  workers
    .command('get')
    .description('one worker, with the sandboxes on it and its live leases')
    .argument('<id>', 'worker id')
    .option('--json', 'machine-readable output')
    .action(
      action(async (id: string, o: Json, cmd: Command) => {
        const w = await clientFor(cmd).workers.get(id);
        if (o.json) return printJson(w);
        const { sandboxes, leases, ...rest } = w;
        printRecord(rest);
        process.stdout.write(`\nsandboxes (${sandboxes.length}):\n`);
        if (sandboxes.length) printTable(sandboxes);
        process.stdout.write(`\nleases (${leases.length}):\n`);
        if (leases.length) printTable(leases.map((l) => ({ resource: `${l.resource_type}/${l.resource_id}`, generation: l.generation, expires_at: l.expires_at })));
      }),
    );

  workers
    .command('cordon')
    .description('stop placing new sandboxes on a worker (running ones are unaffected)')
    .argument('<id>', 'worker id')
    .option('--json', 'machine-readable output')
    .action(action(async (id: string, o: Json, cmd: Command) => done(await clientFor(cmd).workers.cordon(id), o, 'cordoned')));

  workers
    .command('uncordon')
    .description('allow placements on a worker again; also cancels a drain')
    .argument('<id>', 'worker id')
    .option('--json', 'machine-readable output')
    .action(action(async (id: string, o: Json, cmd: Command) => done(await clientFor(cmd).workers.uncordon(id), o, 'uncordoned')));

  workers
    .command('drain')
    .description('no new work on a worker; at the deadline, re-place (default) or stop what still runs')
    .argument('<id>', 'worker id')
    .option('--deadline <duration>', 'how long running sandboxes may keep running, e.g. 10m (default: no deadline)')
    .option('--no-migrate', 'at the deadline, stop sandboxes instead of re-placing them elsewhere')
    .option('--json', 'machine-readable output')
    .action(
      action(async (id: string, o: Json & { deadline?: string; migrate: boolean }, cmd: Command) => {
        const deadline_ms = o.deadline === undefined ? undefined : parseDuration(o.deadline);
        const w = await clientFor(cmd).workers.drain(id, { deadline_ms, migrate: o.migrate });
        done(w, o, w.drain?.deadline ? `draining until ${w.drain.deadline}, then ${w.drain.migrate ? 're-placing' : 'stopping'} what still runs` : 'draining');
      }),
    );

  workers
    .command('rm')
    .description('remove a worker from the registry (admin); refused while it holds work unless --force')
    .argument('<id>', 'worker id')
    .option('--force', 'fence its leases and fail or re-place its sandboxes')
    .option('--json', 'machine-readable output')
    .action(
      action(async (id: string, o: Json & { force?: boolean }, cmd: Command) => {
        const r = await withProgress(`removing worker ${id}`, () => clientFor(cmd).workers.delete(id, { force: o.force === true }));
        if (o.json) return printJson(r);
        process.stdout.write(`worker ${r.id} removed; ${r.leases_expired} lease(s) expired\n`);
        const moved = { 're-placed': r.sandboxes_replaced, failed: r.sandboxes_failed, stopped: r.sandboxes_stopped };
        for (const [what, ids] of Object.entries(moved)) if (ids.length) process.stdout.write(`  ${what}: ${ids.join(', ')}\n`);
      }),
    );

  workers
    .command('repair-heartbeat')
    .description('registry repair (admin): record a heartbeat for a worker and bring it back online')
    .argument('<id>', 'worker id')
    .option('--json', 'machine-readable output')
    .action(action(async (id: string, o: Json, cmd: Command) => done(await clientFor(cmd).workers.repairHeartbeat(id), o, 'heartbeat recorded')));
}
