/**
 * Host probing for the process provider: the I/O edge of limits.ts. Tools are looked up in fixed
 * system directories rather than the worker's own PATH, so what the provider runs does not depend on
 * how the worker happened to be started.
 */
import { constants } from 'node:fs';
import { access, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { HostFacts } from './limits.js';

export const SYSTEM_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** The PATH sandbox processes get unless the sandbox sets its own. */
export const SANDBOX_PATH = SYSTEM_DIRS.join(':');

export async function findExecutable(name: string, dirs: string[] = SYSTEM_DIRS): Promise<string | undefined> {
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; try the next directory
    }
  }
  return undefined;
}

export async function probeHost(): Promise<HostFacts> {
  const [prlimit, shell] = await Promise.all([findExecutable('prlimit'), findExecutable('sh')]);
  return { prlimit, shell: shell ?? '/bin/sh', uid: process.getuid?.() ?? -1 };
}

/**
 * Tasks (threads) the user `uid` runs right now: what RLIMIT_NPROC is compared against. Processes we
 * cannot read are skipped, so the count is a lower bound; that errs towards a tighter limit.
 */
export async function countUserTasks(uid: number): Promise<number> {
  let total = 0;
  const entries = await readdir('/proc').catch(() => [] as string[]);
  await Promise.all(
    entries
      .filter((name) => /^\d+$/.test(name))
      .map(async (pid) => {
        const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
        const uidLine = /^Uid:\s+(\d+)/m.exec(status);
        const threads = /^Threads:\s+(\d+)/m.exec(status);
        if (uidLine && Number(uidLine[1]) === uid) total += threads ? Number(threads[1]) : 1;
      }),
  );
  return total;
}
