// Reassembles one direction of a TCP byte stream from captured segments (RFC 9293 §3.10.7.4 in spirit:
// bytes are delivered in sequence order, retransmitted bytes once, out-of-order ones when the hole fills).

/** Out-of-order bytes and pieces held per direction at most; past either the stream is declared broken. */
const MAX_PENDING = 64 << 20;
const MAX_PIECES = 16384;

export class StreamReassembler {
  /** Stream offset of the next in-order byte. */
  private next = 0;
  /** Out-of-order pieces sorted by offset; [0, head) were delivered already (dropped lazily, no shift()). */
  private pending: { off: number; data: Uint8Array }[] = [];
  private head = 0;
  private pendingBytes = 0;
  /** Set when too much arrived out of order: nothing more is delivered. */
  broken = false;
  private missingWhenBroken = 0;

  /** Bytes delivered in order so far. */
  get delivered(): number {
    return this.next;
  }

  /**
   * Adds the payload of a segment that starts at stream offset `off` (negative when it starts before
   * the first byte we track). Returns the newly in-order bytes, possibly several pieces.
   */
  push(off: number, data: Uint8Array): Uint8Array[] {
    if (this.broken || data.length === 0) return [];
    const end = off + data.length;
    if (end <= this.next) return []; // all of it was delivered already
    if (off < this.next) {
      data = data.subarray(this.next - off);
      off = this.next;
    }
    if (off > this.next) {
      if (this.pendingBytes + data.length > MAX_PENDING || this.pending.length - this.head >= MAX_PIECES) {
        this.missingWhenBroken = this.missing();
        this.broken = true;
        this.pending = [];
        this.head = 0;
        this.pendingBytes = 0;
        return [];
      }
      // Keep the list sorted by offset (binary search: holes can be many); overlaps are trimmed on delivery.
      let lo = this.head;
      let hi = this.pending.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (this.pending[mid]!.off > off) hi = mid;
        else lo = mid + 1;
      }
      this.pending.splice(lo, 0, { off, data });
      this.pendingBytes += data.length;
      return [];
    }
    const out = [data];
    this.next += data.length;
    while (this.head < this.pending.length && this.pending[this.head]!.off <= this.next) {
      const p = this.pending[this.head++]!;
      this.pendingBytes -= p.data.length;
      const pend = p.off + p.data.length;
      if (pend <= this.next) continue;
      const piece = p.data.subarray(this.next - p.off);
      out.push(piece);
      this.next += piece.length;
    }
    if (this.head > 1024 && this.head * 2 > this.pending.length) {
      this.pending = this.pending.slice(this.head);
      this.head = 0;
    }
    return out;
  }

  /** Bytes seen beyond a hole that was never filled (lower bound of what the capture is missing). */
  missing(): number {
    if (this.broken) return this.missingWhenBroken;
    let n = 0;
    let at = this.next;
    for (const p of this.pending.slice(this.head)) {
      if (p.off > at) n += p.off - at;
      at = Math.max(at, p.off + p.data.length);
    }
    return n;
  }
}
