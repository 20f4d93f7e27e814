/**
 * The operation history of a task run, and the offline check of its invariants (06-quality.md, fault
 * suite: "every run records operations as JSON lines and checks invariants over the history afterwards").
 *
 * Records come from several processes on one host: the test (submits, and the store's final rows) and
 * each task-worker process (leases it received, and every fenced write it sent with the answer). Times are
 * wall-clock ms (`Date.now()`) from those processes; on one host they share the clock, which is what makes
 * "sent after someone else was granted a newer lease" decidable offline. Ties are never judged (a
 * millisecond can hold both orders), so the check has no false alarms from clock resolution.
 *
 * Pure: `checkHistory` reads records and returns violations; nothing here does I/O.
 */

export type WriteKind = 'heartbeat' | 'presign' | 'report';

export type HistoryRecord =
  /** The caller submitted the task (the answer arrived at `at`). */
  | { op: 'submit'; task: string; at: number }
  /**
   * A worker received a lease of the task at generation `gen`: it asked at `sent` and the answer arrived
   * at `at`, so the grant happened in between. (`at` alone is no grant time: a worker paused between
   * the answer and its note of it records a late `at`.)
   */
  | { op: 'lease'; task: string; gen: number; worker: string; sent: number; at: number }
  /**
   * A fenced write a worker sent at `sent` with generation `gen`, answered at `at` with `status` (0: no
   * answer). For a report: its outcome, the task state the answer carried, and whether it was a replay.
   */
  | {
      op: 'write';
      kind: WriteKind;
      task: string;
      gen: number;
      worker: string;
      sent: number;
      at: number;
      status: number;
      code?: string;
      outcome?: string;
      state?: string;
      replay?: boolean;
    }
  /** The task's row in the store once the run is over. */
  | { op: 'final'; task: string; state: string; gen: number; attempt: number; worker: string | null };

export type WriteRecord = Extract<HistoryRecord, { op: 'write' }>;
export type LeaseRecord = Extract<HistoryRecord, { op: 'lease' }>;
export type FinalRecord = Extract<HistoryRecord, { op: 'final' }>;

export interface CheckOptions {
  /** Every submitted task must end in this state (e.g. `succeeded`). */
  expectState?: string;
}

export interface HistoryStats {
  tasks: number;
  leases: number;
  writes: number;
  /** Accepted reports that ended their task (the answer's state is terminal). */
  completions: number;
  /** Writes sent after their generation was provably superseded, and refused: the fence working. */
  staleRefused: number;
  /** Writes sent after their generation was provably superseded, and accepted: each is a violation. */
  staleAccepted: number;
  /** Writes refused (409) that were not provably stale (e.g. the lease had run out, not yet re-leased). */
  otherRefused: number;
  /** Idempotent report repeats (200, replay: true). */
  replays: number;
}

export interface HistoryCheck {
  ok: boolean;
  violations: string[];
  stats: HistoryStats;
}

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled', 'expired']);
const accepted = (w: WriteRecord) => w.status >= 200 && w.status < 300;

