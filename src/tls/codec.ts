// TLS presentation-language codec (RFC 8446 §3): a Reader over untrusted bytes whose length-prefixed
// vectors reject trailing or missing bytes, and a Writer that back-patches vector lengths.
// Reader methods throw DecodeError internally; `decode()` is the only entry point for untrusted input
// and turns that into a typed result, so no parser built on it throws to its caller.

import type { Parsed } from '../wire/result.js';

/** A malformed-input failure inside a Reader; never escapes `decode()`. */
export class DecodeError extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

export class Reader {
  private pos: number;
  constructor(
    readonly bytes: Uint8Array,
    start = 0,
    private readonly end = bytes.length,
  ) {
    this.pos = start;
  }

  get remaining(): number {
    return this.end - this.pos;
  }
  get offset(): number {
    return this.pos;
  }
  atEnd(): boolean {
    return this.pos === this.end;
  }
  /** Fails unless every byte was consumed: RFC 8446 §4 messages have no trailing data. */
  expectEnd(what = 'message'): void {
    if (this.pos !== this.end) throw new DecodeError(`trailing bytes after ${what}`);
  }
  private need(n: number, what: string): void {
    if (n > this.end - this.pos) throw new DecodeError(`truncated ${what}`);
  }
  u8(what = 'u8'): number {
    this.need(1, what);
    return this.bytes[this.pos++]!;
  }
  u16(what = 'u16'): number {
    this.need(2, what);
    const b = this.bytes;
    const v = (b[this.pos]! << 8) | b[this.pos + 1]!;
    this.pos += 2;
    return v;
  }
  u24(what = 'u24'): number {
    this.need(3, what);
    const b = this.bytes;
    const v = (b[this.pos]! << 16) | (b[this.pos + 1]! << 8) | b[this.pos + 2]!;
    this.pos += 3;
    return v;
  }
  u32(what = 'u32'): number {
    this.need(4, what);
    const b = this.bytes;
    const v = ((b[this.pos]! << 24) | (b[this.pos + 1]! << 16) | (b[this.pos + 2]! << 8) | b[this.pos + 3]!) >>> 0;
    this.pos += 4;
    return v;
  }
  /** A view (not a copy) of the next n bytes. */
  bytesN(n: number, what = 'bytes'): Uint8Array {
    this.need(n, what);
    const v = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  rest(): Uint8Array {
    return this.bytesN(this.remaining);
  }
  /** opaque x<min..2^8-1> etc.: a view of the vector's body. */
  vec8(what = 'vector', min = 0): Uint8Array {
    const n = this.u8(what);
    if (n < min) throw new DecodeError(`${what} shorter than ${min}`);
    return this.bytesN(n, what);
  }
  vec16(what = 'vector', min = 0): Uint8Array {
    const n = this.u16(what);
    if (n < min) throw new DecodeError(`${what} shorter than ${min}`);
    return this.bytesN(n, what);
  }
  vec24(what = 'vector', min = 0): Uint8Array {
    const n = this.u24(what);
    if (n < min) throw new DecodeError(`${what} shorter than ${min}`);
    return this.bytesN(n, what);
  }
  /** A sub-reader over a u8/u16/u24-length-prefixed vector; the caller must consume it fully. */
  sub8(what = 'vector', min = 0): Reader {
    const v = this.vec8(what, min);
    return new Reader(v);
  }
  sub16(what = 'vector', min = 0): Reader {
    const v = this.vec16(what, min);
    return new Reader(v);
  }
  sub24(what = 'vector', min = 0): Reader {
    const v = this.vec24(what, min);
    return new Reader(v);
  }
  /** A vector of u16 items (cipher suites, groups, signature schemes). Odd lengths are a decode_error. */
  u16List(what = 'list', min = 0): number[] {
    const body = this.vec16(what, min);
    if (body.length % 2 !== 0) throw new DecodeError(`${what} has an odd length`);
    const out: number[] = [];
    for (let i = 0; i < body.length; i += 2) out.push((body[i]! << 8) | body[i + 1]!);
    return out;
  }
}

/** Runs a parser over untrusted bytes: a DecodeError becomes `{ ok: false }`; nothing else is caught. */
export function decode<T>(bytes: Uint8Array, parse: (r: Reader) => T): Parsed<T> {
  try {
    const r = new Reader(bytes);
    const value = parse(r);
    return { ok: true, value };
  } catch (e) {
    if (e instanceof DecodeError) return { ok: false, error: e.reason };
    throw e;
  }
}

/** Growable big-endian writer. `vec16(() => …)` writes a body and back-patches its length. */
export class Writer {
  private buf: Uint8Array;
  private len = 0;
  constructor(initial = 256) {
    this.buf = new Uint8Array(initial);
  }
  get length(): number {
    return this.len;
  }
  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
  u8(v: number): this {
    this.room(1);
    this.buf[this.len++] = v;
    return this;
  }
  u16(v: number): this {
    this.room(2);
    this.buf[this.len++] = v >>> 8;
    this.buf[this.len++] = v;
    return this;
  }
  u24(v: number): this {
    this.room(3);
    this.buf[this.len++] = v >>> 16;
    this.buf[this.len++] = v >>> 8;
    this.buf[this.len++] = v;
    return this;
  }
  u32(v: number): this {
    this.room(4);
    this.buf[this.len++] = v >>> 24;
    this.buf[this.len++] = v >>> 16;
    this.buf[this.len++] = v >>> 8;
    this.buf[this.len++] = v;
    return this;
  }
  bytes(b: Uint8Array): this {
    this.room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }
  private vec(lenBytes: 1 | 2 | 3, max: number, body: (w: this) => void): this {
    const at = this.len;
    this.room(lenBytes);
    this.len += lenBytes;
    body(this);
    const n = this.len - at - lenBytes;
    if (n > max) throw new RangeError(`vector of ${n} bytes exceeds ${max}`);
    for (let i = lenBytes - 1, v = n; i >= 0; i--, v >>>= 8) this.buf[at + i] = v & 0xff;
    return this;
  }
  vec8(body: (w: this) => void): this {
    return this.vec(1, 0xff, body);
  }
  vec16(body: (w: this) => void): this {
    return this.vec(2, 0xffff, body);
  }
  vec24(body: (w: this) => void): this {
    return this.vec(3, 0xffffff, body);
  }
  /** Shorthands for an opaque vector with a given length prefix. */
  opaque8(b: Uint8Array): this {
    return this.vec8((w) => w.bytes(b));
  }
  opaque16(b: Uint8Array): this {
    return this.vec16((w) => w.bytes(b));
  }
  opaque24(b: Uint8Array): this {
    return this.vec24((w) => w.bytes(b));
  }
  u16List(items: readonly number[]): this {
    return this.vec16((w) => {
      for (const v of items) w.u16(v);
    });
  }
  /** A copy of what was written. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}
