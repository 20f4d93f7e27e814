/**
 * Host processes for tests that check what survives a worker: a stand-in "sandbox process" carrying
 * a runtime's marker variable (what the process provider sets on everything it starts, and what it
 * finds orphans by), and /proc queries.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/**
 * A `sleep` in its own session with `DROVER_RUNTIME_ID=<runtimeId>`, as a process that a sandbox of
 * that runtime started and that survived its worker. Detached and unreferenced: only the worker (or
 * the test's cleanup) ends it.
 */
export function plantSandboxProcess(runtimeId: string): number {
  const child = spawn('sleep', ['300'], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', DROVER_RUNTIME_ID: runtimeId }, detached: true, stdio: 'ignore' });
  child.unref();
  return child.pid!;
}

/** Alive and not a zombie. */
export function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Pids of live processes in process group `pgid`. */
export function processGroupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

export function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
