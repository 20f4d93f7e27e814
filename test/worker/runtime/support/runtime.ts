/**
 * A real `process`-provider runtime in a throwaway data dir, for the runtime tests: real child
 * processes, a real workspace directory.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ManualClock } from '../../../../src/domain/clock.js';
import { createProcessProvider } from '../../../../src/worker/providers/process/index.js';
import type { Provider, RuntimeHandle } from '../../../../src/worker/providers/types.js';
import type { RuntimeTarget } from '../../../../src/worker/runtime/launch.js';

export interface TestRuntime {
  provider: Provider;
  handle: RuntimeHandle;
  target: RuntimeTarget;
  clock: ManualClock;
  close(): Promise<void>;
}

export async function startRuntime(): Promise<TestRuntime> {
  const dataDir = await mkdtemp(join(tmpdir(), 'drover-runtime-'));
  const provider = await createProcessProvider({ dataDir, killGraceMs: 200 });
  const suffix = randomBytes(6).toString('hex');
  const runtimeId = `rt-test-${suffix}`;
  const handle = await provider.spawn({
    sandboxId: `sbx_test${suffix}`,
    runtimeId,
    resources: { cpuMilli: 1000, memoryMb: 4096, diskMb: 4096 },
    env: {},
    network: 'host',
  });
  return {
    provider,
    handle,
    target: { provider, runtimeId },
    clock: new ManualClock(),
    async close() {
      await provider.destroy(runtimeId);
      await provider.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Whether a process — or, with a negative id, any member of that process group — is still running.
 * Zombies count as gone: an orphan's zombie waits for this container's init to reap it, which can
 * take a while and says nothing about whether we killed it.
 */
export function alive(id: number): boolean {
  const pids = id > 0 ? [String(id)] : readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  return pids.some((pid) => {
    const stat = procStat(pid);
    return stat !== undefined && stat.state !== 'Z' && (id > 0 || stat.pgid === -id);
  });
}

function procStat(pid: string): { state: string; pgid: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '?', pgid: Number(fields[2]) };
  } catch {
    return undefined;
  }
}

/** Wait (bounded) until `check` holds; throws when it never does. Not a timing assertion: a ceiling. */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, ceilingMs = 10_000): Promise<void> {
  const deadline = performance.now() + ceilingMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Collect every frame of an async iterable. */
export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}
