/**
 * Opening the bwrap provider: find the host's tools, probe cgroups, decide which host user sandboxes
 * run as, and say what this host can and cannot enforce. Synchronous: it runs once at worker start.
 */
import { openSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { type Clock, systemClock } from '../../../domain/clock.js';
import { Unavailable } from '../../../domain/errors.js';
import type { Provider, ProviderInfo } from '../types.js';
import { probeCgroups, type CgroupSupport } from './cgroups/probe.js';
import { type BwrapContext, type RunAs, cgroupPrefixFor } from './context.js';
import { hostProblem } from './health.js';
import { findTools, rootLayout, visibleInside, type HostTools } from './host.js';
import { BwrapProvider } from './provider.js';

export interface BwrapProviderOptions {
  /** The worker's data dir; runtimes live under `<dataDir>/runtimes/`. */
  dataDir: string;
  /** bwrap binary; found on the usual system paths when absent. */
  bwrapPath?: string | undefined;
  clock?: Clock | undefined;
  /** 'off' skips cgroups (limits fall back to rlimits); for hosts where touching cgroups is unwanted, and tests. */
  cgroups?: 'auto' | 'off' | undefined;
  /** Parent group of every runtime's cgroup, relative to each hierarchy (e.g. a delegated systemd slice). */
  cgroupParent?: string | undefined;
  /** Host uid/gid sandboxes run as when the worker is root (default 65534, nobody). */
  sandboxUser?: { uid: number; gid: number } | undefined;
}

export function createBwrapProvider(options: BwrapProviderOptions): Provider {
  const { tools, missing } = findTools(options.bwrapPath);
  if (!tools) throw new Unavailable(`the bwrap provider needs ${missing.join(', ')} on this host`);
  const layout = rootLayout();
  const hidden = [tools.setsid, tools.sh, tools.sleep, tools.env].filter((path) => !visibleInside(path, layout));
  if (hidden.length > 0) throw new Unavailable(`the bwrap provider runs ${hidden.join(', ')} inside sandboxes, but they are outside /usr and /bin`);
  const cgroups = probeCgroups(options.cgroupParent ?? 'drover', options.cgroups ?? 'auto', `probe-${process.pid}-${randomBytes(4).toString('hex')}`);
  const ctx: BwrapContext = {
    dataDir: options.dataDir,
    tools,
    rootLayout: layout,
    cgroups,
    runAs: runAs(options.sandboxUser),
    devNull: openSync('/dev/null', 'r+'),
    clock: options.clock ?? systemClock,
    cgroupPrefix: cgroupPrefixFor(options.dataDir),
    forwarderScript: fileURLToPath(new URL('./forwarder.js', import.meta.url)),
  };
  return new BwrapProvider(ctx, describe(ctx, tools, cgroups));
}

function runAs(user: { uid: number; gid: number } | undefined): RunAs {
  const uid = process.getuid?.() ?? 0;
  if (uid !== 0) return { uid, gid: process.getgid?.() ?? uid, dropPrivileges: false };
  return { uid: user?.uid ?? 65534, gid: user?.gid ?? 65534, dropPrivileges: true };
}

function describe(ctx: BwrapContext, tools: HostTools, cgroups: CgroupSupport): ProviderInfo {
  const capabilities = ['network:none', 'network:host', 'filesystem:private'];
  const warnings: string[] = [];
  if (tools.unlockpt && tools.stty) capabilities.push('pty');
  else warnings.push('no pseudo-terminals: they need perl or python3 (for unlockpt) and stty on the worker host');
  for (const version of new Set(cgroups.usable.map((p) => p.version))) capabilities.push(`cgroup:v${version}`);
  for (const place of cgroups.usable) capabilities.push(`limits:${place.controller}`);
  const has = (c: string): boolean => cgroups.usable.some((p) => p.controller === c);
  if (!has('memory')) warnings.push('memory is limited by RLIMIT_AS per process, not by a cgroup (no writable memory cgroup)');
  if (!has('pids')) warnings.push('the process count is limited by RLIMIT_NPROC, shared by every sandbox of the same host user (no writable pids cgroup)');
  if (!has('cpu')) warnings.push('cpu is not limited (no writable cpu cgroup)');
  warnings.push(...cgroups.problems);
  if (!ctx.runAs.dropPrivileges) {
    warnings.push(`the worker is not root: sandboxes run as its own uid ${ctx.runAs.uid}, so a sandbox escape would reach the worker's files`);
  }
  const problem = hostProblem(ctx);
  if (problem) warnings.push(problem);
  return { name: 'bwrap', isolated: true, capabilities, warnings };
}
