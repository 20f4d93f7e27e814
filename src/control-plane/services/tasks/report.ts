/**
 * A task worker's report ends its attempt. Checked before the store sees it: artifact keys lie under
 * the task's grant (403) and the output fits `tasks.max_output_bytes` (413; larger results belong in
 * artifacts). Then the fenced, per-generation idempotent store write: a repeat of the accepted report
 * is answered `replay: true` and changes nothing; a stale generation is 409 `lease_lost`.
 */
import { DroverError } from '../../../domain/errors.js';
import type { TaskOutcomeWire, TaskReportReply } from '../../../protocol/tasks.js';
import type { TaskOutcome } from '../../../store/types.js';
import type { ControlPlane } from '../../deps.js';
import { emitAttemptEnd } from './events.js';
import { fenced } from './fenced.js';
import { grantedKey } from './grant.js';

export function checkOutcome(taskId: string, outcome: TaskOutcomeWire, maxOutputBytes: number): TaskOutcome {
  if (outcome.status !== 'succeeded') return outcome;
  const output = outcome.output ?? null;
  const bytes = Buffer.byteLength(JSON.stringify(output), 'utf8');
  if (bytes > maxOutputBytes) {
    throw new DroverError('payload_too_large', `task output is ${bytes} bytes; the limit is ${maxOutputBytes} (put large results in artifacts)`, { bytes, max_bytes: maxOutputBytes });
  }
  const checked: TaskOutcome = { status: 'succeeded', output };
  if (outcome.artifacts) checked.artifacts = outcome.artifacts.map((k) => grantedKey(taskId, k));
  return checked;
}

export async function reportTask(cp: ControlPlane, workerId: string, taskId: string, body: { generation: number; outcome: TaskOutcomeWire }): Promise<TaskReportReply> {
  const outcome = checkOutcome(taskId, body.outcome, cp.config.tasks.max_output_bytes);
  const r = await fenced(cp, 'task_report', () => cp.store.tasks.reportTask(taskId, workerId, body.generation, outcome));
  if (!r.replay) {
    const t = r.task;
    // Lease to report, both on the store's clock (updated_at is the report's write).
    if (t.startedAt !== null) cp.metrics.taskRunDuration.observe({ kind: t.kind, outcome: body.outcome.status }, Math.max(0, t.updatedAt - t.startedAt) / 1000);
    await emitAttemptEnd(cp, t, { generation: body.generation, reported: body.outcome.status, worker_id: workerId });
  }
  return { task: { id: r.task.id, state: r.task.state }, replay: r.replay };
}
