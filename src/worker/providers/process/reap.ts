/**
 * Killing everything a runtime started. Two nets, because neither catches everything alone:
 * - the process groups this provider instance started (a background child that cleared its
 *   environment is still in its parent's group);
 * - every process whose environment carries the runtime marker (one that called setsid() has left the
 *   group but kept the environment, and after a worker restart the in-memory groups are gone — this is
 *   what lets reconciliation kill orphans).
 * SIGTERM first so programs can clean up, SIGKILL after the grace, then wait until they are gone so the
 * directory is not deleted under a live process.
 */
import { readFile, readdir } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { RUNTIME_MARKER } from './env.js';

export interface ReapOptions {
  runtimeId: string;
  /** Process groups started for the runtime whose process has not ended. */
  groups: Iterable<number>;
  graceMs: number;
  /** How long to wait for SIGKILLed processes to disappear before giving up. */
  killWaitMs?: number;
}

interface HostProcess {
  pid: number;
  pgid: number;
  /** Carries the runtime's marker in its environment. */
  marked: boolean;
}

/**
 * Every live (non-zombie) process on the host with its process group, and whether it carries the
 * runtime's marker. Zombies are dead already: counting them would keep a destroy waiting on init,
 * which on some hosts reaps orphans only every few seconds.
 */
export async function scanProcesses(runtimeId: string): Promise<HostProcess[]> {
  const needle = Buffer.from(`${RUNTIME_MARKER}=${runtimeId}\0`);
  const entries = await readdir('/proc').catch(() => [] as string[]);
  const found = await Promise.all(
    entries
      .filter((name) => /^\d+$/.test(name) && Number(name) !== process.pid)
      .map(async (name): Promise<HostProcess | undefined> => {
        const stat = await readProcStat(Number(name));
        if (!stat || stat.state === 'Z') return undefined;
        const environ = await readFile(`/proc/${name}/environ`).catch(() => undefined);
        return { pid: Number(name), pgid: stat.pgid, marked: environ !== undefined && hasVariable(environ, needle) };
      }),
  );
  return found.filter((p): p is HostProcess => p !== undefined);
}

function hasVariable(environ: Buffer, needle: Buffer): boolean {
  // The variable must start an entry: at offset 0 or right after a NUL.
  for (let at = environ.indexOf(needle); at !== -1; at = environ.indexOf(needle, at + 1)) {
    if (at === 0 || environ[at - 1] === 0) return true;
  }
  return false;
}

/** State letter and process group from /proc/<pid>/stat; the command name may contain anything. */
export async function readProcStat(pid: number): Promise<{ state: string; pgid: number } | undefined> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (!text) return undefined;
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] ?? '?', pgid: Number(fields[2]) };
}

/** Kill every process of the runtime and wait until none is left (or the kill wait runs out). */
export async function reapRuntime(options: ReapOptions): Promise<{ survivors: number }> {
  const groups = new Set(options.groups);
  // Never our own group, whatever a sandbox process did to its environment or group.
  const own = (await readProcStat(process.pid))?.pgid;
  const targets = async (): Promise<{ groups: Set<number>; pids: Set<number> }> => {
    const live = await scanProcesses(options.runtimeId);
    const liveGroups = new Set<number>();
    const pids = new Set<number>();
    for (const p of live) {
      if (p.marked) {
        pids.add(p.pid);
        liveGroups.add(p.pgid);
      } else if (groups.has(p.pgid)) {
        liveGroups.add(p.pgid);
      }
      // A leader we started that has not made its group yet (a PTY child between fork and setsid).
      if (groups.has(p.pid)) pids.add(p.pid);
    }
    if (own !== undefined) liveGroups.delete(own);
    return { groups: liveGroups, pids };
  };
  const send = (t: { groups: Set<number>; pids: Set<number> }, signal: NodeJS.Signals): void => {
    for (const pgid of t.groups) safeKill(-pgid, signal);
    for (const pid of t.pids) safeKill(pid, signal);
  };
  const empty = (t: { groups: Set<number>; pids: Set<number> }): boolean => t.groups.size === 0 && t.pids.size === 0;

  let current = await targets();
  if (empty(current)) return { survivors: 0 };
  send(current, 'SIGTERM');
  current = await waitUntilEmpty(targets, empty, options.graceMs);
  if (empty(current)) return { survivors: 0 };
  send(current, 'SIGKILL');
  current = await waitUntilEmpty(targets, empty, options.killWaitMs ?? 10_000, (t) => send(t, 'SIGKILL'));
  return { survivors: current.pids.size + current.groups.size };
}

async function waitUntilEmpty<T>(
  targets: () => Promise<T>,
  empty: (t: T) => boolean,
  budgetMs: number,
  onRound?: (t: T) => void,
): Promise<T> {
  // Counted in rounds, not wall-clock time: a loaded machine stretches the wait instead of cutting it.
  const rounds = Math.max(1, Math.ceil(budgetMs / 50));
  let current = await targets();
  for (let i = 0; i < rounds && !empty(current); i++) {
    await sleep(50);
    current = await targets();
    // Something that forked between rounds gets the signal too.
    if (!empty(current)) onRound?.(current);
  }
  return current;
}

/**
 * Signal a process group; if it does not exist yet, its leader. node-pty returns right after fork(),
 * before the child's setsid(), so a signal sent at once would otherwise find no group and be lost.
 */
export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') safeKill(pgid, signal);
  }
}

export function safeKill(target: number, signal: NodeJS.Signals | 0): void {
  try {
    process.kill(target, signal);
  } catch {
    // ESRCH: already gone. EPERM: not ours to signal (a reused id); either way nothing to do.
  }
}
