// The TLS 1.3 record layer (RFC 8446 §5): framing TCP bytes into records (RecordReader), AEAD
// protection per direction and epoch (RecordProtection: nonce, padding, limits), and plaintext records.

import {
  AlertDescription,
  ContentType,
  LEGACY_VERSION,
  MAX_CIPHERTEXT,
  MAX_PLAINTEXT,
  RECORD_HEADER_LEN,
} from './constants.js';
import type { Aead, CryptoProvider, HashAlgorithm } from './crypto/provider.js';
import type { CipherSuite } from './constants.js';
import { nextTrafficSecret, trafficKeys } from './keyschedule.js';

/** An alert by its RFC 8446 §6 name ("bad_record_mac"). */
export type AlertName = keyof typeof AlertDescription;

/** A peer fault found in the record layer: the connection answers with this fatal alert. */
export interface RecordError {
  alert: AlertName;
  reason: string;
}

/** One record as framed from the byte stream (RFC 8446 §5.1 TLSPlaintext / §5.2 TLSCiphertext). */
export interface RecordFrame {
  contentType: ContentType;
  legacyVersion: number;
  /** The record body: plaintext, or encrypted_record for application_data. A view, not a copy. */
  fragment: Uint8Array;
  /** The 5 header bytes as received: the AEAD additional data (RFC 8446 §5.2). */
  header: Uint8Array;
}

export function isRecordError(x: object): x is RecordError {
  return 'alert' in x;
}

function fail(alert: AlertName, reason: string): RecordError {
  return { alert, reason };
}

/** RFC 8446 §5.4: the TLSInnerPlaintext limit, content + type byte: 2^14 + 1. */
const MAX_INNER_PLAINTEXT = MAX_PLAINTEXT + 1;

/**
 * RFC 8449 §4: the largest content a record may carry given a record_size_limit; "the value includes the
 * content type and padding added in TLS 1.3", and a limit above 2^14 + 1 means no extra limit for TLS 1.3.
 */
export function maxPlaintextForLimit(recordSizeLimit: number): number {
  return Math.min(Math.max(recordSizeLimit, 1), MAX_INNER_PLAINTEXT) - 1;
}

// ───────────────────────────── framing (RFC 8446 §5.1) ─────────────────────────────

/**
 * Validates a record header; returns the body length or an error. Checked as soon as 5 bytes are there,
 * before the body arrives, so an oversized length fails at once instead of buffering 64 KB.
 */
function checkHeader(type: number, major: number, length: number): RecordError | undefined {
  // RFC 8446 §5: "If a TLS implementation receives an unexpected record type, it MUST terminate the
  // connection with an "unexpected_message" alert." (0 = invalid is never sent on the wire.)
  if (
    type !== ContentType.change_cipher_spec &&
    type !== ContentType.alert &&
    type !== ContentType.handshake &&
    type !== ContentType.application_data
  ) {
    return fail('unexpected_message', `record of unknown content type ${type}`);
  }
  // RFC 8446 §5.1: legacy_record_version "MUST be ignored for all purposes"; it is 0x0303, or 0x0301 on an
  // initial ClientHello. Deviation: a first byte other than 0x03 is not TLS at all (e.g. plain HTTP) — decode_error.
  if (major !== 0x03) return fail('decode_error', `record version 0x${major.toString(16).padStart(2, '0')}xx is not TLS`);
  if (type === ContentType.application_data) {
    // RFC 8446 §5.2: "The length MUST NOT exceed 2^14 + 256 bytes ... record_overflow".
    if (length > MAX_CIPHERTEXT) return fail('record_overflow', `ciphertext record of ${length} bytes exceeds 2^14+256`);
  } else {
    // RFC 8446 §5.1: TLSPlaintext "length MUST NOT exceed 2^14 bytes ... record_overflow".
    if (length > MAX_PLAINTEXT) return fail('record_overflow', `plaintext record of ${length} bytes exceeds 2^14`);
    // RFC 8446 §5.1: "Implementations MUST NOT send zero-length fragments of Handshake types"; §5.4 names the
    // alert for the protected case ("unexpected_message"), used here for plaintext records too. An alert is two bytes.
    if (length === 0) return fail('unexpected_message', `zero-length ${type === ContentType.alert ? 'alert' : type === ContentType.handshake ? 'handshake' : 'change_cipher_spec'} record`);
    // RFC 8446 §5: a change_cipher_spec record is "the single byte value 0x01"; "any other change_cipher_spec
    // value" → "unexpected_message". (Whether one is allowed at this point is the handshake's call.)
    if (type === ContentType.change_cipher_spec && length !== 1) {
      return fail('unexpected_message', `change_cipher_spec record of ${length} bytes`);
    }
  }
  return undefined;
}

