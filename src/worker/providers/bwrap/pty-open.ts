/**
 * Allocating a pseudo-terminal inside the sandbox's own devpts.
 *
 * Why not node-pty: its terminals live in the host's /dev/pts, which the sandbox does not see (so `tty`
 * and everything that calls ttyname() fail inside), and its master fds are not close-on-exec, so every
 * later child of the worker — other sandboxes included — would inherit them. Instead the worker opens
 * the sandbox's /dev/pts/ptmx through /proc/<holder>/root (Node opens it close-on-exec), so the slave is
 * /dev/pts/N inside. The one thing Node cannot do is unlockpt(3), an ioctl: a one-line perl (or
 * python) does it on the inherited master. The sandbox cannot redirect these paths: its /dev is
 * read-only, and each opened fd is checked to be the device it should be.
 */
import { spawn } from 'node:child_process';
import { closeSync, constants, fchownSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { Unavailable } from '../../../domain/errors.js';
import type { BwrapContext } from './context.js';
import { SANDBOX_PATH } from './layout.js';

export interface SandboxPty {
  master: number;
  slave: number;
}

/** The major number of /dev/ptmx, and the range Linux gives Unix98 pty slaves. */
const PTMX_MAJOR = 5;
const PTMX_MINOR = 2;
const PTS_MAJORS = [136, 143];

export async function openSandboxPty(ctx: BwrapContext, holderPid: number, size: { cols: number; rows: number }): Promise<SandboxPty> {
  const unlock = ctx.tools.unlockpt;
  if (!unlock || !ctx.tools.stty) throw new Unavailable('pseudo-terminals need perl or python3, and stty, on the worker host');
  const devpts = `/proc/${holderPid}/root/dev/pts`;
  const flags = constants.O_RDWR | constants.O_NOCTTY;
  const master = openSync(`${devpts}/ptmx`, flags);
  let slave: number | undefined;
  try {
    const st = fstatSync(master);
    if (!st.isCharacterDevice() || major(st.rdev) !== PTMX_MAJOR || minor(st.rdev) !== PTMX_MINOR) {
      throw new Unavailable('the sandbox /dev/pts/ptmx is not the pty multiplexer');
    }
    const index = /^tty-index:\s*(\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${master}`, 'utf8'))?.[1];
    if (index === undefined) throw new Unavailable('this kernel does not report pty indexes (tty-index in fdinfo)');
    await runHelper(unlock.path, unlockArgs(unlock.kind), master, 'unlockpt');
    slave = openSync(`${devpts}/${index}`, flags);
    const sst = fstatSync(slave);
    if (!sst.isCharacterDevice() || major(sst.rdev) < (PTS_MAJORS[0] as number) || major(sst.rdev) > (PTS_MAJORS[1] as number)) {
      throw new Unavailable('the sandbox pty slave is not a terminal');
    }
    // The sandbox user owns its terminal, as after a login; the devpts is the sandbox's alone.
    fchownSync(slave, ctx.runAs.uid, ctx.runAs.gid);
    await resizePty(ctx, master, size);
    return { master, slave };
  } catch (err) {
    closeSync(master);
    if (slave !== undefined) closeSync(slave);
    throw err;
  }
}

/** Set the window size (the kernel sends SIGWINCH to the terminal's foreground group). */
export function resizePty(ctx: BwrapContext, master: number, size: { cols: number; rows: number }): Promise<void> {
  const rows = String(Math.max(1, Math.floor(size.rows)));
  const cols = String(Math.max(1, Math.floor(size.cols)));
  return runHelper(ctx.tools.stty as string, ['rows', rows, 'cols', cols], master, 'stty', 0);
}

/** TIOCSPTLCK is _IOW('T', 0x31, int): the direction bit differs on powerpc, mips and sparc. */
function unlockArgs(kind: 'perl' | 'python'): string[] {
  if (kind === 'python') return ['-c', 'import ctypes,sys; sys.exit(0 if ctypes.CDLL(None).unlockpt(3) == 0 else 1)'];
  const request = /^(ppc|mips|sparc)/.test(process.arch) ? '0x80045431' : '0x40045431';
  return ['-e', `open(my $m, "+<&=", 3) or die "open: $!"; my $z = pack("i", 0); ioctl($m, ${request}, $z) or die "unlockpt: $!";`];
}

/** Run a helper with the pty master as fd 3 (or as stdin when `at` is 0); reject with its stderr. */
function runHelper(program: string, args: string[], master: number, what: string, at: 0 | 3 = 3): Promise<void> {
  const stdio = at === 0 ? [master, 'ignore', 'pipe'] : ['ignore', 'ignore', 'pipe', master];
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { stdio: stdio as ['ignore', 'ignore', 'pipe'], env: { PATH: SANDBOX_PATH } });
    const stderr: Buffer[] = [];
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.once('error', (err) => reject(new Unavailable(`${what} failed: ${err.message}`)));
    child.once('close', (code) => {
      if (code === 0) resolve();
      else reject(new Unavailable(`${what} failed: ${Buffer.concat(stderr).toString('utf8').trim() || `exit ${code}`}`));
    });
  });
}

/** glibc's dev_t split; ptys and ptmx fit in the low 32 bits. */
function major(rdev: number): number {
  return (rdev >>> 8) & 0xfff;
}

function minor(rdev: number): number {
  return (rdev & 0xff) | ((rdev >>> 12) & 0xfff00);
}