export function checkHistory(records: readonly HistoryRecord[], options: CheckOptions = {}): HistoryCheck {
  const violations: string[] = [];
  const stats: HistoryStats = { tasks: 0, leases: 0, writes: 0, completions: 0, staleRefused: 0, staleAccepted: 0, otherRefused: 0, replays: 0 };
  const byTask = groupByTask(records);
  stats.tasks = [...byTask.values()].filter((t) => t.submitted).length;

  for (const [task, t] of byTask) {
    stats.leases += t.leases.length;
    stats.writes += t.writes.length;
    const problem = (message: string) => violations.push(`${task}: ${message}`);
    if (!t.submitted) problem('has operations but was never submitted');

    // One worker per generation, and generations only grow over time: a lease known (received) before
    // another was even asked for must have the lower generation.
    const seen = new Map<number, string>();
    for (const l of t.leases) {
      const other = seen.get(l.gen);
      if (other !== undefined) problem(`generation ${l.gen} was granted twice (${other}, ${l.worker})`);
      seen.set(l.gen, l.worker);
    }
    for (const a of t.leases) {
      for (const b of t.leases) if (a.at < b.sent && b.gen <= a.gen && a !== b) problem(`generation went from ${a.gen} to ${b.gen} over time`);
    }

    // Completions: accepted, non-replayed reports whose answer says the task is over.
    const completions = t.writes.filter((w) => w.kind === 'report' && accepted(w) && !w.replay && w.state !== undefined && TERMINAL.has(w.state));
    stats.completions += completions.length;
    if (completions.length > 1) problem(`${completions.length} accepted completions (generations ${completions.map((c) => c.gen).join(', ')})`);
    const perGen = new Map<number, number>();
    for (const w of t.writes) if (w.kind === 'report' && accepted(w) && !w.replay) perGen.set(w.gen, (perGen.get(w.gen) ?? 0) + 1);
    for (const [gen, n] of perGen) if (n > 1) problem(`${n} accepted (non-replay) reports at generation ${gen}`);

    const completion = completions[0];
    const final = t.final;
    if (t.submitted && !final) problem('no final state recorded');
    if (final) {
      if (options.expectState !== undefined && final.state !== options.expectState) problem(`ended ${final.state}, expected ${options.expectState}`);
      if (final.state === 'succeeded' && completions.length === 0) problem('succeeded without an accepted completion in the history');
      if (completion && completion.state !== final.state) problem(`the accepted report answered ${completion.state} but the task is ${final.state}`);
      if (completion && completion.gen !== final.gen) problem(`completed at generation ${completion.gen} but the task's generation is ${final.gen}`);
      const maxLeased = Math.max(0, ...t.leases.map((l) => l.gen));
      if (final.gen < maxLeased) problem(`final generation ${final.gen} is below a leased generation ${maxLeased}`);
    }

    // Stale writes: sent (strictly) after a newer generation was granted, or after the task was completed
    // by an accepted report — except the idempotent repeat of that very report.
    for (const w of t.writes) {
      if (w.status === 0) continue;
      const superseded = t.leases.some((l) => l.gen > w.gen && l.at < w.sent);
      const afterCompletion = completion !== undefined && completion !== w && completion.at < w.sent && !(w.kind === 'report' && w.replay && w.gen === completion.gen);
      const stale = superseded || afterCompletion;
      if (w.kind === 'report' && w.replay && accepted(w)) stats.replays++;
      if (stale && accepted(w)) {
        stats.staleAccepted++;
        problem(`stale ${w.kind} at generation ${w.gen} from ${w.worker} was accepted (${w.status}) — sent after ${superseded ? 'a newer lease was granted' : 'the task was completed'}`);
      } else if (stale) stats.staleRefused++;
      else if (w.status === 409) stats.otherRefused++;
    }
  }
  return { ok: violations.length === 0, violations, stats };
}

interface TaskOps {
  submitted: boolean;
  leases: LeaseRecord[];
  writes: WriteRecord[];
  final: FinalRecord | undefined;
}

function groupByTask(records: readonly HistoryRecord[]): Map<string, TaskOps> {
  const byTask = new Map<string, TaskOps>();
  const of = (task: string) => {
    let t = byTask.get(task);
    if (!t) byTask.set(task, (t = { submitted: false, leases: [], writes: [], final: undefined }));
    return t;
  };
  for (const r of records) {
    const t = of(r.task);
    if (r.op === 'submit') t.submitted = true;
    else if (r.op === 'lease') t.leases.push(r);
    else if (r.op === 'write') t.writes.push(r);
    else t.final = r;
  }
  return byTask;
}

/** JSON lines, one record per line, in the order given. */
export function formatHistory(records: readonly HistoryRecord[]): string {
  return records.map((r) => JSON.stringify(r)).join('\n') + (records.length > 0 ? '\n' : '');
}

export function parseHistory(text: string): HistoryRecord[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as HistoryRecord);
}
