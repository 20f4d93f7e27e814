/**
 * One leased task from start to report: an AbortController, a heartbeater, the handler, the outcome
 * decision (outcome.ts) and the report. The order after the handler settles is fixed — decide, final
 * heartbeat, report — so a lease lost at any point before the report means nothing is reported.
 */
import { serverToLocal } from './server-time.js';
import type { Clock } from '../../domain/clock.js';
import type { LeasedTask, TaskOutcomeWire } from '../../protocol/tasks.js';
import { DroverApiError } from '../errors.js';
import { taskArtifacts } from './artifacts.js';
import { backoffMs, REPORT_BACKOFF } from './backoff.js';
import { classifyFailure, TaskAbortedError } from './errors.js';
import type { HeartbeatBounds } from './heartbeat-plan.js';
import { startHeartbeater } from './heartbeater.js';
import { decideOutcome, type Settled } from './outcome.js';
import type { TaskProtocol } from './protocol-client.js';
import { sleep, timeoutSignal, type Timers } from './timers.js';
import type { AbortReason, TaskContext, TaskHandler, TaskInfo, TaskSettlement, TaskWorkerEvents, TaskWorkerLogger } from './types.js';

/** One report attempt is abandoned after this long and retried. */
const REPORT_TIMEOUT_MS = 15_000;
/** Report attempts made even when the lease has run out meanwhile (the server may still accept). */
const MIN_REPORT_ATTEMPTS = 3;

export interface RunDeps {
  protocol: TaskProtocol;
  fetch: typeof fetch;
  clock: Clock;
  timers: Timers;
  log: TaskWorkerLogger;
  bounds: HeartbeatBounds;
  maxOutputBytes: number;
  random: () => number;
  emit<E extends keyof TaskWorkerEvents>(event: E, payload: TaskWorkerEvents[E]): void;
}

export interface RunningTask {
  readonly info: TaskInfo;
  /** Abort the handler (no-op once it has settled or was aborted already: the first reason wins). */
  abort(reason: AbortReason): void;
  /**
   * Runs the handler, the final heartbeat and the report; settles when all are over and never rejects.
   * Separate from construction so the caller can count the task as running before its handler starts.
   */
  start(): Promise<void>;
}

