/**
 * One runtime's cgroup: created with its limits at spawn, listed and killed at destroy, then removed.
 * On v1 that is one directory per hierarchy (memory, pids, cpu are usually separate mounts); on v2 a
 * single directory. Every directory is named `<parent>/<key>`, the key being unique per worker data
 * dir and runtime, so two workers on one host never share a group.
 */
import { readFile, rmdir, writeFile, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type LimitResources, limitWrites } from './limits.js';
import type { Controller, ControllerMount } from './mounts.js';
import { type CgroupSupport, ensureParent } from './probe.js';

export interface RuntimeCgroup {
  dirs: string[];
  /** Controllers whose limits were written (so the runtime is really held to them). */
  enforced: Set<Controller>;
  warnings: string[];
}

export async function createRuntimeCgroup(support: CgroupSupport, key: string, resources: LimitResources): Promise<RuntimeCgroup> {
  const result: RuntimeCgroup = { dirs: [], enforced: new Set(), warnings: [] };
  // Controllers sharing a hierarchy (all of v2, or co-mounted v1 ones) share a directory.
  const byMount = new Map<string, ControllerMount[]>();
  for (const place of support.usable) byMount.set(place.mount, [...(byMount.get(place.mount) ?? []), place]);
  for (const [mount, places] of byMount) {
    const dir = join(mount, support.parent, key);
    try {
      await makeGroup(places, support.parent, dir);
    } catch (err) {
      result.warnings.push(`could not create the cgroup ${dir}: ${(err as Error).message}`);
      continue;
    }
    result.dirs.push(dir);
    for (const place of places) {
      try {
        for (const write of limitWrites(place.controller, place.version, resources, support.memorySwap)) {
          await writeFile(join(dir, write.file), write.value);
        }
        result.enforced.add(place.controller);
      } catch (err) {
        result.warnings.push(`could not set the ${place.controller} limit in ${dir}: ${(err as Error).message}`);
      }
    }
  }
  return result;
}

async function makeGroup(places: ControllerMount[], parent: string, dir: string): Promise<void> {
  // The parent may vanish between creating it and our child (the last other runtime was destroyed
  // and took it along); create it again and retry.
  for (let attempt = 0; ; attempt++) {
    for (const place of places) ensureParent(place, parent);
    try {
      await mkdir(dir);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return; // A leftover of a runtime with this id: reuse it.
      if (code !== 'ENOENT' || attempt >= 3) throw err;
    }
  }
}

/** Pids (thread-group ids) in any of the runtime's cgroup directories. */
export async function cgroupPids(dirs: string[]): Promise<number[]> {
  const pids = new Set<number>();
  for (const dir of dirs) {
    const text = await readFile(join(dir, 'cgroup.procs'), 'utf8').catch(() => '');
    for (const line of text.split('\n')) if (line) pids.add(Number(line));
  }
  return [...pids];
}

/** SIGKILL everything in the groups: v2's cgroup.kill does it atomically; on v1, pid by pid. */
export async function killCgroup(dirs: string[]): Promise<void> {
  for (const dir of dirs) {
    const kill = join(dir, 'cgroup.kill');
    if (existsSync(kill)) await writeFile(kill, '1').catch(() => {});
  }
  for (const pid of await cgroupPids(dirs)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

/** Remove the groups; false while one still has processes (EBUSY). Empty parents go too. */
export async function removeCgroups(dirs: string[]): Promise<boolean> {
  let done = true;
  for (const dir of dirs) {
    try {
      await rmdir(dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') continue;
      done = false;
      continue;
    }
    await rmdir(dirname(dir)).catch(() => {});
  }
  return done;
}
