/**
 * Creating a runtime: its directories, its cgroup with the limits, and the holder — the long-lived bwrap
 * process whose namespaces every later process joins (start-process.ts). The holder is started
 * detached and without --die-with-parent on purpose: a sandbox must survive a worker restart so the
 * restarted worker can adopt it if it still holds the lease (spec 03, "Reconciliation on start"); when
 * it does not, reconciliation destroys it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { Unavailable } from '../../../domain/errors.js';
import type { EnforcedLimits, SpawnRequest } from '../types.js';
import { fallbackRlimits, memoryBytes, pidsLimit } from './cgroups/limits.js';
import { createRuntimeCgroup, removeCgroups } from './cgroups/runtime-cgroup.js';
import { type BwrapContext, cgroupKey } from './context.js';
import { scrubbedStdio } from './fd-scrub.js';
import { hostProblem } from './health.js';
import { type RuntimePaths, SANDBOX_PATH, runtimesRoot } from './layout.js';
import { readStat, signalPid } from './procfs.js';
import type { RuntimeRecord } from './record.js';
import { writeRecord } from './record.js';
import { GROUP, HOSTS, PASSWD, holderArgs } from './sandbox-fs.js';
import { prelude } from './shell.js';

const HOLDER_START_TIMEOUT_MS = 30_000;

/** Directories first (so a crash still leaves something destroy can find), then cgroup, then holder. */
export async function spawnRuntime(ctx: BwrapContext, req: SpawnRequest, paths: RuntimePaths): Promise<RuntimeRecord> {
  await prepareDirectories(ctx, paths);
  // Checked again now that the directories exist (mkdir may have created the data dir 0700 itself).
  const problem = hostProblem(ctx);
  if (problem) throw new Unavailable(problem);
  const cgroup = await createRuntimeCgroup(ctx.cgroups, cgroupKey(ctx, req.runtimeId), req.resources);
  const missing = { memory: !cgroup.enforced.has('memory'), pids: !cgroup.enforced.has('pids') };
  const rlimits = fallbackRlimits(req.resources, missing);
  const record: RuntimeRecord = {
    provider: 'bwrap',
    runtimeId: req.runtimeId,
    sandboxId: req.sandboxId,
    createdAt: ctx.clock.now(),
    network: req.network,
    cgroups: cgroup.dirs,
    rlimits,
    hostUid: ctx.runAs.uid,
    hostGid: ctx.runAs.gid,
    enforced: enforcedLimits(req, cgroup.enforced, rlimits),
    warnings: [...cgroup.warnings, ...limitWarnings(req, cgroup.enforced, rlimits)],
  };
  await writeRecord(paths.record, record);
  try {
    record.holder = await startHolder(ctx, record, paths);
  } catch (err) {
    await removeCgroups(cgroup.dirs);
    throw err;
  }
  await writeRecord(paths.record, record);
  return record;
}

async function prepareDirectories(ctx: BwrapContext, paths: RuntimePaths): Promise<void> {
  const root = runtimesRoot(ctx.dataDir);
  await mkdir(paths.workspace, { recursive: true, mode: 0o700 });
  // Traversable (not listable) for the sandbox user, which bwrap runs as; see layout.ts.
  await chmod(root, 0o711);
  await chmod(paths.dir, 0o711);
  await chmod(paths.workspace, 0o700);
  if (ctx.runAs.dropPrivileges) await chown(paths.workspace, ctx.runAs.uid, ctx.runAs.gid);
}

function enforcedLimits(req: SpawnRequest, inCgroup: Set<string>, rlimits: ReturnType<typeof fallbackRlimits>): EnforcedLimits {
  const memory = inCgroup.has('memory') && memoryBytes(req.resources) !== undefined ? 'cgroup' : rlimits.addressSpaceKb ? 'rlimit' : 'none';
  const pids = inCgroup.has('pids') && pidsLimit(req.resources) !== undefined ? 'cgroup' : rlimits.processes ? 'rlimit' : 'none';
  const cpu = inCgroup.has('cpu') && req.resources.cpuMilli > 0 ? 'cgroup' : 'none';
  return { cpu, memory, pids, disk: 'none', network: req.network === 'host' ? 'host' : 'namespace', filesystem: 'private' };
}

function limitWarnings(req: SpawnRequest, inCgroup: Set<string>, rlimits: ReturnType<typeof fallbackRlimits>): string[] {
  const warnings: string[] = [];
  if (rlimits.addressSpaceKb) {
    warnings.push('memory is limited by RLIMIT_AS (address space, per process), not by a cgroup: resident memory of the sandbox as a whole is not capped, and runtimes that reserve large address spaces (Node, JVM, Go) may fail to start');
  }
  if (rlimits.processes) {
    warnings.push('the process limit is RLIMIT_NPROC, which counts every process of the sandbox user on the host (all sandboxes together), not this sandbox alone');
  }
  if (!inCgroup.has('cpu') && req.resources.cpuMilli > 0) warnings.push('cpu is not limited (no writable cpu cgroup)');
  if (req.resources.diskMb > 0) warnings.push('disk use is not limited');
  if (req.network === 'host') warnings.push('network "host": the sandbox shares the host network, including services on its loopback');
  return warnings;
}

