// The receive side's buffers: in-order data waiting for the application (a ring), and
// out-of-order segments held for reassembly (RFC 9293 §3.10.7.4, seventh: "segments with
// higher beginning sequence numbers ... may be held for later processing").

import { ByteRing } from './ring.js';

/** A held out-of-order block: `offset` octets beyond RCV.NXT. */
interface Block {
  offset: number;
  data: Uint8Array;
}

export class ReceiveBuffer {
  private readonly ring: ByteRing;
  /** Out-of-order blocks, sorted by offset, non-overlapping. */
  private ooo: Block[] = [];
  private oooBytes = 0;

  constructor(readonly capacity: number) {
    this.ring = new ByteRing(capacity);
  }

  /** In-order bytes waiting to be read. */
  get length(): number {
    return this.ring.length;
  }

  /** Bytes held out of order. */
  get outOfOrderBytes(): number {
    return this.oooBytes;
  }

  get hasOutOfOrder(): boolean {
    return this.ooo.length > 0;
  }

  /** Free space for in-order data: what the receive window may offer. */
  get free(): number {
    return this.ring.free;
  }

  /**
   * Takes segment text that starts `offset` octets after RCV.NXT (offset >= 0; the caller trimmed
   * it to the window). Returns how far RCV.NXT advances (0 when the text is held out of order).
   */
  insert(offset: number, data: Uint8Array): number {
    if (data.length === 0) return 0;
    if (offset > 0) {
      this.hold(offset, data);
      return 0;
    }
    let advanced = this.push(data);
    if (advanced < data.length) this.holdFront(data.subarray(advanced), advanced);
    // Pull in held blocks that are now contiguous.
    while (this.ooo.length > 0) {
      const first = this.ooo[0]!;
      const rel = first.offset - advanced; // relative to the new RCV.NXT
      if (rel > 0) break;
      this.ooo.shift();
      this.oooBytes -= first.data.length;
      const rest = first.data.subarray(Math.min(first.data.length, -rel));
      const n = this.push(rest);
      advanced += n;
      if (n < rest.length) {
        this.holdFront(rest.subarray(n), advanced);
        break;
      }
    }
    for (const b of this.ooo) b.offset -= advanced;
    return advanced;
  }

  /** Reads up to `max` in-order bytes (a copy), or undefined when empty. */
  read(max = Infinity): Uint8Array | undefined {
    if (this.ring.length === 0) return undefined;
    return this.ring.take(max);
  }

  /** Gives the storage back when nothing is buffered (at TIME-WAIT: the connection is done receiving). */
  shrink(): void {
    if (this.ooo.length === 0) this.ring.shrink();
  }

  /**
   * The held data as [startOffset, endOffset) pairs relative to RCV.NXT (for SACK later). Adjacent
   * blocks are reported as one: RFC 2018 §3 describes "each contiguous block of data".
   */
  blocks(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (const b of this.ooo) {
      const last = out.at(-1);
      if (last && last[1] === b.offset) last[1] = b.offset + b.data.length;
      else out.push([b.offset, b.offset + b.data.length]);
    }
    return out;
  }

  private push(data: Uint8Array): number {
    return this.ring.append(data);
  }

  /** Cannot happen while the window never exceeds free space; kept so no accepted octet is ever lost. */
  private holdFront(rest: Uint8Array, absOffset: number): void {
    this.ooo.unshift({ offset: absOffset, data: rest.slice() });
    this.oooBytes += rest.length;
  }

  private hold(offset: number, data: Uint8Array): void {
    // Merge into the sorted, non-overlapping list: keep what is already held, add only new octets.
    let start = offset;
    let bytes = data;
    const out: Block[] = [];
    let i = 0;
    while (i < this.ooo.length && this.ooo[i]!.offset + this.ooo[i]!.data.length <= start) out.push(this.ooo[i++]!);
    while (bytes.length > 0 && i < this.ooo.length && this.ooo[i]!.offset < start + bytes.length) {
      const b = this.ooo[i]!;
      if (b.offset > start) {
        const piece = bytes.subarray(0, b.offset - start);
        out.push({ offset: start, data: piece.slice() });
        this.oooBytes += piece.length;
      }
      const bEnd = b.offset + b.data.length;
      const cut = Math.max(0, bEnd - start);
      bytes = bytes.subarray(Math.min(bytes.length, cut));
      start = Math.max(start, bEnd);
      out.push(b);
      i++;
    }
    if (bytes.length > 0) {
      out.push({ offset: start, data: bytes.slice() });
      this.oooBytes += bytes.length;
    }
    while (i < this.ooo.length) out.push(this.ooo[i++]!);
    this.ooo = out;
  }
}
