import { defineMachine } from './machine.js';

/**
 * Task lifecycle (01-architecture.md):
 *
 *   queued ──lease──▶ leased ──report──▶ succeeded | failed | cancelled
 *     ▲                 │
 *     └──lease expired / retryable failure (attempt + 1, run_after backoff)
 *   queued | leased ──deadline──▶ expired
 *   queued ──cancel──▶ cancelled          leased ──attempts exhausted──▶ failed (dead letter)
 */
export type TaskState = 'queued' | 'leased' | 'succeeded' | 'failed' | 'cancelled' | 'expired';

export const TASK_STATES: readonly TaskState[] = ['queued', 'leased', 'succeeded', 'failed', 'cancelled', 'expired'];

export const taskMachine = defineMachine<TaskState>('task', TASK_STATES, ['succeeded', 'failed', 'cancelled', 'expired'], [
  ['queued', 'leased'],
  ['leased', 'succeeded'],
  ['leased', 'failed'],
  ['leased', 'cancelled'],
  ['leased', 'queued'],
  ['queued', 'expired'],
  ['leased', 'expired'],
  ['queued', 'cancelled'],
]);
