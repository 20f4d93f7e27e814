/**
 * Which resource limits the process provider can apply on this host, and the argv prefix that applies
 * them. Pure: host facts in, plan out; the caller does the probing (host.ts) and the spawning.
 *
 * Memory is RLIMIT_DATA, not RLIMIT_AS: V8 and other runtimes reserve large, mostly unused address
 * ranges, so `node` does not even start under an address-space limit below ~1 GiB (it exits silently),
 * while RLIMIT_DATA (private writable memory, Linux ≥ 4.7) lets it start and still stops a memory hog
 * (allocation fails: MemoryError, ENOMEM, V8 out-of-memory). It does not count shared or file mappings.
 *
 * Processes are RLIMIT_NPROC, which Linux counts per real user, threads included, across every
 * process of that user — the worker and all other sandboxes too. So the limit is set to what the user
 * already runs plus the sandbox's `pids`: it stops a fork bomb from growing without bound, but it is a
 * ceiling on the user, not an allowance for the sandbox. Root is exempt from RLIMIT_NPROC, and root can
 * raise its own limits, so under root we say so instead of pretending.
 */
import type { EnforcedLimits, SpawnRequest } from '../types.js';

export type RlimitMechanism = 'prlimit' | 'shell' | 'off';

export interface HostFacts {
  /** Absolute path of util-linux `prlimit`, when installed. */
  prlimit: string | undefined;
  /** Absolute path of a POSIX shell for the `ulimit` fallback. */
  shell: string;
  /** The worker's effective uid. */
  uid: number;
}

export interface LimitPlan {
  /** How limits will be applied: prlimit, a shell `ulimit` wrapper, or not at all. */
  mechanism: RlimitMechanism;
  enforced: EnforcedLimits;
  warnings: string[];
}

/** Decide once per runtime (at spawn) what can be enforced. */
export function planLimits(
  resources: SpawnRequest['resources'],
  host: HostFacts,
  wanted: 'auto' | RlimitMechanism,
): LimitPlan {
  const warnings: string[] = ['cpu is not limited: the process provider has no cgroup (use bwrap for cpu limits)'];
  const mechanism = chooseMechanism(host, wanted);
  const enforced: EnforcedLimits = {
    cpu: 'none',
    memory: 'none',
    pids: 'none',
    disk: 'none',
    network: 'host',
    filesystem: 'host',
  };
  warnings.push('disk is not limited by the process provider');
  if (mechanism === 'off') {
    warnings.push('memory and process limits are not enforced (rlimits are off on this worker)');
    return { mechanism, enforced, warnings };
  }
  enforced.memory = 'rlimit';
  warnings.push('memory is limited per process (RLIMIT_DATA), not for the sandbox as a whole');
  if (host.uid === 0) {
    warnings.push('the worker runs as root: sandbox processes run as root, can raise their own limits, and are not subject to a process-count limit');
  } else if (resources.pids !== undefined) {
    enforced.pids = 'rlimit';
    warnings.push("the process limit (RLIMIT_NPROC) counts every process of the worker's user, not only this sandbox's");
  }
  return { mechanism, enforced, warnings };
}

function chooseMechanism(host: HostFacts, wanted: 'auto' | RlimitMechanism): RlimitMechanism {
  if (wanted === 'auto') return host.prlimit ? 'prlimit' : 'shell';
  if (wanted === 'prlimit' && !host.prlimit) throw new Error('rlimits: prlimit was requested but is not installed');
  return wanted;
}

export interface LimitValues {
  /** Bytes of private writable memory per process. */
  dataBytes: number;
  /** RLIMIT_NPROC value, or undefined for no process limit. */
  nproc: number | undefined;
}

/** The concrete rlimit values for one process start; `userTasks` = tasks the user runs right now. */
export function limitValues(resources: SpawnRequest['resources'], plan: LimitPlan, userTasks: number): LimitValues {
  const dataBytes = Math.max(1, Math.floor(resources.memoryMb)) * 1024 * 1024;
  const nproc = plan.enforced.pids === 'rlimit' && resources.pids !== undefined ? userTasks + resources.pids : undefined;
  return { dataBytes, nproc };
}

/**
 * The argv that runs `argv` under the limits. Both wrappers exec the command, so the pid the caller
 * sees is the command's own and signals reach it directly. The shell fallback refuses to run the
 * command (exit 126) if a limit cannot be set, so what we report as enforced stays true.
 */
export function wrapArgv(argv: string[], plan: LimitPlan, host: HostFacts, values: LimitValues): { file: string; args: string[] } {
  if (plan.mechanism === 'off') return { file: argv[0] as string, args: argv.slice(1) };
  if (plan.mechanism === 'prlimit') {
    const args = [`--data=${values.dataBytes}`];
    if (values.nproc !== undefined) args.push(`--nproc=${values.nproc}`);
    return { file: host.prlimit as string, args: [...args, '--', ...argv] };
  }
  const kib = Math.floor(values.dataBytes / 1024);
  const steps = [`ulimit -d ${kib} || exit 126`];
  // bash spells the process limit -u; dash spells it -p (where bash's -p is the read-only pipe size).
  if (values.nproc !== undefined) steps.push(`{ ulimit -u ${values.nproc} 2>/dev/null || ulimit -p ${values.nproc}; } || exit 126`);
  const script = `${steps.join('; ')}; exec "$@"`;
  return { file: host.shell, args: ['-c', script, 'drover-sandbox', ...argv] };
}
