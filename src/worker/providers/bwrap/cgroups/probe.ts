/**
 * Which cgroup controllers this worker can actually use, found once when the provider opens by doing
 * what a spawn does — create a child cgroup under our parent and write a limit — in a throwaway probe
 * group that is removed again. Being mounted proves nothing: a container may mount cgroups read-only,
 * and a v2 subtree may not delegate the controller to us.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Controller, type ControllerMount, readControllerMounts } from './mounts.js';
import { swapFile } from './limits.js';

export interface CgroupSupport {
  /** The parent group (relative to each hierarchy's mount) runtimes are created under. */
  parent: string;
  /** Controllers a runtime's cgroup can take, with their hierarchy. */
  usable: ControllerMount[];
  /** Whether the memory controller can also cap swap. */
  memorySwap: boolean;
  /** Why a controller is not usable, for the provider's warnings. */
  problems: string[];
}

const UNLIMITED: Record<Controller, Record<1 | 2, [string, string]>> = {
  memory: { 1: ['memory.limit_in_bytes', '-1'], 2: ['memory.max', 'max'] },
  pids: { 1: ['pids.max', 'max'], 2: ['pids.max', 'max'] },
  cpu: { 1: ['cpu.cfs_quota_us', '-1'], 2: ['cpu.max', 'max'] },
};

export function probeCgroups(parent: string, mode: 'auto' | 'off', probeName: string): CgroupSupport {
  const support: CgroupSupport = { parent, usable: [], memorySwap: false, problems: [] };
  if (mode === 'off') {
    support.problems.push('cgroups are turned off in the provider options');
    return support;
  }
  const placed = readControllerMounts();
  for (const controller of ['memory', 'pids', 'cpu'] as const) {
    if (!placed.some((p) => p.controller === controller)) support.problems.push(`no cgroup hierarchy has the ${controller} controller`);
  }
  for (const place of placed) {
    try {
      const probe = join(ensureParent(place, parent), probeName);
      mkdirSync(probe);
      try {
        const [file, value] = UNLIMITED[place.controller][place.version];
        writeFileSync(join(probe, file), value);
        if (place.controller === 'memory') support.memorySwap = existsSync(join(probe, swapFile(place.version)));
        support.usable.push(place);
      } finally {
        rmdirSync(probe);
      }
    } catch (err) {
      support.problems.push(`cannot use the ${place.controller} cgroup (v${place.version} at ${place.mount}): ${(err as Error).message}`);
    } finally {
      removeParentIfEmpty(place, parent);
    }
  }
  return support;
}

/**
 * Create our parent group (v2: with the controller enabled for its children on the way down) and
 * return its path. Runs at probe time and again at each spawn, since the parent is removed whenever the
 * last runtime goes (so a worker without sandboxes leaves nothing in /sys/fs/cgroup).
 */
export function ensureParent(place: ControllerMount, parent: string): string {
  const dir = join(place.mount, parent);
  if (place.version === 2) enableController(place.mount, place.controller);
  mkdirSync(dir, { recursive: true });
  if (place.version === 2) enableController(dir, place.controller);
  return dir;
}

function enableController(dir: string, controller: Controller): void {
  const control = join(dir, 'cgroup.subtree_control');
  if (readFileSync(control, 'utf8').split(/\s+/).includes(controller)) return;
  writeFileSync(control, `+${controller}`);
}

export function removeParentIfEmpty(place: ControllerMount, parent: string): void {
  try {
    rmdirSync(join(place.mount, parent));
  } catch {
    // Not empty (other runtimes, another worker) or already gone: either way not ours to remove now.
  }
}
