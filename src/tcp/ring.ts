// A byte ring that grows on demand (doubling) up to a fixed capacity: the storage under the send
// and receive buffers. Idle connections stay small; a busy one stops allocating once grown.

const EMPTY = new Uint8Array(0);
const INITIAL = 4096;

export class ByteRing {
  private buf: Uint8Array = EMPTY;
  private head = 0;
  private len = 0;

  constructor(readonly capacity: number) {}

  get length(): number {
    return this.len;
  }

  get free(): number {
    return this.capacity - this.len;
  }

  /** Appends as much of `data` as fits in the capacity; returns the count taken. */
  append(data: Uint8Array): number {
    const n = Math.min(data.length, this.capacity - this.len);
    if (n === 0) return 0;
    this.reserve(this.len + n);
    const size = this.buf.length;
    const tail = (this.head + this.len) % size;
    const first = Math.min(n, size - tail);
    this.buf.set(data.subarray(0, first), tail);
    if (n > first) this.buf.set(data.subarray(first, n), 0);
    this.len += n;
    return n;
  }

  /** Bytes [offset, offset+n): a view when contiguous (valid until the next change), else a copy. */
  peek(offset: number, n: number): Uint8Array {
    if (offset < 0 || n < 0 || offset + n > this.len) throw new RangeError(`ByteRing.peek(${offset}, ${n}) beyond ${this.len}`);
    if (n === 0) return EMPTY;
    const size = this.buf.length;
    const start = (this.head + offset) % size;
    if (start + n <= size) return this.buf.subarray(start, start + n);
    const out = new Uint8Array(n);
    const first = size - start;
    out.set(this.buf.subarray(start), 0);
    out.set(this.buf.subarray(0, n - first), first);
    return out;
  }

  /** Drops the oldest n bytes. */
  consume(n: number): void {
    if (n < 0 || n > this.len) throw new RangeError(`ByteRing.consume(${n}) beyond ${this.len}`);
    this.len -= n;
    this.head = this.len === 0 ? 0 : (this.head + n) % this.buf.length;
  }

  /** Removes and returns (a copy of) up to `max` of the oldest bytes. */
  take(max: number): Uint8Array {
    const n = Math.min(this.len, max);
    const out = this.peek(0, n).slice();
    this.consume(n);
    return out;
  }

  /** Gives the storage back when empty (an idle or finished connection keeps nothing). */
  shrink(): void {
    if (this.len === 0) {
      this.buf = EMPTY;
      this.head = 0;
    }
  }

  private reserve(needed: number): void {
    if (needed <= this.buf.length) return;
    let size = Math.max(INITIAL, this.buf.length);
    while (size < needed) size *= 2;
    size = Math.min(size, this.capacity);
    const next = new Uint8Array(size);
    if (this.len > 0) next.set(this.peek(0, this.len), 0);
    this.buf = next;
    this.head = 0;
  }
}
