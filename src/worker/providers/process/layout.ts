/**
 * Where a runtime lives on disk: `<dataDir>/runtimes/<runtimeId>/` holding `runtime.json` (who it
 * belongs to) and `workspace/` (the sandbox's /workspace). The directory is the runtime's durable
 * record: after a worker restart, inventory() is a listing of these directories.
 *
 * Provider-neutral, so any provider that keeps its runtimes under the data dir can share it; the
 * `provider` field keeps two providers on one data dir from claiming each other's runtimes.
 */
import { mkdir, readdir, readFile, rename, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { BadRequest } from '../../../domain/errors.js';
import type { ProviderName } from '../types.js';

export interface RuntimeRecord {
  runtimeId: string;
  sandboxId: string;
  provider: ProviderName;
}

/**
 * Runtime ids name directories and arrive over RPC; anything that could step out of the runtimes
 * directory (`..`, `/`, NUL) must never reach a path join, least of all the recursive delete in destroy.
 */
const RUNTIME_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export function assertRuntimeId(runtimeId: string): void {
  if (typeof runtimeId !== 'string' || !RUNTIME_ID.test(runtimeId) || runtimeId.includes('..')) {
    throw new BadRequest(`invalid runtime id ${JSON.stringify(String(runtimeId).slice(0, 140))}`);
  }
}

export class RuntimeLayout {
  readonly root: string;

  constructor(dataDir: string) {
    this.root = join(dataDir, 'runtimes');
  }

  dir(runtimeId: string): string {
    assertRuntimeId(runtimeId);
    return join(this.root, runtimeId);
  }

  workspace(runtimeId: string): string {
    return join(this.dir(runtimeId), 'workspace');
  }

  /**
   * Create the runtime's directories, owner-only (0700), and its record. The record is written first
   * (atomically), so a crash half-way through still leaves a runtime that inventory() reports and
   * destroy() cleans up.
   */
  async create(record: RuntimeRecord): Promise<void> {
    const dir = this.dir(record.runtimeId);
    // 0711 like the bwrap provider's (its sandbox user must traverse it); each runtime dir below is 0700.
    await mkdir(this.root, { recursive: true, mode: 0o711 });
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const tmp = join(dir, `.runtime.json.${process.pid}.tmp`);
    await writeFile(tmp, `${JSON.stringify(record)}\n`, { mode: 0o600 });
    await rename(tmp, join(dir, 'runtime.json'));
    await mkdir(join(dir, 'workspace'), { recursive: true, mode: 0o700 });
    // mkdir's mode is filtered by the umask and not applied to directories that already existed.
    await Promise.all([chmod(dir, 0o700), chmod(join(dir, 'workspace'), 0o700)]);
  }

  /** The record of a runtime, or undefined when there is none (or it is unreadable). */
  async read(runtimeId: string): Promise<RuntimeRecord | undefined> {
    const text = await readFile(join(this.dir(runtimeId), 'runtime.json'), 'utf8').catch(() => undefined);
    if (text === undefined) return undefined;
    try {
      const parsed = JSON.parse(text) as Partial<RuntimeRecord>;
      if (typeof parsed.sandboxId !== 'string' || typeof parsed.provider !== 'string') return undefined;
      // The directory name is authoritative: a copied or edited record cannot point elsewhere.
      return { runtimeId, sandboxId: parsed.sandboxId, provider: parsed.provider };
    } catch {
      return undefined;
    }
  }

  /** Every runtime record of `provider` under the data dir. */
  async list(provider: ProviderName): Promise<RuntimeRecord[]> {
    const names = await readdir(this.root).catch(() => [] as string[]);
    const records = await Promise.all(names.filter((name) => RUNTIME_ID.test(name)).map((name) => this.read(name)));
    return records.filter((r): r is RuntimeRecord => r !== undefined && r.provider === provider);
  }
}
