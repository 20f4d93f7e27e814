/**
 * What this host offers the bwrap provider, found once when it opens: the programs it runs (by
 * absolute path, never a PATH lookup at spawn time), the host user sandboxes run as, and how the
 * system directories are laid out (merged /usr or not).
 */
import { accessSync, constants, lstatSync, readlinkSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export interface HostTools {
  bwrap: string;
  /** util-linux: join the holder's namespaces; drop to the sandbox user; new session (+ctty). */
  nsenter: string;
  setpriv: string | undefined;
  setsid: string;
  sh: string;
  sleep: string;
  /** Hands the sandbox its environment from inside (start-process.ts explains why not from outside). */
  env: string;
  stty: string | undefined;
  /** perl or python3: unlocks a pseudo-terminal allocated in the sandbox's devpts (unlockpt). */
  unlockpt: { kind: 'perl' | 'python'; path: string } | undefined;
}

/** Where the provider looks for programs; the worker's own PATH is not trusted to be sane. */
const SEARCH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

export function findProgram(name: string, extra: string[] = []): string | undefined {
  for (const dir of [...extra, ...SEARCH]) {
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      if (statSync(path).isFile()) return path;
    } catch {
      // Keep looking.
    }
  }
  return undefined;
}

export function findTools(bwrapPath: string | undefined): { tools?: HostTools; missing: string[] } {
  const need = (name: string): string | undefined => findProgram(name);
  const found = {
    bwrap: bwrapPath ?? need('bwrap'),
    nsenter: need('nsenter'),
    setsid: need('setsid'),
    sh: need('sh'),
    sleep: need('sleep'),
    env: need('env'),
  };
  const missing = Object.entries(found).filter(([, path]) => !path).map(([name]) => name);
  if (missing.length > 0) return { missing };
  const perl = need('perl');
  const python = need('python3');
  return {
    missing,
    tools: {
      bwrap: found.bwrap as string,
      nsenter: found.nsenter as string,
      setsid: found.setsid as string,
      sh: found.sh as string,
      sleep: found.sleep as string,
      env: found.env as string,
      setpriv: need('setpriv'),
      stty: need('stty'),
      unlockpt: perl ? { kind: 'perl', path: perl } : python ? { kind: 'python', path: python } : undefined,
    },
  };
}

/** A system directory at the root: a real directory to bind, or a merged-/usr symlink to recreate. */
export type RootEntry = { name: string; kind: 'dir' } | { name: string; kind: 'symlink'; target: string };

const ROOT_DIRS = ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32'];

export function rootLayout(): RootEntry[] {
  const entries: RootEntry[] = [];
  for (const name of ROOT_DIRS) {
    try {
      const st = lstatSync(`/${name}`);
      if (st.isSymbolicLink()) entries.push({ name, kind: 'symlink', target: readlinkSync(`/${name}`) });
      else if (st.isDirectory()) entries.push({ name, kind: 'dir' });
    } catch {
      // Not on this host.
    }
  }
  return entries;
}

/** The directories a sandbox sees read-only; a program the provider runs inside must live under one. */
export function visibleInside(path: string, layout: RootEntry[]): boolean {
  return path.startsWith('/usr/') || layout.some((e) => path.startsWith(`/${e.name}/`));
}

/**
 * Every directory from / down to `dir` must be searchable by `uid`/`gid`: unprivileged bwrap resolves
 * bind sources by path as the sandbox user. Returns the first one that is not, or undefined.
 */
export function firstUntraversable(dir: string, uid: number, gid: number): string | undefined {
  if (uid === 0) return undefined;
  let current = resolve(dir);
  const chain: string[] = [];
  for (;;) {
    chain.unshift(current);
    const parent = dirname(current);
    if (parent === current) break;
    current = parent;
  }
  for (const path of chain) {
    let st;
    try {
      st = statSync(path);
    } catch {
      return undefined; // Not created yet: spawn creates it with the right mode.
    }
    const bit = st.uid === uid ? 0o100 : st.gid === gid ? 0o010 : 0o001;
    if ((st.mode & bit) === 0) return path;
  }
  return undefined;
}