async function startHolder(ctx: BwrapContext, record: RuntimeRecord, paths: RuntimePaths): Promise<RuntimeRecord['holder']> {
  const withHosts = record.network === 'none';
  const args = holderArgs({
    network: record.network,
    workspace: paths.workspace,
    rootLayout: ctx.rootLayout,
    fds: { info: 3, passwd: 4, group: 5, hosts: withHosts ? 6 : undefined, ready: 7 },
    sh: ctx.tools.sh,
    sleep: ctx.tools.sleep,
  });
  const drop = ctx.runAs.dropPrivileges
    ? [ctx.tools.setpriv as string, `--reuid=${ctx.runAs.uid}`, `--regid=${ctx.runAs.gid}`, '--clear-groups', '--']
    : [];
  const script = prelude({ cgroupProcs: record.cgroups.map((dir) => join(dir, 'cgroup.procs')), rlimits: record.rlimits });
  const log = openSync(paths.holderLog, 'w', 0o600);
  let child: ChildProcess;
  try {
    const explicit = ['ignore', 'ignore', log, 'pipe', 'pipe', 'pipe', withHosts ? 'pipe' : 'ignore', 'pipe'] as const;
    child = spawn(ctx.tools.sh, ['-c', script, ...drop, ctx.tools.bwrap, ...args], {
      detached: true,
      cwd: '/',
      env: { PATH: SANDBOX_PATH },
      stdio: scrubbedStdio([...explicit], ctx.devNull),
    });
  } finally {
    closeSync(log);
  }
  for (const [fd, text] of [[4, PASSWD], [5, GROUP], ...(withHosts ? [[6, HOSTS] as const] : [])] as const) {
    const stream = (child.stdio as unknown as Array<Writable | null>)[fd];
    stream?.on('error', () => {});
    stream?.end(text);
  }
  let pid: number | undefined;
  try {
    const text = await readFromChild(child, paths, 3, 'end');
    let info: Record<string, unknown>;
    try {
      info = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new Unavailable(`bwrap wrote unreadable info ${JSON.stringify(text.slice(0, 200))}`);
    }
    pid = Number(info['child-pid']);
    const stat = Number.isInteger(pid) && pid > 1 ? await readStat(pid) : undefined;
    if (!stat) throw new Unavailable(`bwrap reported no usable holder pid (${JSON.stringify(info)})`);
    if ((await readFromChild(child, paths, 7, 'line')).trim() !== 'ready') throw new Unavailable('the sandbox holder did not start');
    return { pid, startTime: stat.startTime, pidNamespace: Number(info['pid-namespace'] ?? 0) };
  } catch (err) {
    // The holder runs in a new session (--new-session), outside the launcher's process group.
    for (const target of [child.pid ? -child.pid : undefined, pid]) if (target) signalPid(target, 'SIGKILL');
    throw err;
  } finally {
    // Nothing of the launcher may keep the worker's event loop alive or hold its pipes open.
    child.removeAllListeners();
    for (const stream of child.stdio) stream?.destroy();
    child.unref();
  }
}

/**
 * What the child writes to its fd `fd`: until the fd closes (the JSON bwrap writes to --info-fd), or
 * the first line (the holder's `ready`; bwrap's own processes keep that fd open). An exit before it is
 * a start-up failure, explained by holder.log.
 */
function readFromChild(child: ChildProcess, paths: RuntimePaths, fd: number, until: 'end' | 'line'): Promise<string> {
  const info = (child.stdio as unknown as Readable[])[fd] as Readable;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let settled = false;
    const timer = setTimeout(() => fail(`bwrap did not start within ${HOLDER_START_TIMEOUT_MS} ms`), HOLDER_START_TIMEOUT_MS);
    const fail = (why: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void readFile(paths.holderLog, 'utf8')
        .catch(() => '')
        .then((log) => reject(new Unavailable(`the sandbox could not be started: ${why}${log.trim() ? `: ${log.trim().slice(0, 500)}` : ''}`)));
    };
    const done = (text: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(text);
    };
    info.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      const text = Buffer.concat(chunks).toString('utf8');
      if (until === 'line' && text.includes('\n')) done(text.slice(0, text.indexOf('\n')));
    });
    info.on('error', () => {});
    info.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim()) done(text); // Closed without writing: the exit handler explains.
    });
    child.once('error', (err) => fail(err.message));
    child.once('exit', (code, signal) => {
      // A successful start never exits; wait a moment for 'end' in case both race.
      setTimeout(() => fail(`bwrap exited (${signal ?? `code ${code}`})`), 50);
    });
  });
}

/** Remove a runtime directory that spawn created but could not finish. */
export async function removeRuntimeDir(paths: RuntimePaths): Promise<void> {
  await rm(paths.dir, { recursive: true, force: true });
}
