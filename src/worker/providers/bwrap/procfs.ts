/** Reading host processes from /proc: identity (pid + start time), parentage, namespaces. */
import { readFile, readdir, readlink } from 'node:fs/promises';

interface Stat {
  state: string;
  ppid: number;
  startTime: string;
}

/** Parsed /proc/<pid>/stat; the command name may contain spaces and parentheses, so split after the last ')'. */
export async function readStat(pid: number): Promise<Stat | undefined> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (!text) return undefined;
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // After the name: state(3) ppid(4) … starttime(22) → indices 0, 1, 19.
  return { state: fields[0] ?? '', ppid: Number(fields[1]), startTime: fields[19] ?? '' };
}

/** The process exists, is not a zombie, and is the one that started at `startTime` (not a reused pid). */
export async function isAlive(pid: number, startTime?: string): Promise<boolean> {
  const stat = await readStat(pid);
  if (!stat || stat.state === 'Z' || stat.state === 'X') return false;
  return startTime === undefined || stat.startTime === startTime;
}

export async function allPids(): Promise<number[]> {
  const names = await readdir('/proc').catch(() => [] as string[]);
  return names.filter((n) => /^\d+$/.test(n)).map(Number);
}

/** Children of `parent` among `candidates` (all host processes when none are given). */
export async function childrenOf(parent: number, candidates?: number[]): Promise<number[]> {
  const pids = candidates ?? (await allPids());
  const stats = await Promise.all(pids.map(async (pid) => [pid, await readStat(pid)] as const));
  return stats.filter(([, stat]) => stat?.ppid === parent && stat.state !== 'Z').map(([pid]) => pid);
}

/** The inode of a process's pid namespace (`pid:[4026532181]`), or undefined. */
export async function pidNamespaceOf(pid: number): Promise<number | undefined> {
  const link = await readlink(`/proc/${pid}/ns/pid`).catch(() => undefined);
  const match = link ? /\[(\d+)\]/.exec(link) : null;
  return match ? Number(match[1]) : undefined;
}

/** Host processes inside the pid namespace with this inode. */
export async function pidsInNamespace(inode: number): Promise<number[]> {
  const pids = await allPids();
  const inside = await Promise.all(pids.map(async (pid) => ((await pidNamespaceOf(pid)) === inode ? pid : undefined)));
  return inside.filter((pid): pid is number => pid !== undefined);
}

export function signalPid(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}
