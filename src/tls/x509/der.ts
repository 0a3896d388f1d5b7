// Minimal DER (ITU-T X.690 §8, §10) for X.509: a reader over untrusted bytes (definite lengths only;
// typed results, never a throw to the caller) and a writer for the certificates the local CA builds.

import type { Parsed } from '../../wire/result.js';

/** X.690 §8.1.2: universal tags used by RFC 5280 (identifier octet, class and constructed bit included). */
export const Tag = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8String: 0x0c,
  PrintableString: 0x13,
  TeletexString: 0x14,
  IA5String: 0x16,
  UTCTime: 0x17,
  GeneralizedTime: 0x18,
  UniversalString: 0x1c,
  BMPString: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** The identifier octet of a context-specific tag [n] (n < 31). */
export function contextTag(n: number, constructed: boolean): number {
  return 0x80 | (constructed ? 0x20 : 0) | n;
}

/** One TLV. `tag` is the first identifier octet (for high tag numbers, see `tagNumber`). */
export interface DerElement {
  readonly tag: number;
  /** X.690 §8.1.2.2: 0 universal, 1 application, 2 context-specific, 3 private. */
  readonly cls: 0 | 1 | 2 | 3;
  readonly constructed: boolean;
  readonly tagNumber: number;
  /** The whole TLV (a view). */
  readonly raw: Uint8Array;
  /** The contents octets (a view). */
  readonly value: Uint8Array;
}

/** A malformed-DER failure inside a DerReader/the `as*` helpers; never escapes `derDecode()`. */
export class DerError extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

const MAX_TAG_NUMBER = 0x1fffff;

