/**
 * An array-backed FIFO with O(1) amortized shift and indexed access from the head. Output buffers hold
 * up to hundreds of thousands of small chunks; Array#shift on that many is quadratic.
 */
export class Fifo<T> {
  private items: Array<T | undefined> = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  /** The i-th item from the head (0 = oldest). */
  at(i: number): T | undefined {
    return i < 0 ? undefined : this.items[this.head + i];
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}
