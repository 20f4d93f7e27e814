/**
 * One operation at a time per key (here: per sandbox id). A spawn, a destroy, a renewal result and a
 * reconciliation step for the same sandbox must not interleave — a destroy that read the record
 * before a spawn replaced it would tear down the new runtime — while different sandboxes proceed in
 * parallel. The RPC lease check runs inside the same critical section as the operation, so a request
 * that passed the check cannot act after a higher generation has been accepted.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(fn, fn);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}
