/**
 * The in-memory StateStore: the contract without durability. The file-backed store keeps one of these
 * as its working copy and persists it after each change.
 */
import type { HighWaterMark, RuntimeRecord, StateStore } from './types.js';

export interface StateSnapshot {
  runtimes: RuntimeRecord[];
  highWater: Record<string, HighWaterMark>;
}

export class MemoryStateStore implements StateStore {
  protected readonly runtimes = new Map<string, RuntimeRecord>();
  protected readonly marks = new Map<string, HighWaterMark>();

  constructor(initial?: StateSnapshot) {
    for (const r of initial?.runtimes ?? []) this.runtimes.set(r.sandboxId, r);
    for (const [id, mark] of Object.entries(initial?.highWater ?? {})) this.marks.set(id, mark);
  }

  list(): RuntimeRecord[] {
    return [...this.runtimes.values()].map(copy);
  }

  get(sandboxId: string): RuntimeRecord | undefined {
    const r = this.runtimes.get(sandboxId);
    return r && copy(r);
  }

  findRuntime(runtimeId: string): RuntimeRecord | undefined {
    for (const r of this.runtimes.values()) if (r.runtimeId === runtimeId) return copy(r);
    return undefined;
  }

  async put(record: RuntimeRecord): Promise<void> {
    this.runtimes.set(record.sandboxId, copy(record));
    await this.changed();
  }

  async remove(sandboxId: string, runtimeId: string): Promise<boolean> {
    if (this.runtimes.get(sandboxId)?.runtimeId !== runtimeId) return false;
    this.runtimes.delete(sandboxId);
    await this.changed();
    return true;
  }

  highWater(sandboxId: string): number {
    return this.marks.get(sandboxId)?.generation ?? 0;
  }

  async raiseHighWater(sandboxId: string, generation: number, expiresAt: number): Promise<HighWaterMark> {
    const current = this.marks.get(sandboxId);
    const next = { generation: Math.max(current?.generation ?? 0, generation), expiresAt: Math.max(current?.expiresAt ?? 0, expiresAt) };
    if (current && current.generation === next.generation && current.expiresAt === next.expiresAt) return { ...current };
    this.marks.set(sandboxId, next);
    await this.changed();
    return { ...next };
  }

  async pruneHighWater(before: number): Promise<number> {
    let dropped = 0;
    for (const [id, mark] of this.marks) {
      if (mark.expiresAt < before && !this.runtimes.has(id)) {
        this.marks.delete(id);
        dropped++;
      }
    }
    if (dropped > 0) await this.changed();
    return dropped;
  }

  async close(): Promise<void> {}

  /** The whole state, for persistence. */
  protected snapshot(): StateSnapshot {
    return { runtimes: this.list(), highWater: Object.fromEntries([...this.marks].map(([id, m]) => [id, { ...m }])) };
  }

  /** Called after every change; the durable store writes here. */
  protected async changed(): Promise<void> {}
}

function copy(r: RuntimeRecord): RuntimeRecord {
  return structuredClone(r);
}