/** Reads one TLV at `offset` of `bytes` (which bounds it). Throws DerError; use `readElement` from outside. */
function readTlv(bytes: Uint8Array, offset: number, end: number): { element: DerElement; next: number } {
  let p = offset;
  if (p >= end) throw new DerError('truncated tag');
  const first = bytes[p++]!;
  let tagNumber = first & 0x1f;
  if (tagNumber === 0x1f) {
    // X.690 §8.1.2.4: high tag number form, base-128; DER forbids a leading 0x80 and numbers < 31.
    tagNumber = 0;
    for (;;) {
      if (p >= end) throw new DerError('truncated tag');
      const b = bytes[p++]!;
      if (tagNumber === 0 && b === 0x80) throw new DerError('non-minimal tag number');
      tagNumber = tagNumber * 128 + (b & 0x7f);
      if (tagNumber > MAX_TAG_NUMBER) throw new DerError('tag number too large');
      if ((b & 0x80) === 0) break;
    }
    if (tagNumber < 0x1f) throw new DerError('non-minimal tag number');
  }
  if (p >= end) throw new DerError('truncated length');
  const l0 = bytes[p++]!;
  let len: number;
  if (l0 < 0x80) {
    len = l0;
  } else if (l0 === 0x80) {
    // X.690 §10.1: DER uses the definite form only.
    throw new DerError('indefinite length');
  } else {
    const n = l0 & 0x7f;
    if (n > 4) throw new DerError('length too large');
    if (end - p < n) throw new DerError('truncated length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + bytes[p++]!;
    // X.690 §10.1: "the definite form of length encoding shall be used, encoded in the minimum number of octets".
    if (len < 0x80 || bytes[p - n] === 0) throw new DerError('non-minimal length');
  }
  if (len > end - p) throw new DerError('truncated value');
  const element: DerElement = {
    tag: first,
    cls: (first >> 6) as 0 | 1 | 2 | 3,
    constructed: (first & 0x20) !== 0,
    tagNumber,
    raw: bytes.subarray(offset, p + len),
    value: bytes.subarray(p, p + len),
  };
  return { element, next: p + len };
}

/** A cursor over the contents of a constructed element (or a whole buffer). Methods throw DerError. */
export class DerReader {
  private pos: number;
  private readonly end: number;
  constructor(
    private readonly bytes: Uint8Array,
    start = 0,
    end = bytes.length,
  ) {
    this.pos = start;
    this.end = end;
  }
  atEnd(): boolean {
    return this.pos >= this.end;
  }
  /** The next element's identifier octet, or undefined at the end. */
  peekTag(): number | undefined {
    return this.pos < this.end ? this.bytes[this.pos] : undefined;
  }
  next(what = 'element'): DerElement {
    if (this.atEnd()) throw new DerError(`missing ${what}`);
    const { element, next } = readTlv(this.bytes, this.pos, this.end);
    this.pos = next;
    return element;
  }
  /** The next element, which must carry `tag`. */
  expect(tag: number, what: string): DerElement {
    const t = this.peekTag();
    if (t === undefined) throw new DerError(`missing ${what}`);
    if (t !== tag) throw new DerError(`${what}: expected tag 0x${hex2(tag)}, got 0x${hex2(t)}`);
    return this.next(what);
  }
  /** The next element if it carries `tag` (OPTIONAL / DEFAULT fields). */
  optional(tag: number, what: string): DerElement | undefined {
    return this.peekTag() === tag ? this.next(what) : undefined;
  }
  /** Fails unless every byte was consumed. */
  done(what: string): void {
    if (!this.atEnd()) throw new DerError(`trailing data in ${what}`);
  }
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

/** Runs a DER parser: a DerError becomes `{ ok: false }`; nothing else is caught. */
export function derDecode<T>(parse: () => T): Parsed<T> {
  try {
    return { ok: true, value: parse() };
  } catch (e) {
    if (e instanceof DerError) return { ok: false, error: e.reason };
    throw e;
  }
}

/** One TLV at `offset`, and where the next one starts. */
export function readElement(bytes: Uint8Array, offset = 0): Parsed<{ element: DerElement; next: number }> {
  return derDecode(() => readTlv(bytes, offset, bytes.length));
}

/** Exactly one TLV filling `bytes` (no trailing data). */
export function readSingle(bytes: Uint8Array): Parsed<DerElement> {
  return derDecode(() => {
    const { element, next } = readTlv(bytes, 0, bytes.length);
    if (next !== bytes.length) throw new DerError('trailing data after element');
    return element;
  });
}

/** The children of a constructed element. */
export function readChildren(el: DerElement): Parsed<DerElement[]> {
  return derDecode(() => children(el));
}

// ---- Throwing helpers for use inside derDecode() ----

/** A reader over a constructed element's contents. */
export function open(el: DerElement, what: string, tag?: number): DerReader {
  if (tag !== undefined && el.tag !== tag) throw new DerError(`${what}: unexpected tag 0x${hex2(el.tag)}`);
  if (!el.constructed) throw new DerError(`${what}: not constructed`);
  return new DerReader(el.value);
}

export function children(el: DerElement, what = 'element'): DerElement[] {
  const r = open(el, what);
  const out: DerElement[] = [];
  while (!r.atEnd()) out.push(r.next(what));
  return out;
}

/** X.690 §8.3: INTEGER, two's complement, minimal (§8.3.2). */
export function asInteger(el: DerElement, what = 'INTEGER'): bigint {
  const v = el.value;
  if (el.constructed || v.length === 0) throw new DerError(`${what}: bad INTEGER`);
  if (v.length > 1 && ((v[0] === 0 && v[1]! < 0x80) || (v[0] === 0xff && v[1]! >= 0x80))) {
    throw new DerError(`${what}: non-minimal INTEGER`);
  }
  let n = 0n;
  for (const b of v) n = (n << 8n) | BigInt(b);
  if (v[0]! >= 0x80) n -= 1n << BigInt(v.length * 8);
  return n;
}

/** A small non-negative INTEGER as a number (version, pathLen, saltLength). */
export function asSmallInt(el: DerElement, what = 'INTEGER'): number {
  const n = asInteger(el, what);
  if (n < 0n || n > 0x7fffffffn) throw new DerError(`${what}: out of range`);
  return Number(n);
}

/** X.690 §8.2.2 / §11.1: BOOLEAN, DER TRUE is 0xFF. */
export function asBoolean(el: DerElement, what = 'BOOLEAN'): boolean {
  if (el.constructed || el.value.length !== 1) throw new DerError(`${what}: bad BOOLEAN`);
  const b = el.value[0]!;
  if (b !== 0 && b !== 0xff) throw new DerError(`${what}: non-DER BOOLEAN`);
  return b === 0xff;
}

/** X.690 §8.6: BIT STRING; the first content octet counts the unused bits of the last one. */
export function asBitString(el: DerElement, what = 'BIT STRING'): { unusedBits: number; bytes: Uint8Array } {
  const v = el.value;
  if (el.constructed || v.length === 0) throw new DerError(`${what}: bad BIT STRING`);
  const unusedBits = v[0]!;
  if (unusedBits > 7 || (v.length === 1 && unusedBits !== 0)) throw new DerError(`${what}: bad unused-bits count`);
  return { unusedBits, bytes: v.subarray(1) };
}

/** A BIT STRING that must hold whole octets (keys, signatures). */
export function asOctetAlignedBits(el: DerElement, what = 'BIT STRING'): Uint8Array {
  const { unusedBits, bytes } = asBitString(el, what);
  if (unusedBits !== 0) throw new DerError(`${what}: not octet-aligned`);
  return bytes;
}

/** X.690 §8.19: OBJECT IDENTIFIER as a dotted string. */
export function asOid(el: DerElement, what = 'OID'): string {
  const v = el.value;
  if (el.constructed || v.length === 0) throw new DerError(`${what}: bad OID`);
  const arcs: bigint[] = [];
  let cur = 0n;
  let fresh = true;
  for (let i = 0; i < v.length; i++) {
    const b = v[i]!;
    if (fresh && b === 0x80) throw new DerError(`${what}: non-minimal OID arc`);
    cur = (cur << 7n) | BigInt(b & 0x7f);
    fresh = false;
    if ((b & 0x80) === 0) {
      arcs.push(cur);
      cur = 0n;
      fresh = true;
    }
  }
  if (!fresh) throw new DerError(`${what}: truncated OID`);
  const first = arcs[0]!;
  // X.690 §8.19.4: the first subidentifier is 40*X + Y with X in 0..2.
  const head = first < 40n ? [0n, first] : first < 80n ? [1n, first - 40n] : [2n, first - 80n];
  return [...head, ...arcs.slice(1)].join('.');
}

const utf8 = new TextDecoder('utf-8', { fatal: false });
const latin1 = new TextDecoder('latin1');

/** The string types of a DirectoryString / IA5String as JS text (lossy for malformed input, never throws). */
export function asString(el: DerElement, what = 'string'): string {
  const v = el.value;
  if (el.constructed) throw new DerError(`${what}: constructed string`);
  switch (el.tag) {
    case Tag.UTF8String:
      return utf8.decode(v);
    case Tag.PrintableString:
    case Tag.IA5String:
    case Tag.TeletexString:
    case 0x1a: // VisibleString
    case 0x12: // NumericString
      return latin1.decode(v);
    case Tag.BMPString: {
      if (v.length % 2 !== 0) throw new DerError(`${what}: odd BMPString`);
      let s = '';
      for (let i = 0; i < v.length; i += 2) s += String.fromCharCode((v[i]! << 8) | v[i + 1]!);
      return s;
    }
    case Tag.UniversalString: {
      if (v.length % 4 !== 0) throw new DerError(`${what}: bad UniversalString`);
      let s = '';
      for (let i = 0; i < v.length; i += 4) {
        const cp = ((v[i]! << 24) | (v[i + 1]! << 16) | (v[i + 2]! << 8) | v[i + 3]!) >>> 0;
        s += cp <= 0x10ffff ? String.fromCodePoint(cp) : '\ufffd';
      }
      return s;
    }
    default:
      throw new DerError(`${what}: unsupported string type 0x${hex2(el.tag)}`);
  }
}

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function digits(s: string, at: number, n: number, what: string): number {
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) throw new DerError(`${what}: bad digit`);
    v = v * 10 + c;
  }
  return v;
}

