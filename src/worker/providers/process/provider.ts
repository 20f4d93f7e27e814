/**
 * The `process` provider: sandbox processes run as the worker's user, on the host's filesystem and
 * network, each in its own process group, in a private working directory, under rlimits where the host
 * allows. It isolates nothing and says so (info().warnings, RuntimeHandle.warnings); it exists so a
 * worker runs where bubblewrap does not.
 *
 * A runtime is its directory (layout.ts) plus, in this instance's memory, what spawn() was asked for
 * (limits and sandbox env). Calling spawn() again for an existing runtime of the same sandbox adopts
 * it (workspace kept): that is how a restarted worker takes back a runtime whose lease it still holds.
 * Until then such a runtime is listed by inventory() and reported `dead` by status().
 */
import { closeSync, constants, openSync } from 'node:fs';
import { access, mkdir, realpath, rm, stat } from 'node:fs/promises';
import type { Clock } from '../../../domain/clock.js';
import { BadRequest, Conflict, NotFound, Unavailable } from '../../../domain/errors.js';
import type {
  PortAddress,
  ProcessOptions,
  Provider,
  ProviderInfo,
  RuntimeHandle,
  RuntimeStatus,
  SandboxProcess,
  SpawnRequest,
} from '../types.js';
import { buildEnv, hostCwd, validateArgv, validateEnv } from './env.js';
import { countUserTasks, probeHost } from './host.js';
import { RuntimeLayout, assertRuntimeId } from './layout.js';
import { limitValues, planLimits, wrapArgv, type HostFacts, type LimitPlan, type RlimitMechanism } from './limits.js';
import { startPipeProcess, type CommandLine, type GroupHooks } from './pipe-process.js';
import { ptyLeaderArgv, startPtyProcess } from './pty-process.js';
import { reapRuntime } from './reap.js';

export interface ProcessProviderOptions {
  dataDir: string;
  /** Accepted for symmetry with the other providers; nothing here depends on the time of day. */
  clock?: Clock;
  /** How rlimits are applied; 'auto' = prlimit when installed, else a `sh -c 'ulimit …'` wrapper. */
  rlimits?: 'auto' | RlimitMechanism;
  /** Between SIGTERM and SIGKILL on destroy. */
  killGraceMs?: number;
  /** Host facts, instead of probing (tests force the shell fallback this way). */
  host?: HostFacts;
}

interface LiveRuntime {
  handle: RuntimeHandle;
  plan: LimitPlan;
  resources: SpawnRequest['resources'];
  env: Record<string, string>;
  /** Process groups whose process has not ended: what destroy() signals by number. */
  groups: Set<number>;
}

const NOT_ISOLATED =
  "the process provider does not isolate sandboxes: their processes run as the worker's user and see the host's files, processes and network";

export async function createProcessProvider(options: ProcessProviderOptions): Promise<ProcessProvider> {
  return new ProcessProvider(options, options.host ?? (await probeHost()));
}

export class ProcessProvider implements Provider {
  readonly name = 'process' as const;
  private readonly layout: RuntimeLayout;
  private readonly runtimes = new Map<string, LiveRuntime>();
  private readonly destroying = new Map<string, Promise<void>>();
  private readonly wanted: 'auto' | RlimitMechanism;
  private readonly graceMs: number;
  private closed = false;
  /** Put over the worker's stray inheritable fds in every pipe child (see CommandLine.devNull). */
  private readonly devNull: number;

  constructor(
    options: ProcessProviderOptions,
    private readonly host: HostFacts,
  ) {
    this.layout = new RuntimeLayout(options.dataDir);
    this.wanted = options.rlimits ?? 'auto';
    this.graceMs = options.killGraceMs ?? 2000;
    // Fail at start-up, not at the first spawn, if the configured mechanism cannot work here.
    planLimits({ cpuMilli: 0, memoryMb: 1, diskMb: 0 }, host, this.wanted);
    this.devNull = openSync('/dev/null', 'r+');
  }

  info(): ProviderInfo {
    const plan = planLimits({ cpuMilli: 0, memoryMb: 1, diskMb: 0, pids: 1 }, this.host, this.wanted);
    const capabilities = ['pty', 'network:host'];
    if (plan.mechanism !== 'off') capabilities.push(`rlimit:${plan.mechanism}`);
    return { name: this.name, isolated: false, capabilities, warnings: [NOT_ISOLATED, ...plan.warnings] };
  }

  async spawn(req: SpawnRequest): Promise<RuntimeHandle> {
    this.assertOpen();
    assertRuntimeId(req.runtimeId);
    validateEnv(req.env, 'sandbox env');
    await this.destroying.get(req.runtimeId);
    const existing = await this.layout.read(req.runtimeId);
    if (existing && (existing.sandboxId !== req.sandboxId || existing.provider !== this.name)) {
      throw new Conflict(`runtime ${req.runtimeId} belongs to sandbox ${existing.sandboxId} (${existing.provider})`);
    }
    await this.layout.create({ runtimeId: req.runtimeId, sandboxId: req.sandboxId, provider: this.name });
    const plan = planLimits(req.resources, this.host, this.wanted);
    const warnings = [NOT_ISOLATED, ...plan.warnings];
    if (req.network === 'none') warnings.push('network "none" was requested, but the process provider shares the host network');
    const handle: RuntimeHandle = {
      sandboxId: req.sandboxId,
      runtimeId: req.runtimeId,
      // The real path, so path confinement in the file layer compares like with like.
      workspace: await realpath(this.layout.workspace(req.runtimeId)),
      enforced: plan.enforced,
      warnings,
    };
    const previous = this.runtimes.get(req.runtimeId);
    this.runtimes.set(req.runtimeId, { handle, plan, resources: req.resources, env: { ...req.env }, groups: previous?.groups ?? new Set() });
    return handle;
  }

