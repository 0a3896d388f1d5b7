// A min-heap of deadlines for many timers (one per connection), with lazy deletion: rescheduling
// pushes a new entry and the stale one is skipped when it surfaces. O(log n) per change.

interface Entry<T> {
  at: number;
  item: T;
}

export class TimerHeap<T> {
  private heap: Entry<T>[] = [];
  private readonly current = new Map<T, number>();

  /** Sets (or with undefined, clears) the deadline of `item`. */
  schedule(item: T, at: number | undefined): void {
    if (at === undefined) {
      this.current.delete(item);
      return;
    }
    if (this.current.get(item) === at) return;
    this.current.set(item, at);
    this.push({ at, item });
  }

  /** The earliest live deadline. */
  peekTime(): number | undefined {
    this.dropStale();
    return this.heap[0]?.at;
  }

  /** Removes and returns one item whose deadline is <= now, or undefined. */
  popDue(now: number): T | undefined {
    this.dropStale();
    const top = this.heap[0];
    if (!top || top.at > now) return undefined;
    this.pop();
    this.current.delete(top.item);
    return top.item;
  }

  get size(): number {
    return this.current.size;
  }

  private dropStale(): void {
    while (this.heap.length > 0) {
      const top = this.heap[0]!;
      if (this.current.get(top.item) === top.at) return;
      this.pop();
    }
  }

  private push(e: Entry<T>): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p]!.at <= e.at) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = e;
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const c = r < h.length && h[r]!.at < h[l]!.at ? r : l;
      if (h[c]!.at >= last.at) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
  }
}
