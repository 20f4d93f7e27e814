/**
 * In-flight work the drain waits for (03-worker.md, "Drain": "wait up to worker.shutdown_timeout for
 * running exec calls"). RPC calls register here, and so must the data-plane routes (exec, uploads,
 * attach) when they arrive: `const done = work.begin('exec'); try { … } finally { done(); }`.
 */
export class WorkTracker {
  private readonly active = new Map<string, number>();
  private total = 0;

  /** Mark one piece of work as started; call the returned function once when it ends. */
  begin(kind: string): () => void {
    this.total++;
    this.active.set(kind, (this.active.get(kind) ?? 0) + 1);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.total--;
      const left = (this.active.get(kind) ?? 1) - 1;
      if (left === 0) this.active.delete(kind);
      else this.active.set(kind, left);
    };
  }

  get count(): number {
    return this.total;
  }

  /** e.g. `{ rpc: 1, exec: 2 }`, for the drain's log line. */
  byKind(): Record<string, number> {
    return Object.fromEntries(this.active);
  }
}