/** RFC 8446 §5: the body check of a complete record (the single 0x01 of change_cipher_spec). */
function checkBody(record: Uint8Array): RecordError | undefined {
  if (record[0] === ContentType.change_cipher_spec && record[RECORD_HEADER_LEN] !== 0x01) {
    return fail('unexpected_message', `change_cipher_spec value ${record[RECORD_HEADER_LEN]}`);
  }
  return undefined;
}

/**
 * Frames a TCP byte stream into records, one `next()` at a time.
 *
 * Zero-copy where possible: a record wholly inside one pushed chunk is returned as a view of it. Bytes of
 * a record split across chunks are copied once into a buffer of the record's size. The reader *borrows*
 * pushed chunks until `next()` returns undefined (at that point whatever it still needs has been copied),
 * so the caller must not modify pushed bytes before draining, and must consume or copy returned frames
 * before it modifies the chunk they came from. After an error the reader stays failed.
 */
export class RecordReader {
  /** Borrowed views, oldest first, after any owned partial record. */
  private chunks: Uint8Array[] = [];
  private chunkBytes = 0;
  /** An owned buffer assembling the oldest (incomplete) record: [0, partialLen) is filled. */
  private partial: Uint8Array | undefined;
  private partialLen = 0;
  /** Whether the partial record's header has been validated. */
  private partialChecked = false;
  private failed: RecordError | undefined;

  /** Bytes received but not yet returned as records. */
  get buffered(): number {
    return this.partialLen + this.chunkBytes;
  }

  push(bytes: Uint8Array): void {
    if (bytes.length === 0 || this.failed) return;
    this.chunks.push(bytes);
    this.chunkBytes += bytes.length;
  }

  next(): RecordFrame | RecordError | undefined {
    if (this.failed) return this.failed;
    if (this.partial === undefined) {
      const c = this.chunks[0];
      if (c === undefined) return undefined;
      if (c.length >= RECORD_HEADER_LEN) {
        const length = (c[3]! << 8) | c[4]!;
        const bad = checkHeader(c[0]!, c[1]!, length);
        if (bad) return (this.failed = bad);
        const total = RECORD_HEADER_LEN + length;
        if (c.length >= total) {
          // The common case: the whole record is in one chunk — a view, no copy.
          this.takeChunkPrefix(total);
          return this.complete(c.subarray(0, total));
        }
        this.partial = new Uint8Array(total);
        this.partialChecked = true;
      } else {
        this.partial = new Uint8Array(RECORD_HEADER_LEN);
        this.partialChecked = false;
      }
      this.partialLen = 0;
    }
    return this.continuePartial();
  }

  /** Fills the owned partial record from the chunks; when they run out, nothing borrowed is left. */
  private continuePartial(): RecordFrame | RecordError | undefined {
    let buf = this.partial!;
    if (this.partialLen < RECORD_HEADER_LEN) {
      this.fill(buf, RECORD_HEADER_LEN);
      if (this.partialLen < RECORD_HEADER_LEN) return undefined;
    }
    const length = (buf[3]! << 8) | buf[4]!;
    const total = RECORD_HEADER_LEN + length;
    if (!this.partialChecked) {
      // The header only just completed: validate it, then size the buffer to the record (once).
      const bad = checkHeader(buf[0]!, buf[1]!, length);
      if (bad) return (this.failed = bad);
      this.partialChecked = true;
      if (buf.length < total) {
        const grown = new Uint8Array(total);
        grown.set(buf.subarray(0, this.partialLen));
        this.partial = buf = grown;
      }
    }
    this.fill(buf, total);
    if (this.partialLen < total) return undefined;
    this.partial = undefined;
    this.partialLen = 0;
    return this.complete(buf);
  }

