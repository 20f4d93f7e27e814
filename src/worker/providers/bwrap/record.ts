/**
 * runtime.json: everything a later worker process needs to find, join, adopt or kill a runtime it did
 * not spawn itself. Written atomically (temp file + rename) so a crash never leaves half a record; the
 * directory name, not the record, is authoritative for the runtime id.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { EnforcedLimits } from '../types.js';

export interface HolderIdentity {
  /** Host pid of the sandbox's pid 1 (bwrap's --info-fd "child-pid"), whose namespaces processes join. */
  pid: number;
  /** Field 22 of /proc/<pid>/stat: tells the holder apart from a later process that reused its pid. */
  startTime: string;
  /** Inode of the sandbox's pid namespace, to find its processes on the host without a cgroup. */
  pidNamespace: number;
}

export interface RuntimeRecord {
  provider: 'bwrap';
  runtimeId: string;
  sandboxId: string;
  createdAt: number;
  network: 'none' | 'host';
  /** Absent until the holder is up (a record without one is a spawn that did not finish). */
  holder?: HolderIdentity | undefined;
  /** The runtime's cgroup directories (one per v1 hierarchy, or one v2 directory). */
  cgroups: string[];
  /** Applied with `ulimit` to every process when the matching cgroup controller was unavailable. */
  rlimits: { addressSpaceKb?: number | undefined; processes?: number | undefined };
  /** Host uid/gid the sandbox's processes run as. */
  hostUid: number;
  hostGid: number;
  enforced: EnforcedLimits;
  warnings: string[];
}

export async function writeRecord(path: string, record: RuntimeRecord): Promise<void> {
  const tmp = join(dirname(path), `.runtime.json.${process.pid}.tmp`);
  await writeFile(tmp, `${JSON.stringify(record)}\n`, { mode: 0o600 });
  await rename(tmp, path);
}

/** The record at `path`, or undefined when missing, unreadable or another provider's. */
export async function readRecord(path: string, runtimeId: string): Promise<RuntimeRecord | undefined> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const parsed = JSON.parse(text) as Partial<RuntimeRecord>;
    if (parsed.provider !== 'bwrap' || typeof parsed.sandboxId !== 'string') return undefined;
    return {
      provider: 'bwrap',
      runtimeId,
      sandboxId: parsed.sandboxId,
      createdAt: Number(parsed.createdAt ?? 0),
      network: parsed.network === 'host' ? 'host' : 'none',
      holder: validHolder(parsed.holder),
      cgroups: Array.isArray(parsed.cgroups) ? parsed.cgroups.filter((c): c is string => typeof c === 'string' && c.startsWith('/sys/fs/cgroup/')) : [],
      rlimits: parsed.rlimits ?? {},
      hostUid: Number(parsed.hostUid),
      hostGid: Number(parsed.hostGid),
      enforced: parsed.enforced as EnforcedLimits,
      warnings: Array.isArray(parsed.warnings) ? parsed.warnings : [],
    };
  } catch {
    return undefined;
  }
}

function validHolder(value: unknown): HolderIdentity | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const h = value as Partial<HolderIdentity>;
  if (!Number.isInteger(h.pid) || (h.pid as number) <= 1 || typeof h.startTime !== 'string') return undefined;
  return { pid: h.pid as number, startTime: h.startTime, pidNamespace: Number(h.pidNamespace ?? 0) };
}
