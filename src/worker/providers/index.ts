/**
 * Opening providers by name, and choosing the default one for this host. The worker's composition
 * root calls these; nothing else needs to know which providers exist.
 */
import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import type { Clock } from '../../domain/clock.js';
import { Unavailable } from '../../domain/errors.js';
import { createBwrapProvider, type BwrapProviderOptions } from './bwrap/index.js';
import { createMockProvider } from './mock/index.js';
import { createProcessProvider } from './process/index.js';
import { findExecutable } from './process/host.js';
import type { RlimitMechanism } from './process/limits.js';
import type { Provider, ProviderName } from './types.js';

export type { Provider, ProviderName } from './types.js';

export interface ProviderOptions {
  /** The worker's data dir; runtimes live under `<dataDir>/runtimes/`. */
  dataDir: string;
  clock?: Clock;
  process?: { rlimits?: 'auto' | RlimitMechanism; killGraceMs?: number };
  mock?: { workspaces?: boolean };
  /** The bwrap provider's own options (cgroups, cgroupParent, sandboxUser, bwrapPath). */
  bwrap?: Omit<BwrapProviderOptions, 'dataDir' | 'clock'>;
}

// ── The bwrap provider plugs in here ───────────────────────────────────────────────────────────────
// src/worker/providers/bwrap/ (its own section in docs/providers.md); its options pass through as-is.
function openBwrap(options: ProviderOptions): Provider {
  return createBwrapProvider({ ...options.bwrap, dataDir: options.dataDir, clock: options.clock });
}
// ───────────────────────────────────────────────────────────────────────────────────────────────────

export async function createProvider(name: ProviderName, options: ProviderOptions): Promise<Provider> {
  switch (name) {
    case 'process':
      return createProcessProvider({ dataDir: options.dataDir, clock: options.clock, ...options.process });
    case 'mock':
      return createMockProvider({ dataDir: options.dataDir, clock: options.clock, ...options.mock });
    case 'bwrap':
      return openBwrap(options);
    default:
      throw new Unavailable(`unknown provider ${String(name)}`);
  }
}

export interface DefaultProviderChoice {
  name: 'bwrap' | 'process';
  /** One line for the log and `drover worker` start-up output: why this provider. */
  reason: string;
}

/**
 * bwrap when a bwrap binary is installed and actually works here (it needs unprivileged user
 * namespaces, which many containers and hardened hosts disable — being installed proves nothing) and
 * the bwrap provider finds what else it needs (and, given the data dir, reports itself healthy on it);
 * else process. The probe asks for the same namespaces a `network: "none"` sandbox needs.
 */
export async function detectDefaultProvider(options: { dataDir?: string; bwrap?: ProviderOptions['bwrap']; timeoutMs?: number } = {}): Promise<DefaultProviderChoice> {
  const fallback = (why: string): DefaultProviderChoice => ({ name: 'process', reason: `${why}; sandboxes are NOT isolated (process provider)` });
  const bwrap = options.bwrap?.bwrapPath ?? (await findExecutable('bwrap'));
  if (!bwrap) return fallback('bwrap is not installed');
  const probe = await runProbe(bwrap, options.timeoutMs ?? 10_000);
  if (!probe.ok) return fallback(`bwrap does not work on this host (${probe.detail})`);
  try {
    const provider = openBwrap({ dataDir: options.dataDir ?? tmpdir(), bwrap: options.bwrap });
    const health = options.dataDir ? await provider.health() : { ok: true };
    await provider.close();
    if (!health.ok) return fallback(`the bwrap provider is not healthy here (${health.detail ?? 'no detail'})`);
  } catch (err) {
    return fallback(`the bwrap provider cannot run here (${(err as Error).message})`);
  }
  return { name: 'bwrap', reason: `bwrap works (${bwrap})` };
}

function runProbe(bwrap: string, timeoutMs: number): Promise<{ ok: boolean; detail: string }> {
  const args = ['--unshare-all', '--die-with-parent', '--ro-bind', '/', '/', '--proc', '/proc', '--dev', '/dev', 'true'];
  return new Promise((resolve) => {
    execFile(bwrap, args, { timeout: timeoutMs, env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } }, (err, _stdout, stderr) => {
      if (!err) return resolve({ ok: true, detail: 'ok' });
      const message = String(stderr).trim().split('\n')[0] || err.message;
      resolve({ ok: false, detail: message.slice(0, 200) });
    });
  });
}
