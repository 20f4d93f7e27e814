/** The store contract: every driver runs exactly this. */
import type { StoreFixture } from '../fixtures.js';
import { adminExtraContract } from './admin-extra.js';
import { fleetContract } from './fleet.js';
import { leaseContract } from './leases.js';
import { recordsContract } from './records.js';
import { sandboxesExtraContract } from './sandboxes-extra.js';
import { taskContract } from './tasks.js';
import { tasksExtraContract } from './tasks-extra.js';
import { tenancyContract } from './tenancy.js';
import { workersExtraContract } from './workers-extra.js';

export function storeContract(fixture: StoreFixture): void {
  leaseContract(fixture);
  taskContract(fixture);
  tasksExtraContract(fixture);
  fleetContract(fixture);
  tenancyContract(fixture);
  recordsContract(fixture);
  workersExtraContract(fixture);
  adminExtraContract(fixture);
  sandboxesExtraContract(fixture);
}
