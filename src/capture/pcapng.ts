// pcapng encoder: pure functions that lay out Section Header, Interface Description, Enhanced Packet
// and Decryption Secrets blocks as little-endian bytes (draft-ietf-opsawg-pcapng). No I/O, no clock.

/** LINKTYPE_RAW: the packet begins with an IPv4 or IPv6 header, no link-layer header. */
export const LINKTYPE_RAW = 101;

/** Block Type codes (pcapng §3.2 Block Types and the Block Type Codes registry). */
export const BlockType = {
  SectionHeader: 0x0a0d0d0a,
  InterfaceDescription: 0x00000001,
  SimplePacket: 0x00000003,
  NameResolution: 0x00000004,
  InterfaceStatistics: 0x00000005,
  EnhancedPacket: 0x00000006,
  DecryptionSecrets: 0x0000000a,
} as const;

/** Option codes used here (pcapng §3.5 Options, §4.1, §4.2, §4.3). Codes are per block type. */
export const OptionCode = {
  endOfOpt: 0,
  comment: 1,
  shbHardware: 2,
  shbOs: 3,
  shbUserAppl: 4,
  ifName: 2,
  ifDescription: 3,
  ifTsresol: 9,
  ifTsoffset: 14,
  epbFlags: 2,
} as const;

/** "an unsigned magic number, whose value is the hexadecimal number 0x1A2B3C4D" (pcapng §4.1). */
export const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
/** Secrets Type "0x544c534b: TLS Key Log" (pcapng §4.7). */
export const SECRETS_TYPE_TLS_KEY_LOG = 0x544c534b;
/** if_tsresol value: "the remaining bits indicates the resolution ... as a negative power of 10" → 10^-9 s. */
export const TSRESOL_NANOSECONDS = 9;
/** Default SnapLen, as dumpcap writes it; any IPv4 packet (≤ 65535 bytes) fits whole. */
export const DEFAULT_SNAPLEN = 262144;
/** Largest Option Length: the field is 16 bits (pcapng §3.5). */
export const MAX_OPTION_LENGTH = 0xffff;

/** Direction of a packet as seen from the stack: received from the link, or sent to it. */
export type Direction = 'inbound' | 'outbound';

/** epb_flags bits 0-1: "Inbound / Outbound packet (00 = information not available, 01 = inbound, 10 = outbound)" (§4.3.1). */
export const EPB_FLAGS_INBOUND = 0b01;
export const EPB_FLAGS_OUTBOUND = 0b10;

export interface SectionHeaderOptions {
  /** shb_hardware: "description of the hardware used to create this section". */
  hardware?: string;
  /** shb_os: "name of the operating system used to create this section". */
  os?: string;
  /** shb_userappl: "name of the application used to create this section". */
  application?: string;
  /** opt_comment. */
  comment?: string;
}

export interface InterfaceDescriptionOptions {
  /** Default LINKTYPE_RAW (101). */
  linkType?: number;
  /** Default DEFAULT_SNAPLEN; 0 means "no limit" (§4.2). */
  snapLen?: number;
  /** if_name. */
  name?: string;
  /** if_description. */
  description?: string;
  /** opt_comment. */
  comment?: string;
}

export interface EnhancedPacket {
  /** Index of the IDB in this section; default 0. */
  interfaceId?: number;
  /** Nanoseconds since 1970-01-01 00:00:00 UTC (the IDB says if_tsresol = 9). */
  timestampNs: bigint;
  /** The captured bytes (already cut to the snap length by the caller, if at all). */
  packet: Uint8Array;
  /** Length on the wire; default packet.length. Must be >= packet.length. */
  originalLength?: number;
  /** Written as epb_flags when given. */
  direction?: Direction;
  /** Written as opt_comment (UTF-8) when given and non-empty. */
  comment?: string;
  /**
   * More opt_comment options after `comment`, one each (empty strings skipped): "The opt_comment
   * option can be repeated" (pcapng §3.5). tshark lists each as a frame.comment.
   */
  comments?: readonly string[];
}

// ---------------------------------------------------------------------------------------------
// Little-endian stores and small helpers. Written byte by byte so the hot path allocates nothing.

function putU16(buf: Uint8Array, off: number, v: number): void {
  buf[off] = v & 0xff;
  buf[off + 1] = (v >>> 8) & 0xff;
}

