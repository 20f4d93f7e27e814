/** The task worker (04-tasks.md, "The SDK task worker"): lease, run, heartbeat, report. */
export { createTaskWorker, type TaskWorkerState } from './worker.js';
export { NonRetryableError, TaskAbortedError, abortReasonOf } from './errors.js';
export { ArtifactError } from './artifacts.js';
export { systemTimers, type Timers, type TimerHandle } from './timers.js';
export type {
  AbortKind,
  AbortReason,
  ArtifactBody,
  PutArtifactOptions,
  PutArtifactResult,
  TaskArtifacts,
  TaskContext,
  TaskHandler,
  TaskInfo,
  TaskSettlement,
  TaskWorker,
  TaskWorkerEvents,
  TaskWorkerLogger,
  TaskWorkerOptions,
} from './types.js';