  private complete(record: Uint8Array): RecordFrame | RecordError {
    const bad = checkBody(record);
    if (bad) return (this.failed = bad);
    return frameOf(record);
  }

  /** Copies from the chunks into buf until partialLen reaches `upTo` or the chunks are exhausted. */
  private fill(buf: Uint8Array, upTo: number): void {
    while (this.partialLen < upTo) {
      const c = this.chunks[0];
      if (c === undefined) return;
      const n = Math.min(c.length, upTo - this.partialLen);
      buf.set(n === c.length ? c : c.subarray(0, n), this.partialLen);
      this.partialLen += n;
      this.takeChunkPrefix(n);
    }
  }

  private takeChunkPrefix(n: number): void {
    const c = this.chunks[0]!;
    this.chunkBytes -= n;
    if (n === c.length) this.chunks.shift();
    else this.chunks[0] = c.subarray(n);
  }
}

function frameOf(record: Uint8Array): RecordFrame {
  return {
    contentType: record[0]! as ContentType,
    legacyVersion: (record[1]! << 8) | record[2]!,
    fragment: record.subarray(RECORD_HEADER_LEN),
    header: record.subarray(0, RECORD_HEADER_LEN),
  };
}

// ───────────────────────────── plaintext records ─────────────────────────────

/**
 * RFC 8446 §5.1: a TLSPlaintext record (ClientHello/ServerHello, alerts before keys, the compatibility
 * ChangeCipherSpec). legacy_record_version "MUST be set to 0x0303 ... other than an initial ClientHello
 * ..., where it MAY also be 0x0301". `content` must fit one record: use `fragment()` first.
 */
export function plaintextRecord(type: ContentType, content: Uint8Array, legacyVersion: number = LEGACY_VERSION): Uint8Array {
  if (content.length > MAX_PLAINTEXT) throw new RangeError(`plaintext record of ${content.length} bytes: fragment first`);
  if (content.length === 0 && type !== ContentType.application_data) {
    throw new RangeError('RFC 8446 §5.1: zero-length handshake/alert/ccs fragments must not be sent');
  }
  const out = new Uint8Array(RECORD_HEADER_LEN + content.length);
  out[0] = type;
  out[1] = legacyVersion >>> 8;
  out[2] = legacyVersion & 0xff;
  out[3] = content.length >>> 8;
  out[4] = content.length & 0xff;
  out.set(content, RECORD_HEADER_LEN);
  return out;
}

/** RFC 8446 §5 / Appendix D.4: the middlebox-compatibility ChangeCipherSpec record, 14 03 03 00 01 01 (a fresh copy). */
export function changeCipherSpecRecord(): Uint8Array {
  return new Uint8Array([ContentType.change_cipher_spec, 0x03, 0x03, 0x00, 0x01, 0x01]);
}

/**
 * RFC 8446 §5.1: splits content into views of at most `max` bytes (handshake flights and application data
 * larger than a record). Empty content gives no fragments ("MUST NOT send zero-length fragments of Handshake types").
 */
export function fragment(content: Uint8Array, max: number): Uint8Array[] {
  if (!Number.isInteger(max) || max < 1) throw new RangeError(`fragment size ${max} must be a positive integer`);
  const out: Uint8Array[] = [];
  for (let at = 0; at < content.length; at += max) out.push(content.subarray(at, Math.min(at + max, content.length)));
  return out;
}

// ───────────────────────────── protection (RFC 8446 §5.2–§5.4) ─────────────────────────────

const U32 = 0x1_0000_0000;

/**
 * AEAD protection of one direction in one epoch (handshake, application_N, …). Construct a new one for
 * each key change; `nextGeneration()` gives the KeyUpdate successor (RFC 8446 §7.2).
 */
export class RecordProtection {
  private readonly aead: Aead;
  private readonly iv: Uint8Array;
  /** RFC 8446 §5.3: the 64-bit sequence number as two u32 halves (exact, no bigint per record). */
  private seqHi = 0;
  private seqLo = 0;
  /** Set once record 2^64-1 has been used: the next would wrap. */
  private exhausted = false;
  private maxContent = MAX_PLAINTEXT;

