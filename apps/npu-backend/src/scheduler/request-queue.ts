/**
 * The waiting line of a model's scheduler, behind a small interface so that the policy can change
 * (priorities, per-tenant fairness) without touching the scheduling loop. Today: first come, first
 * served, and the head is never overtaken (a large request is not starved by smaller ones).
 */
export interface RequestQueue<T> {
  readonly size: number;
  push(item: T): void;
  /** The next item to admit, without removing it. */
  peek(): T | undefined;
  shift(): T | undefined;
  /** Removes an item wherever it is (a cancelled request); false if absent. */
  remove(item: T): boolean;
  [Symbol.iterator](): Iterator<T>;
}

export class FcfsQueue<T> implements RequestQueue<T> {
  private items: T[] = [];

  get size(): number {
    return this.items.length;
  }

  push(item: T): void {
    this.items.push(item);
  }

  peek(): T | undefined {
    return this.items[0];
  }

  shift(): T | undefined {
    return this.items.shift();
  }

  remove(item: T): boolean {
    const index = this.items.indexOf(item);
    if (index < 0) return false;
    this.items.splice(index, 1);
    return true;
  }

  [Symbol.iterator](): Iterator<T> {
    return this.items[Symbol.iterator]();
  }
}
