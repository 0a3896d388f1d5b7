// Reassembles one direction of a TCP byte stream from captured segments (RFC 9293 §3.10.7.4 in spirit:
// bytes are delivered in sequence order, retransmitted bytes once, out-of-order ones when the hole fills).

/** Out-of-order bytes held per direction at most; past this the stream is declared broken. */
const MAX_PENDING = 64 << 20;

export class StreamReassembler {
  /** Stream offset of the next in-order byte. */
  private next = 0;
  private pending: { off: number; data: Uint8Array }[] = [];
  private pendingBytes = 0;
  /** Set when too much arrived out of order: nothing more is delivered. */
  broken = false;

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
      if (this.pendingBytes + data.length > MAX_PENDING) {
        this.broken = true;
        this.pending = [];
        this.pendingBytes = 0;
        return [];
      }
      // Keep the list sorted by offset; overlaps are trimmed when the pieces are delivered.
      let i = this.pending.length;
      while (i > 0 && this.pending[i - 1]!.off > off) i--;
      this.pending.splice(i, 0, { off, data });
      this.pendingBytes += data.length;
      return [];
    }
    const out = [data];
    this.next += data.length;
    while (this.pending.length > 0 && this.pending[0]!.off <= this.next) {
      const p = this.pending.shift()!;
      this.pendingBytes -= p.data.length;
      const pend = p.off + p.data.length;
      if (pend <= this.next) continue;
      const piece = p.data.subarray(this.next - p.off);
      out.push(piece);
      this.next += piece.length;
    }
    return out;
  }

  /** Bytes seen beyond a hole that was never filled (lower bound of what the capture is missing). */
  missing(): number {
    let n = 0;
    let at = this.next;
    for (const p of this.pending) {
      if (p.off > at) n += p.off - at;
      at = Math.max(at, p.off + p.data.length);
    }
    return n;
  }
}
