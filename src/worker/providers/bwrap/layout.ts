/**
 * Where a bwrap runtime lives on the host, and the names it has inside the sandbox.
 *
 * `<dataDir>/runtimes/<runtimeId>/` holds `runtime.json` (the durable record a restarted worker
 * reconciles from), `workspace/` (bound as /workspace), `holder.log` (bwrap's start-up errors) and
 * `ports/` (the forwarder's unix sockets). The runtimes directory and each runtime directory are 0711:
 * bwrap runs as the unprivileged sandbox user and resolves its bind sources by path, so it must be able
 * to traverse them; nothing in them is listable or readable by that user except its own workspace.
 */
import { join } from 'node:path';
import { BadRequest } from '../../../domain/errors.js';

/** The uid/gid a sandbox's processes have inside their user namespace, named `sandbox` in its /etc/passwd. */
export const SANDBOX_UID = 1000;
export const SANDBOX_GID = 1000;
export const SANDBOX_WORKSPACE = '/workspace';
export const SANDBOX_HOSTNAME = 'sandbox';
export const SANDBOX_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * Runtime ids name directories and cgroups and arrive over RPC: anything that could step outside the
 * runtimes directory (`..`, `/`, NUL) is rejected before it reaches a path join or a recursive delete.
 * Same rule as the process provider, so both can share a data dir.
 */
const RUNTIME_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export function assertRuntimeId(runtimeId: string): void {
  if (typeof runtimeId !== 'string' || !RUNTIME_ID.test(runtimeId) || runtimeId.includes('..')) {
    throw new BadRequest(`invalid runtime id ${JSON.stringify(String(runtimeId).slice(0, 140))}`);
  }
}

export interface RuntimePaths {
  dir: string;
  workspace: string;
  record: string;
  holderLog: string;
  ports: string;
}

export function runtimesRoot(dataDir: string): string {
  return join(dataDir, 'runtimes');
}

export function runtimePaths(dataDir: string, runtimeId: string): RuntimePaths {
  assertRuntimeId(runtimeId);
  const dir = join(runtimesRoot(dataDir), runtimeId);
  return {
    dir,
    workspace: join(dir, 'workspace'),
    record: join(dir, 'runtime.json'),
    holderLog: join(dir, 'holder.log'),
    ports: join(dir, 'ports'),
  };
}

/** sockaddr_un holds 108 bytes including the terminating NUL. */
const MAX_SOCKET_PATH = 107;

/** The unix socket the forwarder listens on for `port`; too long a data dir is a configuration error. */
export function portSocketPath(paths: RuntimePaths, port: number): string {
  const path = join(paths.ports, `${port}.sock`);
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
    throw new BadRequest(
      `the port socket path ${path} is longer than ${MAX_SOCKET_PATH} bytes (the unix socket limit); use a shorter worker data dir`,
    );
  }
  return path;
}

export function assertPort(port: number): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new BadRequest(`invalid port ${String(port)}: expected 1..65535`);
}
