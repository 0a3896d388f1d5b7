// Handshake message framing over the record layer (RFC 8446 §5.1): a message may span several
// records and several messages may share one; this buffers fragments and yields whole messages.

import type { MessageError } from './types.js';

/**
 * The largest handshake message accepted (header excluded). The biggest legitimate one is a
 * Certificate chain; 256 KiB is well above real chains and bounds what a peer can make us buffer.
 */
export const MAX_HANDSHAKE_MESSAGE = 1 << 18;

export type ReassembledMessage = { msgType: number; body: Uint8Array; raw: Uint8Array };

export class HandshakeReassembler {
  private buf = new Uint8Array(0);
  private start = 0;
  private end = 0;
  private failed: MessageError | undefined;

  constructor(private readonly maxLength = MAX_HANDSHAKE_MESSAGE) {}

  /** Appends the content of one handshake record (copied: the caller may reuse its buffer). */
  push(fragment: Uint8Array): void {
    if (this.failed !== undefined || fragment.length === 0) return;
    if (this.end + fragment.length > this.buf.length) {
      const live = this.end - this.start;
      const need = live + fragment.length;
      if (need <= this.buf.length && this.start > 0) {
        this.buf.copyWithin(0, this.start, this.end);
      } else {
        const next = new Uint8Array(Math.max(need, this.buf.length * 2, 1024));
        next.set(this.buf.subarray(this.start, this.end));
        this.buf = next;
      }
      this.start = 0;
      this.end = live;
    }
    this.buf.set(fragment, this.end);
    this.end += fragment.length;
  }

  /**
   * The next whole message, `undefined` when more bytes are needed, or an error (sticky) when the
   * declared length exceeds the bound. `raw` is the exact message with its 4-byte header (for the
   * transcript hash); `body` is a view of `raw` past the header. Both are fresh copies.
   */
  next(): ReassembledMessage | { error: MessageError } | undefined {
    if (this.failed !== undefined) return { error: this.failed };
    const avail = this.end - this.start;
    if (avail < 4) return undefined;
    const b = this.buf;
    const s = this.start;
    const msgType = b[s]!;
    const len = (b[s + 1]! << 16) | (b[s + 2]! << 8) | b[s + 3]!;
    if (len > this.maxLength) {
      this.failed = { alert: 'decode_error', reason: `handshake message of ${len} bytes exceeds ${this.maxLength}` };
      return { error: this.failed };
    }
    if (avail < 4 + len) return undefined;
    const raw = b.slice(s, s + 4 + len);
    this.start += 4 + len;
    if (this.start === this.end) this.start = this.end = 0;
    return { msgType, body: raw.subarray(4), raw };
  }

  /**
   * Bytes buffered that do not yet form a whole message. RFC 8446 §5.1: "Handshake messages MUST NOT
   * span key changes" — the state machine checks this is 0 whenever keys change (unexpected_message).
   */
  pending(): number {
    return this.end - this.start;
  }
}
