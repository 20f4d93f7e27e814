/**
 * Destroying a runtime: kill everything in it, release its cgroups, delete its files.
 *
 * Killing the holder (the sandbox's pid 1) makes the kernel SIGKILL every process in its pid namespace,
 * whatever they do; nothing can fork into a namespace whose init is gone. The cgroup then lists what
 * is left on the host side (nsenter waiting for its command) and is killed until empty; without a
 * cgroup, processes are found by their pid namespace. Only then are the groups and files removed.
 */
import { rm } from 'node:fs/promises';
import { cgroupPids, killCgroup, removeCgroups } from './cgroups/runtime-cgroup.js';
import type { RuntimePaths } from './layout.js';
import { isAlive, pidsInNamespace, signalPid } from './procfs.js';
import type { RuntimeRecord } from './record.js';

const KILL_DEADLINE_MS = 15_000;
const POLL_MS = 20;

export async function destroyRuntime(record: RuntimeRecord, paths: RuntimePaths, hostPids: number[]): Promise<void> {
  await killRuntime(record, hostPids);
  await rm(paths.dir, { recursive: true, force: true });
}

/** Kill every process of the runtime and remove its cgroups; true once nothing is left. */
export async function killRuntime(record: RuntimeRecord, hostPids: number[]): Promise<boolean> {
  const holder = record.holder;
  if (holder && (await isAlive(holder.pid, holder.startTime))) signalPid(holder.pid, 'SIGKILL');
  for (const pid of hostPids) signalPid(pid, 'SIGKILL');
  const rounds = Math.ceil(KILL_DEADLINE_MS / POLL_MS);
  for (let round = 0; round < rounds; round++) {
    const left = await remaining(record);
    if (left.length === 0 && (await removeCgroups(record.cgroups))) return true;
    if (record.cgroups.length > 0) await killCgroup(record.cgroups);
    for (const pid of left) signalPid(pid, 'SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return false;
}

async function remaining(record: RuntimeRecord): Promise<number[]> {
  const holder = record.holder;
  const left: number[] = [];
  if (holder && (await isAlive(holder.pid, holder.startTime))) left.push(holder.pid);
  if (record.cgroups.length > 0) left.push(...(await cgroupPids(record.cgroups)));
  else if (holder?.pidNamespace) left.push(...(await pidsInNamespace(holder.pidNamespace)));
  return [...new Set(left)].filter((pid) => pid !== process.pid);
}