  async startProcess(runtimeId: string, options: ProcessOptions): Promise<SandboxProcess> {
    this.assertOpen();
    const rt = this.live(runtimeId);
    validateArgv(options.argv);
    validateEnv(options.env, 'process env');
    const cwd = hostCwd(rt.handle.workspace, options.cwd);
    const dir = await stat(cwd).catch(() => undefined);
    if (!dir?.isDirectory()) throw new BadRequest(`cwd ${options.cwd ?? cwd} is not a directory`);
    const userTasks = rt.plan.enforced.pids === 'rlimit' ? await countUserTasks(this.host.uid) : 0;
    // The runtime may have been destroyed while we looked around; never start into a dying runtime.
    const current = this.live(runtimeId);
    const env = buildEnv({ runtimeId, home: current.handle.workspace, sandboxEnv: current.env, processEnv: options.env, pty: !!options.pty });
    const argv = options.pty ? ptyLeaderArgv(this.host.shell, options.argv) : options.argv;
    const { file, args } = wrapArgv(argv, current.plan, this.host, limitValues(current.resources, current.plan, userTasks));
    const line: CommandLine = { file, args, env, cwd, command: options.argv[0] as string, devNull: this.devNull };
    const hooks: GroupHooks = { started: (pgid) => current.groups.add(pgid), ended: (pgid) => current.groups.delete(pgid) };
    return options.pty ? startPtyProcess(line, options.pty, hooks) : startPipeProcess(line, hooks);
  }

  async destroy(runtimeId: string): Promise<void> {
    assertRuntimeId(runtimeId);
    const inFlight = this.destroying.get(runtimeId);
    if (inFlight) return inFlight;
    const done = this.doDestroy(runtimeId).finally(() => this.destroying.delete(runtimeId));
    this.destroying.set(runtimeId, done);
    return done;
  }

  private async doDestroy(runtimeId: string): Promise<void> {
    const record = await this.layout.read(runtimeId);
    if (record && record.provider !== this.name) throw new Conflict(`runtime ${runtimeId} belongs to the ${record.provider} provider`);
    const rt = this.runtimes.get(runtimeId);
    // Forget it first, so no process can be started into it while it is being torn down.
    this.runtimes.delete(runtimeId);
    await reapRuntime({ runtimeId, groups: rt?.groups ?? [], graceMs: this.graceMs });
    await rm(this.layout.dir(runtimeId), { recursive: true, force: true, maxRetries: 3 });
  }

  async status(runtimeId: string): Promise<RuntimeStatus | undefined> {
    assertRuntimeId(runtimeId);
    const rt = this.runtimes.get(runtimeId);
    if (rt && !this.destroying.has(runtimeId)) {
      return { runtimeId, sandboxId: rt.handle.sandboxId, state: 'running', processes: rt.groups.size };
    }
    const record = await this.layout.read(runtimeId);
    if (!record || record.provider !== this.name) return undefined;
    return { runtimeId, sandboxId: record.sandboxId, state: 'dead', processes: rt?.groups.size ?? 0 };
  }

  async portAddress(runtimeId: string, port: number): Promise<PortAddress> {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new BadRequest(`invalid port ${port}`);
    this.live(runtimeId);
    // Host network: the sandbox's ports are the host's.
    return { kind: 'tcp', host: '127.0.0.1', port };
  }

  async inventory(): Promise<Array<{ runtimeId: string; sandboxId: string }>> {
    const records = await this.layout.list(this.name);
    return records.map((r) => ({ runtimeId: r.runtimeId, sandboxId: r.sandboxId }));
  }

  async health(): Promise<{ ok: boolean; detail?: string }> {
    try {
      await mkdir(this.layout.root, { recursive: true, mode: 0o711 });
      await access(this.layout.root, constants.W_OK);
      await access(this.host.shell, constants.X_OK);
      return { ok: true };
    } catch (err) {
      return { ok: false, detail: `process provider: ${(err as Error).message}` };
    }
  }

  async close(): Promise<void> {
    // Nothing runs in the background; processes and directories stay for reconciliation.
    if (this.closed) return;
    this.closed = true;
    closeSync(this.devNull);
  }

  private live(runtimeId: string): LiveRuntime {
    assertRuntimeId(runtimeId);
    const rt = this.runtimes.get(runtimeId);
    if (!rt || this.destroying.has(runtimeId)) throw new NotFound(`runtime ${runtimeId}`);
    return rt;
  }

  private assertOpen(): void {
    if (this.closed) throw new Unavailable('the process provider is closed');
  }
}
