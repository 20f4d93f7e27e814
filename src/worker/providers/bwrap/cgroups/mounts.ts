/**
 * Which cgroup hierarchy holds each controller on this host, read from /proc/self/mountinfo. A
 * controller lives in exactly one hierarchy: a v1 mount that names it in its options, or else the v2
 * (unified) mount if that lists it in cgroup.controllers. Hybrid hosts (v1 controllers plus an empty
 * unified mount) and pure v2 hosts both come out right without asking which "mode" the host is in.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export type Controller = 'memory' | 'pids' | 'cpu';
export const CONTROLLERS: readonly Controller[] = ['memory', 'pids', 'cpu'];

export interface ControllerMount {
  controller: Controller;
  version: 1 | 2;
  /** The hierarchy's mount point, e.g. /sys/fs/cgroup/memory (v1) or /sys/fs/cgroup (v2). */
  mount: string;
}

export interface ParsedMounts {
  v1: Map<string, string>;
  v2: string | undefined;
}

/** Pure: the cgroup mounts in a mountinfo text (first mount of each hierarchy wins). */
export function parseMountinfo(text: string): ParsedMounts {
  const v1 = new Map<string, string>();
  let v2: string | undefined;
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const before = line.slice(0, sep).split(' ');
    const [fstype, , superOptions = ''] = line.slice(sep + 3).split(' ');
    const mountPoint = before[4];
    if (!mountPoint) continue;
    const path = unescapeMountPath(mountPoint);
    if (fstype === 'cgroup2') {
      v2 ??= path;
    } else if (fstype === 'cgroup') {
      for (const option of superOptions.split(',')) if (!v1.has(option)) v1.set(option, path);
    }
  }
  return { v1, v2 };
}

/** mountinfo escapes space, tab, newline and backslash as \ooo octal. */
function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** Pure: where each controller lives, given the mounts and the v2 root's cgroup.controllers. */
export function placeControllers(mounts: ParsedMounts, v2Controllers: string[]): ControllerMount[] {
  const placed: ControllerMount[] = [];
  for (const controller of CONTROLLERS) {
    const v1 = mounts.v1.get(controller);
    if (v1) placed.push({ controller, version: 1, mount: v1 });
    else if (mounts.v2 && v2Controllers.includes(controller)) placed.push({ controller, version: 2, mount: mounts.v2 });
  }
  return placed;
}

export function readControllerMounts(): ControllerMount[] {
  const mounts = parseMountinfo(readText('/proc/self/mountinfo'));
  const v2Controllers = mounts.v2 ? readText(join(mounts.v2, 'cgroup.controllers')).trim().split(/\s+/) : [];
  return placeControllers(mounts, v2Controllers);
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