/** RFC 5280 §4.1.2.5.1/§4.1.2.5.2: UTCTime YYMMDDHHMMSSZ or GeneralizedTime YYYYMMDDHHMMSSZ, as ms since epoch. */
export function asTime(el: DerElement, what = 'time'): number {
  const s = latin1.decode(el.value);
  let year: number;
  let at: number;
  if (el.tag === Tag.UTCTime && s.length === 13) {
    const yy = digits(s, 0, 2, what);
    // RFC 5280 §4.1.2.5.1: YY >= 50 is 19YY, YY < 50 is 20YY.
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
    at = 2;
  } else if (el.tag === Tag.GeneralizedTime && s.length === 15) {
    year = digits(s, 0, 4, what);
    at = 4;
  } else {
    throw new DerError(`${what}: not an RFC 5280 UTCTime/GeneralizedTime`);
  }
  if (s[s.length - 1] !== 'Z') throw new DerError(`${what}: not in UTC (Z)`);
  const month = digits(s, at, 2, what);
  const day = digits(s, at + 2, 2, what);
  const hour = digits(s, at + 4, 2, what);
  const minute = digits(s, at + 6, 2, what);
  const second = digits(s, at + 8, 2, what);
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const dim = month === 2 && leap ? 29 : (DAYS[month - 1] ?? 0);
  if (month < 1 || month > 12 || day < 1 || day > dim || hour > 23 || minute > 59 || second > 59) {
    throw new DerError(`${what}: date out of range`);
  }
  return Date.UTC(year, month - 1, day, hour, minute, second);
}

