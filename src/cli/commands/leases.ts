/** `drover leases ls`: every lease (sandbox, task, control plane), for admins debugging ownership. */
import type { Command } from 'commander';
import type { LeaseView } from '../../sdk/index.js';
import { action, clientFor, usage } from '../client.js';
import { fetchList, printList, withListOptions, type ListOptions } from '../render.js';

interface LeaseOptions extends ListOptions {
  holder?: string;
  type?: string;
  expired?: boolean;
  live?: boolean;
}

const row = (l: LeaseView) => ({
  resource_type: l.resource_type,
  resource_id: l.resource_id,
  holder: l.holder_id,
  generation: l.generation,
  expires_at: l.expires_at,
  state: l.expired ? 'expired' : 'live',
});

export function registerLeases(program: Command): void {
  const leases = program.command('leases').description('inspect leases (admin)');
  withListOptions(
    leases
      .command('ls')
      .description('list leases, newest first')
      .option('--holder <id>', 'only leases held by this worker or replica')
      .option('--type <resource_type>', 'only this resource type (sandbox, task, ...)')
      .option('--expired', 'only expired leases')
      .option('--live', 'only live leases'),
  ).action(
    action(async (o: LeaseOptions, cmd: Command) => {
      if (o.expired && o.live) throw usage('--expired and --live exclude each other');
      const expired = o.expired ? true : o.live ? false : undefined;
      const page = await fetchList(clientFor(cmd).leases, { holder: o.holder, resource_type: o.type, expired }, o);
      printList(page, o, row, 'no leases');
    }),
  );
}
