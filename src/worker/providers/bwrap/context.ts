/** What every part of the bwrap provider shares: resolved once when the provider opens, then read-only. */
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import type { Clock } from '../../../domain/clock.js';
import type { CgroupSupport } from './cgroups/probe.js';
import type { HostTools, RootEntry } from './host.js';

export interface RunAs {
  /** Host uid/gid of every sandbox process (and of bwrap itself). */
  uid: number;
  gid: number;
  /** True when the worker is root and drops to uid/gid with setpriv before bwrap. */
  dropPrivileges: boolean;
}

export interface BwrapContext {
  dataDir: string;
  tools: HostTools;
  rootLayout: RootEntry[];
  cgroups: CgroupSupport;
  runAs: RunAs;
  /** An fd on /dev/null kept open, dup'ed over stray inheritable fds in children (fd-scrub.ts). */
  devNull: number;
  clock: Clock;
  /** Unique per data dir: names this worker's cgroups apart from another worker's on the same host. */
  cgroupPrefix: string;
  /** The forwarder script (plain Node, no dependencies). */
  forwarderScript: string;
}

export function cgroupPrefixFor(dataDir: string): string {
  return createHash('sha256').update(resolve(dataDir)).digest('hex').slice(0, 10);
}

export function cgroupKey(ctx: BwrapContext, runtimeId: string): string {
  return `${ctx.cgroupPrefix}-${runtimeId}`;
}
