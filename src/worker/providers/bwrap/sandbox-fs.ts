/**
 * The filesystem and namespaces a sandbox gets: the bwrap command line of its holder. Pure.
 *
 * Read-only: /usr, the /bin /sbin /lib* directories or merged-/usr symlinks, and a small /etc subset.
 * Synthesised: /etc/passwd and /etc/group (the sandbox user, never the host's accounts) and, without
 * network, /etc/hosts. Private and writable: /workspace (bound from the runtime dir), /tmp and
 * /dev/shm (tmpfs, charged to the memory cgroup). /proc is the sandbox's own pid namespace; /dev is
 * bwrap's minimal one with a private devpts. The root, /etc and /dev are read-only, so nothing inside
 * can replace the paths the worker later opens through /proc/<holder>/root (the devpts ptmx).
 */
import type { RootEntry } from './host.js';
import { SANDBOX_GID, SANDBOX_HOSTNAME, SANDBOX_UID, SANDBOX_WORKSPACE } from './layout.js';

/** Host /etc entries worth having; each is bound only if it exists. Never shadow, sudoers, ssh or anything with secrets. */
const ETC_ALWAYS = [
  'nsswitch.conf', 'host.conf', 'gai.conf', 'ld.so.cache', 'ld.so.conf', 'ld.so.conf.d', 'localtime', 'timezone',
  'os-release', 'lsb-release', 'debian_version', 'alpine-release', 'redhat-release', 'ssl', 'pki', 'ca-certificates',
  'ca-certificates.conf', 'crypto-policies', 'alternatives', 'mime.types', 'protocols', 'services', 'inputrc',
  'profile', 'profile.d', 'bash.bashrc', 'shells', 'terminfo', 'magic',
];
/** Name resolution is only meaningful with the host's network. */
const ETC_HOST_NETWORK = ['resolv.conf', 'hosts'];

export const PASSWD = [
  'root:x:0:0:root:/root:/usr/sbin/nologin',
  `sandbox:x:${SANDBOX_UID}:${SANDBOX_GID}:sandbox:${SANDBOX_WORKSPACE}:/bin/sh`,
  'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin',
  '',
].join('\n');
export const GROUP = ['root:x:0:', `sandbox:x:${SANDBOX_GID}:`, 'nogroup:x:65534:', ''].join('\n');
export const HOSTS = [`127.0.0.1\tlocalhost ${SANDBOX_HOSTNAME}`, '::1\tlocalhost ip6-localhost ip6-loopback', ''].join('\n');

export interface HolderArgsInput {
  network: 'none' | 'host';
  workspace: string;
  rootLayout: RootEntry[];
  /** Fds (in the child) bwrap reads: its info JSON goes to `info`; the files' contents come from the rest. */
  fds: { info: number; passwd: number; group: number; hosts?: number | undefined; ready: number };
  /** The holder's pid 1: a shell that reaps orphans and sleeps (see holderScript). */
  sh: string;
  sleep: string;
}

/**
 * The holder is the sandbox's pid 1 (--as-pid-1): the kernel ignores signals to a namespace's init from
 * inside, so `kill -9 -1` or `pkill sleep` in the sandbox cannot take the namespaces down. As pid 1 it
 * inherits every orphan, so it must reap: dash reaps any child while it waits for its `sleep`.
 *
 * It first says `ready` on fd `ready`: bwrap reports the holder's pid (--info-fd) as soon as it has
 * cloned it, before the mounts are in place, and a process joining then would find no /workspace. The
 * holder only runs once the sandbox is complete.
 */
export function holderScript(sleep: string, readyFd: number): string {
  return `echo ready >&${readyFd}; exec ${readyFd}>&- 2>/dev/null; trap '' HUP INT TERM QUIT; while :; do ${sleep} 2147483647; done`;
}

export function holderArgs(input: HolderArgsInput): string[] {
  const args = ['--unshare-all'];
  if (input.network === 'host') args.push('--share-net');
  args.push(
    '--unshare-user', '--disable-userns', '--as-pid-1', '--new-session', '--clearenv',
    '--uid', String(SANDBOX_UID), '--gid', String(SANDBOX_GID), '--hostname', SANDBOX_HOSTNAME,
    '--ro-bind', '/usr', '/usr',
  );
  for (const entry of input.rootLayout) {
    if (entry.kind === 'symlink') args.push('--symlink', entry.target, `/${entry.name}`);
    else args.push('--ro-bind', `/${entry.name}`, `/${entry.name}`);
  }
  args.push('--dir', '/etc');
  const etc = input.network === 'host' ? [...ETC_ALWAYS, ...ETC_HOST_NETWORK] : ETC_ALWAYS;
  for (const name of etc) args.push('--ro-bind-try', `/etc/${name}`, `/etc/${name}`);
  args.push('--ro-bind-data', String(input.fds.passwd), '/etc/passwd', '--ro-bind-data', String(input.fds.group), '/etc/group');
  if (input.fds.hosts !== undefined) args.push('--ro-bind-data', String(input.fds.hosts), '/etc/hosts');
  args.push(
    '--proc', '/proc',
    '--dev', '/dev', '--perms', '1777', '--tmpfs', '/dev/shm', '--remount-ro', '/dev',
    '--perms', '1777', '--tmpfs', '/tmp',
    '--bind', input.workspace, SANDBOX_WORKSPACE,
    '--chdir', SANDBOX_WORKSPACE,
    '--remount-ro', '/',
    '--info-fd', String(input.fds.info),
    '--', input.sh, '-c', holderScript(input.sleep, input.fds.ready),
  );
  return args;
}
