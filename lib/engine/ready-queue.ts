/**
 * Runs waiting for a free slot, oldest first. Taking from the front moves an index instead of
 * shifting the array (a burst queues thousands), and the array is dropped once it is empty.
 */
export class ReadyQueue<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  /** Puts `item` first in line. */
  pushFirst(item: T): void {
    if (this.head > 0) this.items[--this.head] = item;
    else this.items.unshift(item);
  }

  /** The first in line, taken out; undefined when empty. */
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head++];
    if (this.head === this.items.length) this.clear();
    return item;
  }

  /** Everything still in line, taken out. */
  drain(): T[] {
    const rest = this.items.slice(this.head);
    this.clear();
    return rest;
  }

  private clear(): void {
    this.items = [];
    this.head = 0;
  }
}
