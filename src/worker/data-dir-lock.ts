/**
 * One worker per data dir. Two workers sharing one would each reconcile away the other's runtimes at
 * start (to each, the other's are runtimes without a lease). The lock is a pid file: a live process
 * holding it refuses the start; a dead one (SIGKILL, power loss) is a stale lock and is taken over.
 * A pid file with this very process's pid is also taken over: it is a daemon of this process that was
 * abandoned without stopping (tests simulate crashes this way).
 */
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

export class DataDirBusy extends Error {
  override name = 'DataDirBusy';
}

export interface DataDirLock {
  release(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but is not ours to signal — still alive.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, 'worker.pid');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const file = await open(path, 'wx', 0o600);
      await file.writeFile(`${process.pid}\n`);
      await file.close();
      return { release: () => rm(path, { force: true }) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = Number((await readFile(path, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && alive(holder)) {
      throw new DataDirBusy(`another worker (pid ${holder}) is using the data dir ${dataDir}: two workers on one data dir would destroy each other's sandboxes`);
    }
    await rm(path, { force: true });
  }
  throw new DataDirBusy(`could not lock the data dir ${dataDir} (${path} keeps reappearing)`);
}
