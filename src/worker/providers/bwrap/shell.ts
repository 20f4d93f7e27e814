/**
 * The host-side shell prelude every sandbox process (and the holder) starts with. It runs as the
 * worker's user before anything enters the sandbox, so it can do what must happen before the first
 * fork: join the runtime's cgroups (a process moved in later would leave its already-forked children
 * outside), set the fallback rlimits, and forbid core dumps. It then execs the real command line passed
 * as "$0" "$@", so no argument is ever interpolated into shell text.
 */

/** POSIX single-quoting: safe for any string without NUL. */
export function shQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export interface PreludeOptions {
  /** cgroup.procs files to write the process's pid into. */
  cgroupProcs: string[];
  rlimits: { addressSpaceKb?: number | undefined; processes?: number | undefined };
}

export function prelude(options: PreludeOptions): string {
  const lines = ['ulimit -c 0'];
  const fail = (what: string): string => `{ echo 'drover: cannot ${what}' >&2; exit 125; }`;
  if (options.rlimits.addressSpaceKb) lines.push(`ulimit -v ${Math.floor(options.rlimits.addressSpaceKb)} || ${fail('set the memory rlimit')}`);
  // dash and busybox call RLIMIT_NPROC -p, bash calls it -u (and -p is bash's pipe size).
  const nproc = options.rlimits.processes ? Math.floor(options.rlimits.processes) : 0;
  if (nproc) lines.push(`{ ulimit -u ${nproc} 2>/dev/null || ulimit -p ${nproc}; } || ${fail('set the process rlimit')}`);
  for (const procs of options.cgroupProcs) {
    // Never run outside the runtime's cgroup: if it is gone (destroyed meanwhile), refuse.
    lines.push(`echo $$ > ${shQuote(procs)} || { echo 'drover: cannot join the sandbox cgroup' >&2; exit 125; }`);
  }
  lines.push('unset PWD');
  lines.push('exec "$0" "$@"');
  return lines.join('\n');
}
