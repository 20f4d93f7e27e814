/**
 * Can this worker start sandboxes right now? Answered by starting one: the smallest bwrap with the
 * same namespaces and user as a real runtime. A working install proves little (user namespaces may be
 * disabled for unprivileged users, AppArmor may refuse), so the probe is the test. Cached for a
 * minute on the injected clock, since heartbeats may ask often.
 */
import { execFile } from 'node:child_process';
import type { BwrapContext } from './context.js';
import { firstUntraversable } from './host.js';
import { SANDBOX_GID, SANDBOX_PATH, SANDBOX_UID, runtimesRoot } from './layout.js';

const CACHE_MS = 60_000;
const PROBE_TIMEOUT_MS = 20_000;

export interface HealthResult {
  ok: boolean;
  detail?: string;
}

export function hostProblem(ctx: BwrapContext): string | undefined {
  if (ctx.runAs.dropPrivileges && !ctx.tools.setpriv) {
    return 'the worker runs as root but setpriv (util-linux) is missing, so sandboxes cannot be dropped to an unprivileged user';
  }
  const blocked = firstUntraversable(runtimesRoot(ctx.dataDir), ctx.runAs.uid, ctx.runAs.gid);
  if (blocked) {
    return `${blocked} is not searchable by uid ${ctx.runAs.uid}, which bwrap runs as: give it o+x (chmod o+x ${blocked}) or choose another data dir`;
  }
  return undefined;
}

export class HealthCheck {
  private cached: { at: number; result: HealthResult } | undefined;

  constructor(private readonly ctx: BwrapContext) {}

  async check(): Promise<HealthResult> {
    const now = this.ctx.clock.now();
    if (this.cached && this.cached.result.ok && now - this.cached.at < CACHE_MS) return this.cached.result;
    const problem = hostProblem(this.ctx);
    const result = problem ? { ok: false, detail: problem } : await this.probe();
    this.cached = { at: now, result };
    return result;
  }

  private probe(): Promise<HealthResult> {
    const { tools, runAs, rootLayout } = this.ctx;
    const args = ['--unshare-all', '--unshare-user', '--disable-userns', '--as-pid-1', '--uid', String(SANDBOX_UID), '--gid', String(SANDBOX_GID), '--ro-bind', '/usr', '/usr'];
    for (const entry of rootLayout) {
      if (entry.kind === 'symlink') args.push('--symlink', entry.target, `/${entry.name}`);
      else args.push('--ro-bind', `/${entry.name}`, `/${entry.name}`);
    }
    args.push('--proc', '/proc', '--dev', '/dev', '--', tools.sh, '-c', 'exit 0');
    const drop = runAs.dropPrivileges ? [`--reuid=${runAs.uid}`, `--regid=${runAs.gid}`, '--clear-groups', '--', tools.bwrap] : [];
    const [program, argv] = runAs.dropPrivileges ? [tools.setpriv as string, [...drop, ...args]] : [tools.bwrap, args];
    return new Promise((resolve) => {
      execFile(program, argv, { timeout: PROBE_TIMEOUT_MS, env: { PATH: SANDBOX_PATH } }, (err, _stdout, stderr) => {
        if (!err) return resolve({ ok: true });
        const message = String(stderr).trim().split('\n')[0] || err.message;
        resolve({ ok: false, detail: `bwrap cannot start a sandbox here: ${message.slice(0, 300)}` });
      });
    });
  }
}