// ---- Writer ----

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** X.690 §8.1.3 / §10.1: a definite, minimal length. */
function encodeLength(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Uint8Array.from([0x80 | bytes.length, ...bytes]);
}

/** A TLV with a low-number identifier octet. */
export function derTlv(tag: number, ...content: Uint8Array[]): Uint8Array {
  const body = concat(content);
  return concat([Uint8Array.of(tag), encodeLength(body.length), body]);
}

export function derSequence(...items: Uint8Array[]): Uint8Array {
  return derTlv(Tag.SEQUENCE, ...items);
}

/** X.690 §11.6: DER sorts the encodings of SET OF components. */
export function derSet(...items: Uint8Array[]): Uint8Array {
  const sorted = [...items].sort(compareBytes);
  return derTlv(Tag.SET, ...sorted);
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** X.690 §8.3: a minimal two's-complement INTEGER from a bigint, or from unsigned big-endian bytes. */
export function derInteger(value: bigint | number | Uint8Array): Uint8Array {
  if (value instanceof Uint8Array) {
    let i = 0;
    while (i < value.length - 1 && value[i] === 0) i++;
    const mag = value.subarray(i);
    const body = mag.length === 0 ? Uint8Array.of(0) : mag[0]! >= 0x80 ? concat([Uint8Array.of(0), mag]) : mag;
    return derTlv(Tag.INTEGER, body);
  }
  let v = BigInt(value);
  const bytes: number[] = [];
  if (v >= 0n) {
    do {
      bytes.unshift(Number(v & 0xffn));
      v >>= 8n;
    } while (v > 0n);
    if (bytes[0]! >= 0x80) bytes.unshift(0);
  } else {
    do {
      bytes.unshift(Number(v & 0xffn));
      v >>= 8n;
    } while (v < -1n);
    if (bytes[0]! < 0x80) bytes.unshift(0xff);
  }
  return derTlv(Tag.INTEGER, Uint8Array.from(bytes));
}

/** X.690 §8.19: OBJECT IDENTIFIER from a dotted string. Throws RangeError on a malformed OID (local misuse). */
export function derOid(dotted: string): Uint8Array {
  const parts = dotted.split('.');
  if (parts.length < 2 || parts.some((p) => !/^\d+$/.test(p))) throw new RangeError(`bad OID ${dotted}`);
  const arcs = parts.map((p) => BigInt(p));
  const [x, y] = [arcs[0]!, arcs[1]!];
  if (x > 2n || (x < 2n && y > 39n)) throw new RangeError(`bad OID ${dotted}`);
  const subs = [40n * x + y, ...arcs.slice(2)];
  const out: number[] = [];
  for (const s of subs) {
    const group: number[] = [Number(s & 0x7fn)];
    for (let v = s >> 7n; v > 0n; v >>= 7n) group.unshift(Number(v & 0x7fn) | 0x80);
    out.push(...group);
  }
  return derTlv(Tag.OID, Uint8Array.from(out));
}

const utf8enc = new TextEncoder();

export function derUtf8String(s: string): Uint8Array {
  return derTlv(Tag.UTF8String, utf8enc.encode(s));
}

/** X.680 §41.4: PrintableString's character set. Throws RangeError outside it (local misuse). */
export function derPrintableString(s: string): Uint8Array {
  if (!/^[A-Za-z0-9 '()+,\-./:=?]*$/.test(s)) throw new RangeError(`not a PrintableString: ${JSON.stringify(s)}`);
  return derTlv(Tag.PrintableString, utf8enc.encode(s));
}

export function derIa5String(s: string): Uint8Array {
  if (!/^[\x00-\x7f]*$/.test(s)) throw new RangeError(`not an IA5String: ${JSON.stringify(s)}`);
  return derTlv(Tag.IA5String, utf8enc.encode(s));
}

function pad(n: number, w: number): string {
  return String(n).padStart(w, '0');
}

/** RFC 5280 §4.1.2.5.1: UTCTime YYMMDDHHMMSSZ (seconds precision; milliseconds are dropped). */
export function derUtcTime(ms: number): Uint8Array {
  const d = new Date(ms);
  const y = d.getUTCFullYear();
  if (y < 1950 || y > 2049) throw new RangeError(`UTCTime cannot hold year ${y}`);
  const s =
    pad(y % 100, 2) + pad(d.getUTCMonth() + 1, 2) + pad(d.getUTCDate(), 2) +
    pad(d.getUTCHours(), 2) + pad(d.getUTCMinutes(), 2) + pad(d.getUTCSeconds(), 2) + 'Z';
  return derTlv(Tag.UTCTime, utf8enc.encode(s));
}

/** RFC 5280 §4.1.2.5.2: GeneralizedTime YYYYMMDDHHMMSSZ, no fractional seconds. */
export function derGeneralizedTime(ms: number): Uint8Array {
  const d = new Date(ms);
  const y = d.getUTCFullYear();
  if (y < 0 || y > 9999) throw new RangeError(`GeneralizedTime cannot hold year ${y}`);
  const s =
    pad(y, 4) + pad(d.getUTCMonth() + 1, 2) + pad(d.getUTCDate(), 2) +
    pad(d.getUTCHours(), 2) + pad(d.getUTCMinutes(), 2) + pad(d.getUTCSeconds(), 2) + 'Z';
  return derTlv(Tag.GeneralizedTime, utf8enc.encode(s));
}

/** RFC 5280 §4.1.2.5: "dates through the year 2049 MUST be encoded as UTCTime; dates in 2050 or later MUST be GeneralizedTime". */
export function derTime(ms: number): Uint8Array {
  const y = new Date(ms).getUTCFullYear();
  return y >= 1950 && y < 2050 ? derUtcTime(ms) : derGeneralizedTime(ms);
}

export function derBitString(bytes: Uint8Array, unusedBits = 0): Uint8Array {
  return derTlv(Tag.BIT_STRING, Uint8Array.of(unusedBits), bytes);
}

/**
 * X.690 §11.2.2: a NamedBitList BIT STRING (keyUsage) from a bit set where bit i (1 << i) is named bit i;
 * trailing zero bits are removed.
 */
export function derNamedBits(bits: number): Uint8Array {
  let highest = -1;
  for (let i = 0; i < 31; i++) if (bits & (1 << i)) highest = i;
  if (highest < 0) return derBitString(new Uint8Array(0));
  const bytes = new Uint8Array((highest >> 3) + 1);
  for (let i = 0; i <= highest; i++) if (bits & (1 << i)) bytes[i >> 3] = bytes[i >> 3]! | (0x80 >> (i & 7));
  return derBitString(bytes, 7 - (highest & 7));
}

export function derOctetString(bytes: Uint8Array): Uint8Array {
  return derTlv(Tag.OCTET_STRING, bytes);
}

export function derBoolean(v: boolean): Uint8Array {
  return derTlv(Tag.BOOLEAN, Uint8Array.of(v ? 0xff : 0));
}

export function derNull(): Uint8Array {
  return Uint8Array.of(Tag.NULL, 0);
}

/** [n] EXPLICIT: a constructed context tag wrapping a whole TLV. */
export function derExplicit(n: number, inner: Uint8Array): Uint8Array {
  return derTlv(contextTag(n, true), inner);
}

/** [n] IMPLICIT: the contents of the underlying type under a context tag (constructed for SEQUENCE/SET). */
export function derImplicit(n: number, content: Uint8Array, constructed = false): Uint8Array {
  return derTlv(contextTag(n, constructed), content);
}