function putU32(buf: Uint8Array, off: number, v: number): void {
  buf[off] = v & 0xff;
  buf[off + 1] = (v >>> 8) & 0xff;
  buf[off + 2] = (v >>> 16) & 0xff;
  buf[off + 3] = (v >>> 24) & 0xff;
}

/** Rounds n (0 <= n < 2^31) up to a multiple of 4: "padded to 32 bits" (§3.1). */
export function pad4(n: number): number {
  return (n + 3) & ~3;
}

/** Zeroes [from, to): "The alignment octets ... MUST be filled with zeroes" (§3.6.2). Buffers may be reused. */
function zero(buf: Uint8Array, from: number, to: number): void {
  for (let i = from; i < to; i++) buf[i] = 0;
}

function checkU32(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new RangeError(`pcapng: ${what} must be an integer in 0..2^32-1, got ${value}`);
  }
}

/** Number of bytes TextEncoder produces for s (lone surrogates become U+FFFD, 3 bytes), without allocating. */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

const textEncoder = new TextEncoder();

function checkOptionLength(len: number, what: string): void {
  if (len > MAX_OPTION_LENGTH) {
    throw new RangeError(`pcapng: ${what} is ${len} bytes; an option value holds at most ${MAX_OPTION_LENGTH}`);
  }
}

/** A generic option for the cold-path blocks (SHB, IDB): code plus value bytes. */
interface Opt {
  code: number;
  value: Uint8Array;
}

function stringOpt(code: number, s: string | undefined, what: string, out: Opt[]): void {
  if (s === undefined || s.length === 0) return;
  const value = textEncoder.encode(s);
  checkOptionLength(value.length, what);
  out.push({ code, value });
}

/** Bytes taken by an option list: each option is 4 + value padded to 32 bits, then opt_endofopt. */
function optsLen(opts: readonly Opt[]): number {
  if (opts.length === 0) return 0;
  let n = 4; // opt_endofopt
  for (const o of opts) n += 4 + pad4(o.value.length);
  return n;
}

/**
 * pcapng §3.5 Options: "Option Code (16 bits) | Option Length (16 bits) | Option Value, padded to a
 * 32-bit boundary" ... "Code that writes pcapng files MUST put an opt_endofopt option at the end of
 * an option list." An empty list is omitted entirely.
 */
function writeOpts(buf: Uint8Array, off: number, opts: readonly Opt[]): number {
  if (opts.length === 0) return off;
  for (const o of opts) {
    putU16(buf, off, o.code);
    putU16(buf, off + 2, o.value.length);
    buf.set(o.value, off + 4);
    const end = off + 4 + pad4(o.value.length);
    zero(buf, off + 4 + o.value.length, end);
    off = end;
  }
  putU32(buf, off, 0); // opt_endofopt: code 0, length 0
  return off + 4;
}

/** pcapng §3.1 General Block Structure: Block Type, Block Total Length, body, Block Total Length. */
function block(type: number, body: number, fill: (buf: Uint8Array, bodyOffset: number) => void): Uint8Array {
  const total = 12 + body;
  const buf = new Uint8Array(total);
  putU32(buf, 0, type);
  putU32(buf, 4, total);
  fill(buf, 8);
  putU32(buf, total - 4, total); // "This field is duplicated to permit backward file navigation."
  return buf;
}

// ---------------------------------------------------------------------------------------------

/**
 * pcapng §4.1 Section Header Block: Byte-Order Magic 0x1A2B3C4D, Major Version 1, Minor Version 0,
 * Section Length -1 ("the size of the section is not specified"; we stream, so we never know it),
 * options shb_hardware (2), shb_os (3), shb_userappl (4), opt_comment (1).
 */
export function encodeSectionHeader(opts: SectionHeaderOptions = {}): Uint8Array {
  const list: Opt[] = [];
  stringOpt(OptionCode.comment, opts.comment, 'opt_comment', list);
  stringOpt(OptionCode.shbHardware, opts.hardware, 'shb_hardware', list);
  stringOpt(OptionCode.shbOs, opts.os, 'shb_os', list);
  stringOpt(OptionCode.shbUserAppl, opts.application, 'shb_userappl', list);
  return block(BlockType.SectionHeader, 16 + optsLen(list), (buf, o) => {
    putU32(buf, o, BYTE_ORDER_MAGIC);
    putU16(buf, o + 4, 1); // Major Version
    putU16(buf, o + 6, 0); // Minor Version
    putU32(buf, o + 8, 0xffffffff); // Section Length = -1 (64-bit, both halves all ones)
    putU32(buf, o + 12, 0xffffffff);
    writeOpts(buf, o + 16, list);
  });
}

