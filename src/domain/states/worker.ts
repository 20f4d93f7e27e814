import { defineMachine } from './machine.js';

/**
 * Worker lifecycle (01-architecture.md). `cordoned` is a separate flag, not a state.
 *
 *   online ──drain──▶ draining ──no leases left──▶ drained
 *   online | draining ──silent stale_after──▶ stale ──silent lost_after──▶ lost
 *   stale ──heartbeat──▶ online        lost ──re-registers──▶ online (its old work was fenced)
 *   drained ──heartbeat after undrain / restart──▶ online
 */
export type WorkerStatus = 'online' | 'draining' | 'drained' | 'stale' | 'lost';

export const WORKER_STATUSES: readonly WorkerStatus[] = ['online', 'draining', 'drained', 'stale', 'lost'];

export const workerMachine = defineMachine<WorkerStatus>('worker', WORKER_STATUSES, [], [
  ['online', 'draining'],
  ['draining', 'drained'],
  ['draining', 'online'],
  ['drained', 'online'],
  ['online', 'stale'],
  ['draining', 'stale'],
  ['drained', 'stale'],
  ['stale', 'online'],
  ['stale', 'draining'],
  ['stale', 'lost'],
  ['lost', 'online'],
  ['lost', 'draining'],
]);
