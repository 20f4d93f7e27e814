/**
 * Where a signal for a sandbox process goes.
 *
 * The host-side process the worker spawned is nsenter, which forks the command into the sandbox's pid
 * namespace and then only waits, mirroring the command's exit (or re-raising its fatal signal on
 * itself). The command runs `setsid` first, so it leads its own session and process group inside.
 * Signals go to that group — the command and everything it started — and never to nsenter: an
 * nsenter killed first would report a death the command may not have died (it may trap SIGTERM),
 * while the real exit status is only known once nsenter mirrors it.
 */
import { cgroupPids } from './cgroups/runtime-cgroup.js';
import { childrenOf, isAlive, signalPid } from './procfs.js';

/** Deliver `signal` to the process group of the command under the host-side nsenter `hostPid`. */
export async function signalCommand(hostPid: number, signal: NodeJS.Signals, cgroupDirs: string[]): Promise<void> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const candidates = cgroupDirs.length > 0 ? await cgroupPids(cgroupDirs) : undefined;
    const [command] = await childrenOf(hostPid, candidates);
    if (command !== undefined) {
      // Before its setsid the command is not a group leader yet: then it is the only one to signal.
      if (!signalPid(-command, signal)) signalPid(command, signal);
      return;
    }
    if (!(await isAlive(hostPid))) return;
    // nsenter has not forked yet (the process was started a moment ago): give it a few milliseconds,
    // then fall back to the launcher's own group, which is all there is before the fork.
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  signalPid(-hostPid, signal);
}
