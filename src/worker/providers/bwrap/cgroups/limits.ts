/**
 * What to write into a runtime's cgroup for its resources, and the rlimits to fall back on when a
 * controller cannot be written. Pure: the I/O lives in runtime-cgroup.ts.
 */
import type { Controller } from './mounts.js';

export interface LimitResources {
  cpuMilli: number;
  memoryMb: number;
  pids?: number | undefined;
}

/**
 * When the request names no pid limit a sandbox still gets one: without it a fork bomb takes every pid
 * on the host. 1024 tasks (threads count) is plenty for a dev server with a build watcher.
 */
export const DEFAULT_PIDS = 1024;
/** The CFS period; the quota is the share of it the sandbox may run (1000 millicores = one CPU). */
export const CPU_PERIOD_US = 100_000;
const MIB = 1024 * 1024;

export function memoryBytes(r: LimitResources): number | undefined {
  return r.memoryMb > 0 ? Math.floor(r.memoryMb * MIB) : undefined;
}

export function pidsLimit(r: LimitResources): number | undefined {
  const pids = r.pids ?? DEFAULT_PIDS;
  return pids > 0 ? Math.floor(pids) : undefined;
}

export function cpuQuotaUs(r: LimitResources): number | undefined {
  // The kernel refuses quotas under 1 ms.
  return r.cpuMilli > 0 ? Math.max(1000, Math.round((r.cpuMilli * CPU_PERIOD_US) / 1000)) : undefined;
}

export interface LimitWrite {
  file: string;
  value: string;
}

/**
 * The files to write, in order. Swap is capped at the same total (v1 memsw counts memory + swap) or at
 * zero (v2 counts swap separately): otherwise a hog past its limit swaps instead of being stopped.
 * `hasSwapFile` says whether the swap file exists (it does not without swap accounting).
 */
export function limitWrites(controller: Controller, version: 1 | 2, r: LimitResources, hasSwapFile: boolean): LimitWrite[] {
  switch (controller) {
    case 'memory': {
      const bytes = memoryBytes(r);
      if (bytes === undefined) return [];
      if (version === 1) {
        const writes = [{ file: 'memory.limit_in_bytes', value: String(bytes) }];
        if (hasSwapFile) writes.push({ file: 'memory.memsw.limit_in_bytes', value: String(bytes) });
        return writes;
      }
      const writes = [{ file: 'memory.max', value: String(bytes) }];
      if (hasSwapFile) writes.push({ file: 'memory.swap.max', value: '0' });
      return writes;
    }
    case 'pids': {
      const pids = pidsLimit(r);
      return pids === undefined ? [] : [{ file: 'pids.max', value: String(pids) }];
    }
    case 'cpu': {
      const quota = cpuQuotaUs(r);
      if (quota === undefined) return [];
      if (version === 1) {
        return [
          { file: 'cpu.cfs_period_us', value: String(CPU_PERIOD_US) },
          { file: 'cpu.cfs_quota_us', value: String(quota) },
        ];
      }
      return [{ file: 'cpu.max', value: `${quota} ${CPU_PERIOD_US}` }];
    }
  }
}

/** The swap file whose presence limitWrites asks about. */
export function swapFile(version: 1 | 2): string {
  return version === 1 ? 'memory.memsw.limit_in_bytes' : 'memory.swap.max';
}

export interface Rlimits {
  addressSpaceKb?: number | undefined;
  processes?: number | undefined;
}

/** Rlimits for the controllers the cgroup could not take (cpu has no rlimit equivalent worth the name). */
export function fallbackRlimits(r: LimitResources, missing: { memory: boolean; pids: boolean }): Rlimits {
  const bytes = memoryBytes(r);
  return {
    addressSpaceKb: missing.memory && bytes !== undefined ? Math.floor(bytes / 1024) : undefined,
    processes: missing.pids ? pidsLimit(r) : undefined,
  };
}
