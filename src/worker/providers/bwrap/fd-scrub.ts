/**
 * Keeping the worker's inheritable file descriptors out of sandboxes.
 *
 * Node opens everything close-on-exec, but native addons and the worker's own parent need not: node-pty
 * (used by the process provider) leaves every pty master inheritable, and a supervisor may hand the
 * worker an fd it never closes. libuv does not close stray fds in children, so without this a sandbox
 * process could inherit another sandbox's terminal. Every child this provider spawns gets /dev/null
 * dup'ed over each such fd number through its stdio array.
 */
import { readFileSync, readdirSync } from 'node:fs';
import type { StdioOptions } from 'node:child_process';

const O_CLOEXEC = 0o2000000;

/** Fds ≥ 3 of this process without close-on-exec. */
export function inheritableFds(): number[] {
  const found: number[] = [];
  let names: string[];
  try {
    names = readdirSync('/proc/self/fd');
  } catch {
    return found;
  }
  for (const name of names) {
    const fd = Number(name);
    if (!Number.isInteger(fd) || fd < 3) continue;
    try {
      const match = /^flags:\s*([0-7]+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
      if (match && (parseInt(match[1] as string, 8) & O_CLOEXEC) === 0) found.push(fd);
    } catch {
      // Closed meanwhile (e.g. the directory fd readdirSync used).
    }
  }
  return found;
}

type Entry = Exclude<StdioOptions, string>[number];

/** `explicit` as the child's first fds, with `devNull` over every other inheritable fd number. */
export function scrubbedStdio(explicit: Entry[], devNull: number): Entry[] {
  const stdio: Entry[] = [...explicit];
  for (const fd of inheritableFds()) {
    if (fd < explicit.length) continue;
    while (stdio.length < fd) stdio.push('ignore');
    stdio[fd] = devNull;
  }
  return stdio;
}