export function runTask(leased: LeasedTask, handler: TaskHandler, d: RunDeps): RunningTask {
  // Server times become local ones by the offset between the two clocks at receipt (fault item 11: a
  // worker whose clock is minutes off must neither abort at once nor hold a lease it has lost).
  const toLocal = serverToLocal(leased.lease.server_time, d.clock.now());
  const info = taskInfo(leased);
  // The deadline on this worker's clock, for its own checks; handlers see the task's real deadline.
  const localDeadline = toLocal(info.deadline.getTime());
  const controller = new AbortController();
  let handlerSettled = false;
  let aborted: AbortReason | undefined;

  const pastDeadline = () => d.clock.now() >= localDeadline;
  const abort = (reason: AbortReason) => {
    if (handlerSettled || aborted) return;
    aborted = reason;
    controller.abort(new TaskAbortedError(reason));
    d.emit('task.aborted', { task: info, reason });
  };

  const heartbeats = startHeartbeater({
    protocol: d.protocol,
    clock: d.clock,
    timers: d.timers,
    log: d.log,
    bounds: d.bounds,
    taskId: info.id,
    generation: info.generation,
    leaseExpiresAt: toLocal(Date.parse(leased.lease.expires_at)),
    onCancel: () => abort(pastDeadline() ? { kind: 'deadline' } : { kind: 'cancelled' }),
    // Past the deadline the sweep ends the lease along with the task: that loss is the deadline's.
    onLeaseLost: () => abort(pastDeadline() ? { kind: 'deadline' } : { kind: 'lease_lost' }),
  });

  const artifacts = taskArtifacts({
    protocol: d.protocol,
    fetch: d.fetch,
    taskId: info.id,
    generation: info.generation,
    prefix: leased.grant.prefix,
    signal: controller.signal,
  });

  const ctx: TaskContext = {
    signal: controller.signal,
    task: info,
    progress(value) {
      // Checked here so a bad value fails at the handler's call, not as a heartbeat that never goes out.
      const json = JSON.stringify(value);
      if (!handlerSettled) heartbeats.progress(json === undefined ? null : (JSON.parse(json) as unknown));
    },
    artifacts: { put: artifacts.put, get: artifacts.get },
  };

  const run = async (): Promise<TaskSettlement> => {
    d.emit('task.started', { task: info });
    let settled: Settled;
    try {
      settled = { ok: true, value: await handler(leased.task.input, ctx) };
    } catch (error) {
      settled = { ok: false, error };
    }
    handlerSettled = true;
    const decision = decideOutcome(settled, aborted, d.maxOutputBytes);
    if (decision.report === null) {
      heartbeats.stop();
      return { result: 'discarded', reported: false, reason: decision.reason };
    }
    if ((await heartbeats.finish()) === 'lease_lost') return { result: 'discarded', reported: false, reason: pastDeadline() ? 'deadline' : 'lease_lost' };
    let outcome = decision.report;
    if (outcome.status === 'succeeded' && artifacts.keys().length > 0) outcome = { ...outcome, artifacts: artifacts.keys() };
    return report(outcome);
  };

  const report = async (outcome: TaskOutcomeWire): Promise<TaskSettlement> => {
    for (let attempt = 1; ; attempt++) {
      const t = timeoutSignal(d.timers, REPORT_TIMEOUT_MS);
      try {
        await d.protocol.report(info.id, { generation: info.generation, outcome }, t.signal);
        return { result: outcome.status, reported: true };
      } catch (err) {
        const failure = classifyFailure(err);
        if (failure === 'lease_lost') {
          d.log.warn('task report refused: the lease was lost; the result is discarded', { task_id: info.id });
          return { result: 'discarded', reported: false, reason: 'lease_lost' };
        }
        if (failure === 'refused') {
          // The server's own output limit (tasks.max_output_bytes) may be below ours: say so as a failure.
          if (outcome.status === 'succeeded') {
            outcome = { status: 'failed', error: { message: `the control plane refused the output: ${(err as Error).message}`, retryable: false, code: err instanceof DroverApiError ? err.code : 'output_refused' } };
            continue;
          }
          d.log.error('task report refused', { task_id: info.id, error: (err as Error).message });
          return { result: 'discarded', reported: false, reason: 'report_failed' };
        }
        // Transient: the same report is idempotent per generation, so retrying is safe — while the lease
        // lasts; after that the sweep decides and the report would be refused anyway.
        if (attempt >= MIN_REPORT_ATTEMPTS && d.clock.now() >= heartbeats.leaseExpiresAt()) {
          d.log.error('task report failed until the lease ran out; the control plane will requeue it', { task_id: info.id, error: (err as Error).message });
          return { result: 'discarded', reported: false, reason: 'report_failed' };
        }
        d.log.warn('task report failed; retrying', { task_id: info.id, attempt, error: (err as Error).message });
        await sleep(d.timers, backoffMs(attempt, d.random, REPORT_BACKOFF));
      } finally {
        t.clear();
      }
    }
  };

  let done: Promise<void> | undefined;
  const start = () =>
    (done ??= run()
      .catch((err: unknown): TaskSettlement => {
        // Only a bug in this file gets here; the task is left to the lease's expiry.
        d.log.error('task run failed unexpectedly', { task_id: info.id, error: (err as Error).message });
        heartbeats.stop();
        return { result: 'discarded', reported: false, reason: 'report_failed' };
      })
      .then((settlement) => d.emit('task.settled', { task: info, ...settlement })));

  return { info, abort, start };
}

function taskInfo(l: LeasedTask): TaskInfo {
  const t = l.task;
  return {
    id: t.id,
    kind: t.kind,
    attempt: t.attempt,
    maxAttempts: t.max_attempts,
    deadline: new Date(t.deadline),
    priority: t.priority,
    codeVersion: t.code_version,
    labels: t.labels,
    generation: l.lease.generation,
  };
}