/**
 * pcapng §4.2 Interface Description Block: LinkType (16 bits), Reserved (16 bits, zero), SnapLen
 * (32 bits), options if_name (2), if_description (3), opt_comment (1) and always if_tsresol (9) = 9:
 * our EPB timestamps are nanoseconds. The first IDB of a section is interface 0, the next 1, and so on.
 */
export function encodeInterfaceDescription(opts: InterfaceDescriptionOptions = {}): Uint8Array {
  const linkType = opts.linkType ?? LINKTYPE_RAW;
  const snapLen = opts.snapLen ?? DEFAULT_SNAPLEN;
  if (!Number.isInteger(linkType) || linkType < 0 || linkType > 0xffff) {
    throw new RangeError(`pcapng: linkType must be an integer in 0..65535, got ${linkType}`);
  }
  checkU32(snapLen, 'snapLen');
  const list: Opt[] = [];
  stringOpt(OptionCode.comment, opts.comment, 'opt_comment', list);
  stringOpt(OptionCode.ifName, opts.name, 'if_name', list);
  stringOpt(OptionCode.ifDescription, opts.description, 'if_description', list);
  // if_tsresol: "If the Most Significant Bit is equal to zero, the remaining bits indicates the
  // resolution of the timestamp as a negative power of 10" — 9 means nanoseconds.
  list.push({ code: OptionCode.ifTsresol, value: Uint8Array.of(TSRESOL_NANOSECONDS) });
  return block(BlockType.InterfaceDescription, 8 + optsLen(list), (buf, o) => {
    putU16(buf, o, linkType);
    putU16(buf, o + 2, 0); // Reserved: "not used - MUST be filled with 0"
    putU32(buf, o + 4, snapLen);
    writeOpts(buf, o + 8, list);
  });
}

const TWO_64 = 1n << 64n;

function epbOptionsLen(p: EnhancedPacket, commentBytes: number): number {
  let n = 0;
  if (p.direction !== undefined) n += 8; // epb_flags: 4 header + 4 value
  if (commentBytes > 0) n += 4 + pad4(commentBytes);
  if (p.comments !== undefined) {
    for (const c of p.comments) {
      const len = utf8Length(c);
      if (len > 0) n += 4 + pad4(len);
    }
  }
  return n === 0 ? 0 : n + 4; // + opt_endofopt
}

/** Total bytes encodeEnhancedPacketInto will write for p (a multiple of 4). */
export function enhancedPacketLen(p: EnhancedPacket): number {
  const commentBytes = p.comment === undefined ? 0 : utf8Length(p.comment);
  return 32 + pad4(p.packet.length) + epbOptionsLen(p, commentBytes);
}

/** Writes one opt_comment option ("a UTF-8 string ... not zero-terminated") at o; returns the offset past it. */
function putComment(buf: Uint8Array, o: number, text: string, bytes: number): number {
  putU16(buf, o, OptionCode.comment);
  putU16(buf, o + 2, bytes);
  const { written } = textEncoder.encodeInto(text, buf.subarray(o + 4, o + 4 + bytes));
  if (written !== bytes) throw new Error('pcapng: UTF-8 length mismatch (bug)');
  zero(buf, o + 4 + bytes, o + 4 + pad4(bytes));
  return o + 4 + pad4(bytes);
}

/**
 * pcapng §4.3 Enhanced Packet Block, written into buf at offset; returns the offset just past it.
 * Layout: Interface ID, Timestamp (High), Timestamp (Low), Captured Packet Length, Original Packet
 * Length, Packet Data padded to 32 bits, options epb_flags (2) then opt_comment (1), Block Total Length.
 * Throws RangeError on caller misuse (bad interface id, timestamp outside 0..2^64-1, short buffer).
 */
