/**
 * What /api/v1/diagnostics calls a problem: a condition an operator should act on, with a stable id
 * (for alerting and docs), one line saying what is wrong, and one saying what to do. A pure function
 * of facts the diagnostics collector has already read, so every rule is testable without a store.
 */
export type Severity = 'error' | 'warning' | 'info';

export interface Problem {
  id: string;
  severity: Severity;
  message: string;
  remediation: string;
}

export interface ProblemFacts {
  store: { reachable: boolean; latencyMs: number | null; schema: { current: number; latest: number } | null };
  /** Absent when the store could not be read. */
  workers?: {
    total: number;
    byStatus: Record<string, number>;
    /** Workers not yet lost or drained whose last heartbeat is older than workers.stale_after. */
    silent: string[];
  };
  pendingSandboxes?: number;
  authEnabled: boolean;
}

/** A store round trip slower than this makes every request slow; worth saying before it times out. */
export const SLOW_STORE_MS = 250;

/** How many ids a problem message names before it says "and N more". */
const NAMED = 5;

export function findProblems(f: ProblemFacts): Problem[] {
  const out: Problem[] = [];
  if (!f.store.reachable) {
    out.push({
      id: 'store.unreachable',
      severity: 'error',
      message: 'The store did not answer; the API cannot serve requests that need it.',
      remediation: 'Check that the database is running and reachable with the database.* settings; `drover doctor` tests the connection.',
    });
  } else if (f.store.schema && f.store.schema.current < f.store.schema.latest) {
    out.push({
      id: 'store.migrations_pending',
      severity: 'error',
      message: `The database schema is at version ${f.store.schema.current}; this build needs ${f.store.schema.latest}.`,
      remediation: 'Run `drover db migrate` against this database.',
    });
  } else if (f.store.schema && f.store.schema.current > f.store.schema.latest) {
    out.push({
      id: 'store.schema_newer',
      severity: 'error',
      message: `The database schema (version ${f.store.schema.current}) is newer than this build understands (${f.store.schema.latest}).`,
      remediation: 'Upgrade this replica to the drover version the other replicas run.',
    });
  }
  if (f.store.reachable && f.store.latencyMs !== null && f.store.latencyMs > SLOW_STORE_MS) {
    out.push({
      id: 'store.slow',
      severity: 'warning',
      message: `A store round trip took ${Math.round(f.store.latencyMs)} ms.`,
      remediation: 'Check the database host load and the network between control plane and database; check database.pool_size.',
    });
  }
  if (f.workers) {
    const online = f.workers.byStatus.online ?? 0;
    if (f.workers.total === 0) {
      out.push({
        id: 'workers.none',
        severity: 'warning',
        message: 'No worker has registered, so no sandbox or task can run.',
        remediation: 'Start a worker with `drover worker` (or `drover up` on one machine) pointing at this control plane with a valid worker token.',
      });
    } else if (online === 0) {
      out.push({
        id: 'workers.none_online',
        severity: 'error',
        message: `None of the ${f.workers.total} registered workers is online, so nothing new can be placed.`,
        remediation: 'Check `drover workers ls` and the worker processes and their logs; uncordon or restart workers as needed.',
      });
    }
    if (f.workers.silent.length > 0) {
      out.push({
        id: 'workers.stale',
        severity: 'warning',
        message: `${f.workers.silent.length} worker(s) have not sent a heartbeat within workers.stale_after: ${named(f.workers.silent)}.`,
        remediation: 'Check those hosts and their network path to the control plane; remove retired workers with `drover workers rm`.',
      });
    }
    const lost = f.workers.byStatus.lost ?? 0;
    if (lost > 0) {
      out.push({
        id: 'workers.lost',
        severity: 'warning',
        message: `${lost} worker(s) are lost; their sandboxes were failed or re-placed.`,
        remediation: 'Restart the worker on hosts that should be running; remove retired ones with `drover workers rm`.',
      });
    }
  }
  if ((f.pendingSandboxes ?? 0) > 0) {
    out.push({
      id: 'sandboxes.pending',
      severity: 'warning',
      message: `${f.pendingSandboxes} sandbox(es) are waiting for capacity.`,
      remediation: 'Add workers or capacity, uncordon workers, or lower the requested resources; pending sandboxes fail after sandboxes.queue_timeout.',
    });
  }
  if (!f.authEnabled) {
    out.push({
      id: 'auth.disabled',
      severity: 'warning',
      message: 'auth.enabled is false: every request is treated as an administrator.',
      remediation: 'Set auth.enabled: true and configure auth.admin_api_key; run without auth only on a development machine.',
    });
  }
  return out;
}

function named(ids: string[]): string {
  const shown = ids.slice(0, NAMED).join(', ');
  return ids.length > NAMED ? `${shown} and ${ids.length - NAMED} more` : shown;
}