  constructor(
    private readonly provider: CryptoProvider,
    readonly suite: CipherSuite,
    private readonly hash: HashAlgorithm,
    private readonly trafficSecret: Uint8Array,
  ) {
    const { key, iv } = trafficKeys(hash, suite, trafficSecret);
    this.aead = provider.aead(suite, key);
    this.iv = iv;
  }

  /** RFC 8446 §7.2: the protection keyed by application_traffic_secret_N+1, keeping the size limit. */
  nextGeneration(): RecordProtection {
    const next = new RecordProtection(this.provider, this.suite, this.hash, nextTrafficSecret(this.hash, this.trafficSecret));
    next.maxContent = this.maxContent;
    return next;
  }

  /** The sequence number of the next record (RFC 8446 §5.3). Settable for tests of the wrap limit. */
  get sequence(): bigint {
    if (this.exhausted) return 1n << 64n;
    return (BigInt(this.seqHi) << 32n) | BigInt(this.seqLo);
  }
  set sequence(v: bigint) {
    if (v < 0n || v >= 1n << 64n) throw new RangeError(`sequence ${v} outside 0..2^64-1`);
    this.seqHi = Number(v >> 32n);
    this.seqLo = Number(v & 0xffffffffn);
    this.exhausted = false;
  }

  /**
   * The largest content per record, 1..2^14. RFC 8449 §4: set it from the peer's record_size_limit for a
   * sending direction, from our own for a receiving one — see `maxPlaintextForLimit`.
   */
  get maxPlaintext(): number {
    return this.maxContent;
  }
  set maxPlaintext(v: number) {
    if (!Number.isInteger(v) || v < 1 || v > MAX_PLAINTEXT) throw new RangeError(`maxPlaintext ${v} outside 1..2^14`);
    this.maxContent = v;
  }

  /** RFC 8446 §5.3: "the 64-bit record sequence number ... padded to the left with zeros to iv_length", XORed with the IV. */
  private nonce(): Uint8Array {
    const n = this.iv.slice();
    const hi = this.seqHi;
    const lo = this.seqLo;
    n[4] ^= hi >>> 24;
    n[5] ^= (hi >>> 16) & 0xff;
    n[6] ^= (hi >>> 8) & 0xff;
    n[7] ^= hi & 0xff;
    n[8] ^= lo >>> 24;
    n[9] ^= (lo >>> 16) & 0xff;
    n[10] ^= (lo >>> 8) & 0xff;
    n[11] ^= lo & 0xff;
    return n;
  }

  private advance(): void {
    // RFC 8446 §5.3: "Each sequence number is set to zero at the beginning of a connection and whenever the
    // key is changed ... incremented after reading or writing each record."
    if (this.seqLo === U32 - 1) {
      this.seqLo = 0;
      if (this.seqHi === U32 - 1) this.exhausted = true;
      else this.seqHi++;
    } else {
      this.seqLo++;
    }
  }

  /**
   * RFC 8446 §5.2: a whole TLSCiphertext record (opaque_type 23, legacy_record_version 0x0303, length) around
   * TLSInnerPlaintext { content, type, zeros[padding] }. `padding` is clamped so the inner plaintext stays within
   * maxPlaintext + 1 (RFC 8449 §4 counts type and padding). Throws on caller misuse: content over maxPlaintext
   * (fragment first), an invalid type, or a sequence number that would wrap (RFC 8446 §5.3: rekey first).
   */
  seal(innerType: ContentType, content: Uint8Array, padding = 0): Uint8Array {
    if (this.exhausted) throw new Error('RFC 8446 §5.3: sequence number would wrap; send KeyUpdate first');
    if (innerType === ContentType.invalid || innerType === ContentType.change_cipher_spec) {
      // RFC 8446 §5: change_cipher_spec is never protected.
      throw new RangeError(`cannot protect a record of content type ${innerType}`);
    }
    if (content.length > this.maxContent) {
      throw new RangeError(`record content of ${content.length} bytes exceeds ${this.maxContent}: fragment first`);
    }
    if (content.length === 0 && innerType !== ContentType.application_data) {
      // RFC 8446 §5.4: "Implementations MUST NOT send Handshake and Alert records that have a zero-length TLSInnerPlaintext.content".
      throw new RangeError('zero-length handshake/alert content must not be sent');
    }
    const pad = Math.max(0, Math.min(Math.floor(padding) || 0, this.maxContent - content.length));
    // TLSInnerPlaintext: content || ContentType || zeros (the one copy of the content).
    const inner = new Uint8Array(content.length + 1 + pad);
    inner.set(content);
    inner[content.length] = innerType;
    const length = inner.length + this.aead.tagLen;
    const record = new Uint8Array(RECORD_HEADER_LEN + length);
    // RFC 8446 §5.2: opaque_type = application_data(23); legacy_record_version = 0x0303; the header is the AAD:
    // additional_data = TLSCiphertext.opaque_type || TLSCiphertext.legacy_record_version || TLSCiphertext.length.
    record[0] = ContentType.application_data;
    record[1] = LEGACY_VERSION >>> 8;
    record[2] = LEGACY_VERSION & 0xff;
    record[3] = length >>> 8;
    record[4] = length & 0xff;
    const header = record.subarray(0, RECORD_HEADER_LEN);
    const sealed = this.aead.seal(this.nonce(), inner, header);
    // The Aead interface returns a new array; placing it after the header is the one further copy.
    record.set(sealed, RECORD_HEADER_LEN);
    this.advance();
    return record;
  }