export function encodeEnhancedPacketInto(p: EnhancedPacket, buf: Uint8Array, offset: number): number {
  const interfaceId = p.interfaceId ?? 0;
  const capLen = p.packet.length;
  const origLen = p.originalLength ?? capLen;
  checkU32(interfaceId, 'interfaceId');
  checkU32(origLen, 'originalLength');
  if (origLen < capLen) {
    throw new RangeError(`pcapng: originalLength ${origLen} is less than the captured length ${capLen}`);
  }
  const ts = p.timestampNs;
  if (ts < 0n || ts >= TWO_64) throw new RangeError(`pcapng: timestampNs ${ts} does not fit in 64 bits`);
  const commentBytes = p.comment === undefined ? 0 : utf8Length(p.comment);
  checkOptionLength(commentBytes, 'opt_comment');
  if (p.comments !== undefined) for (const c of p.comments) checkOptionLength(utf8Length(c), 'opt_comment');
  const total = 32 + pad4(capLen) + epbOptionsLen(p, commentBytes);
  if (!Number.isInteger(offset) || offset < 0 || buf.length - offset < total) {
    throw new RangeError(`pcapng: ${total} bytes do not fit in the buffer at offset ${offset}`);
  }

  let o = offset;
  putU32(buf, o, BlockType.EnhancedPacket);
  putU32(buf, o + 4, total);
  putU32(buf, o + 8, interfaceId);
  // "Timestamp (High) and Timestamp (Low): upper 32 bits and lower 32 bits of a 64-bit timestamp"
  // in units of if_tsresol (10^-9 s here) since 1970-01-01 00:00:00 UTC.
  putU32(buf, o + 12, Number(ts >> 32n));
  putU32(buf, o + 16, Number(ts & 0xffffffffn));
  putU32(buf, o + 20, capLen);
  putU32(buf, o + 24, origLen);
  buf.set(p.packet, o + 28);
  o += 28 + capLen;
  const dataEnd = offset + 28 + pad4(capLen);
  zero(buf, o, dataEnd);
  o = dataEnd;

  const optionsLen = epbOptionsLen(p, commentBytes);
  if (optionsLen > 0) {
    if (p.direction !== undefined) {
      // §4.3.1 Flags Word, bits 0-1: 01 = inbound, 10 = outbound; all other bits zero.
      putU16(buf, o, OptionCode.epbFlags);
      putU16(buf, o + 2, 4);
      putU32(buf, o + 4, p.direction === 'inbound' ? EPB_FLAGS_INBOUND : EPB_FLAGS_OUTBOUND);
      o += 8;
    }
    if (commentBytes > 0 && p.comment !== undefined) o = putComment(buf, o, p.comment, commentBytes);
    if (p.comments !== undefined) {
      for (const c of p.comments) {
        const len = utf8Length(c);
        if (len > 0) o = putComment(buf, o, c, len);
      }
    }
    putU32(buf, o, 0); // opt_endofopt
    o += 4;
  }
  putU32(buf, o, total);
  return o + 4;
}

/** One Enhanced Packet Block in a fresh buffer. */
export function encodeEnhancedPacket(p: EnhancedPacket): Uint8Array {
  const buf = new Uint8Array(enhancedPacketLen(p));
  encodeEnhancedPacketInto(p, buf, 0);
  return buf;
}

/** Several Enhanced Packet Blocks back to back in one fresh buffer. */
export function encodeEnhancedPackets(packets: readonly EnhancedPacket[]): Uint8Array {
  let total = 0;
  for (const p of packets) total += enhancedPacketLen(p);
  const buf = new Uint8Array(total);
  let off = 0;
  for (const p of packets) off = encodeEnhancedPacketInto(p, buf, off);
  return buf;
}

/**
 * pcapng §4.7 Decryption Secrets Block: Secrets Type, Secrets Length (without padding), Secrets
 * Data padded to 32 bits; no options. The default type is 0x544c534b, TLS Key Log (NSS key log
 * lines such as "CLIENT_HANDSHAKE_TRAFFIC_SECRET <client random hex> <secret hex>").
 * For a string, a missing final '\n' is added: "Every line MUST be properly terminated with either
 * carriage return and linefeed ('\r\n') or linefeed ('\n')."
 */
export function encodeDecryptionSecrets(
  keyLog: string | Uint8Array,
  secretsType: number = SECRETS_TYPE_TLS_KEY_LOG,
): Uint8Array {
  checkU32(secretsType, 'secretsType');
  let data: Uint8Array;
  if (typeof keyLog === 'string') {
    data = textEncoder.encode(keyLog.length > 0 && !keyLog.endsWith('\n') ? keyLog + '\n' : keyLog);
  } else data = keyLog;
  return block(BlockType.DecryptionSecrets, 8 + pad4(data.length), (buf, o) => {
    putU32(buf, o, secretsType);
    putU32(buf, o + 4, data.length);
    buf.set(data, o + 8); // padding is already zero in the fresh buffer
  });
}
