/**
 * The host facts options.ts resolves defaults from: host name, CPUs, memory, free disk of the data
 * dir, and which providers work here. The only I/O of option resolution, kept apart so the resolution
 * itself stays a pure function.
 */
import { mkdir, statfs } from 'node:fs/promises';
import { availableParallelism, hostname, totalmem } from 'node:os';
import { resolve } from 'node:path';
import type { Config } from '../config/index.js';
import { detectDefaultProvider } from './providers/index.js';
import type { HostFacts } from './options.js';

const MiB = 1024 * 1024;

export async function probeHostFacts(config: Config, cwd = process.cwd()): Promise<HostFacts> {
  const dataDir = resolve(cwd, config.worker.data_dir);
  // The data dir must exist to ask its filesystem. 0711: others may pass through (bwrap sandboxes run
  // as an unprivileged user and reach their workspace by path) but never list or read it.
  await mkdir(dataDir, { recursive: true, mode: 0o711 });
  const fs = await statfs(dataDir);
  let defaultProviders: HostFacts['defaultProviders'] = { names: ['process'], reason: 'configured' };
  // Probing bwrap runs a process; skip it when the operator named the providers.
  if (!config.worker.providers) {
    const choice = await detectDefaultProvider();
    defaultProviders = { names: choice.name === 'bwrap' ? ['bwrap', 'process'] : ['process'], reason: choice.reason };
  }
  return {
    hostname: hostname(),
    cpus: availableParallelism(),
    totalMemoryMb: totalmem() / MiB,
    dataDirFreeMb: (Number(fs.bavail) * Number(fs.bsize)) / MiB,
    defaultProviders,
  };
}
