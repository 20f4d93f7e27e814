/**
 * The runtimes this provider instance knows: a cache over the runtime.json records on disk (the disk is
 * the truth, so a restarted worker's new instance finds every runtime), plus what only this instance
 * has — the processes it started, the forwarder — and one lock per runtime so spawn and destroy of
 * the same id never interleave.
 */
import { access, readdir } from 'node:fs/promises';
import { type RuntimePaths, assertRuntimeId, runtimePaths, runtimesRoot } from './layout.js';
import type { Forwarder } from './port-forward.js';
import { type RuntimeRecord, readRecord } from './record.js';

export interface RuntimeEntry {
  record: RuntimeRecord;
  /** The sandbox env given at spawn, which every process starts from (not persisted: may hold secrets). */
  env: Record<string, string>;
  /** Host pids (nsenter) of processes started by this instance and not yet exited. */
  processes: Set<number>;
  forwarder?: Forwarder | undefined;
}

export class Runtimes {
  private readonly entries = new Map<string, RuntimeEntry>();
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(private readonly dataDir: string) {}

  paths(runtimeId: string): RuntimePaths {
    return runtimePaths(this.dataDir, runtimeId);
  }

  /**
   * The runtime's entry, loading its record from disk if another instance created it. A cached entry
   * whose record is gone was destroyed by another instance (a successor after a restart): forget it.
   */
  async get(runtimeId: string): Promise<RuntimeEntry | undefined> {
    assertRuntimeId(runtimeId);
    const known = this.entries.get(runtimeId);
    if (known) {
      if (await exists(this.paths(runtimeId).record)) return known;
      known.forwarder?.stop();
      this.entries.delete(runtimeId);
      return undefined;
    }
    const record = await readRecord(this.paths(runtimeId).record, runtimeId);
    if (!record) return undefined;
    const entry: RuntimeEntry = { record, env: {}, processes: new Set() };
    this.entries.set(runtimeId, entry);
    return entry;
  }

  set(runtimeId: string, entry: RuntimeEntry): void {
    this.entries.set(runtimeId, entry);
  }

  forget(runtimeId: string): void {
    this.entries.delete(runtimeId);
  }

  all(): RuntimeEntry[] {
    return [...this.entries.values()];
  }

  /** Runtime ids with a bwrap record under the data dir. */
  async listRecords(): Promise<RuntimeRecord[]> {
    const names = await readdir(runtimesRoot(this.dataDir)).catch(() => [] as string[]);
    const records = await Promise.all(
      names.map(async (name) => {
        try {
          assertRuntimeId(name);
        } catch {
          return undefined;
        }
        return readRecord(this.paths(name).record, name);
      }),
    );
    return records.filter((r): r is RuntimeRecord => r !== undefined);
  }

  /** Run `fn` after every earlier call for the same runtime has settled. */
  async exclusive<T>(runtimeId: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(runtimeId) ?? Promise.resolve();
    const run = previous.catch(() => {}).then(fn);
    const tail = run.catch(() => {});
    this.locks.set(runtimeId, tail);
    void tail.then(() => {
      if (this.locks.get(runtimeId) === tail) this.locks.delete(runtimeId);
    });
    return run;
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