  /**
   * RFC 8446 §5.2: deprotects a TLSCiphertext record. Never throws on peer input. The sequence number
   * advances only on success, so a failed trial decryption (e.g. skipping rejected 0-RTT, §4.2.10) leaves it.
   */
  open(frame: RecordFrame): { contentType: ContentType; content: Uint8Array } | RecordError {
    if (frame.contentType !== ContentType.application_data) {
      return fail('unexpected_message', `content type ${frame.contentType} where a protected record was expected`);
    }
    if (frame.header.length !== RECORD_HEADER_LEN) return fail('decode_error', 'record header is not 5 bytes');
    const ct = frame.fragment;
    // RFC 8446 §5.2: the length of encrypted_record MUST NOT exceed 2^14 + 256.
    if (ct.length > MAX_CIPHERTEXT) return fail('record_overflow', `ciphertext of ${ct.length} bytes exceeds 2^14+256`);
    // RFC 8446 §5.4: "If the length of the inner plaintext exceeds 2^14 + 1 [RFC 8449 §4: our advertised limit],
    // ... record_overflow". The inner plaintext is the ciphertext less the tag, known before decrypting.
    if (ct.length - this.aead.tagLen > this.maxContent + 1) {
      return fail('record_overflow', `inner plaintext of ${ct.length - this.aead.tagLen} bytes exceeds ${this.maxContent + 1}`);
    }
    if (this.exhausted) return fail('unexpected_message', 'peer sent 2^64 records without a KeyUpdate (RFC 8446 §5.3)');
    const inner = this.aead.open(this.nonce(), ct, frame.header);
    // RFC 8446 §5.2: "If the decryption fails, the receiver MUST terminate the connection with a "bad_record_mac" alert."
    if (inner === undefined) return fail('bad_record_mac', 'record authentication failed');
    this.advance();
    // RFC 8446 §5.4: strip the zero padding from the end; the last non-zero byte is the real content type.
    let i = inner.length - 1;
    while (i >= 0 && inner[i] === 0) i--;
    if (i < 0) {
      // RFC 8446 §5.4: "If a receiving implementation does not find a non-zero octet in the cleartext, it MUST
      // terminate the connection with an "unexpected_message" alert."
      return fail('unexpected_message', 'protected record with no content type (all zeros)');
    }
    const type = inner[i]!;
    if (type !== ContentType.handshake && type !== ContentType.alert && type !== ContentType.application_data) {
      // RFC 8446 §5: a protected change_cipher_spec or an unknown type → "unexpected_message".
      return fail('unexpected_message', `protected record of content type ${type}`);
    }
    if (i === 0 && type !== ContentType.application_data) {
      // RFC 8446 §5.4: zero-length Handshake/Alert content "MUST terminate the connection with an "unexpected_message" alert".
      return fail('unexpected_message', `zero-length protected ${type === ContentType.alert ? 'alert' : 'handshake'} record`);
    }
    return { contentType: type, content: inner.subarray(0, i) };
  }
}
