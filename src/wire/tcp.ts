// TCP segment codec (RFC 9293 §3.1): parse a segment into a typed record with a payload view,
// emit one with options and checksum, plus SEG.LEN and a flag printer for traces.

import { foldChecksum, onesSum, pseudoHeaderSum } from './checksum.js';
import { err, ok, type Parsed } from './result.js';
import {
  emitTcpOptions,
  parseTcpOptions,
  tcpOptionsLen,
  TCP_MAX_OPTIONS_LEN,
  type TcpOptions,
} from './tcp-options.js';

export {
  TCP_MAX_OPTIONS_LEN,
  TCPOPT_EOL,
  TCPOPT_MSS,
  TCPOPT_NOP,
  TCPOPT_SACK,
  TCPOPT_SACK_PERMITTED,
  TCPOPT_TIMESTAMPS,
  TCPOPT_WINDOW_SCALE,
  parseTcpOptions,
  tcpOptionsLen,
  type TcpOptions,
} from './tcp-options.js';
import { readU32, writeU32 } from './bytes.js';

// RFC 9293 §3.1 control bits (with RFC 3168 ECE/CWR), in the byte at offset 13.
export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_URG = 0x20;
export const TCP_ECE = 0x40;
export const TCP_CWR = 0x80;

export const TCP_HEADER_LEN = 20;
const IPPROTO_TCP = 6;

export interface TcpSegment {
  srcPort: number;
  dstPort: number;
  /** uint32 */
  seq: number;
  /** uint32 */
  ack: number;
  /** Data offset in bytes. */
  headerLength: number;
  /** The 8 flag bits (CWR..FIN). */
  flags: number;
  window: number;
  checksum: number;
  urgentPointer: number;
  options: TcpOptions;
  /** View of the data after the header. */
  payload: Uint8Array;
}

export type TcpError = 'truncated' | 'bad-data-offset' | 'bad-checksum' | 'bad-option' | 'bad-flags';

/**
 * Parses a TCP segment (the whole IPv4 payload; `src`/`dst` are the IPv4 addresses for the
 * pseudo-header). Never throws: lengths are checked before fields are read.
 */
export function parseTcp(
  bytes: Uint8Array,
  src: number,
  dst: number,
  opts?: { verifyChecksum?: boolean },
): Parsed<TcpSegment, TcpError> {
  if (bytes.length < TCP_HEADER_LEN) return err('truncated');
  // RFC 9293 §3.1: "Data Offset (DOffset): 4 bits. The number of 32-bit words in the TCP
  // header." The fixed header alone is 5 words; the header cannot run past the segment.
  const dataOffset = bytes[12] >>> 4;
  const headerLength = dataOffset * 4;
  if (dataOffset < 5 || headerLength > bytes.length) return err('bad-data-offset');
  // RFC 9293 §3.1: "The checksum field is the 16-bit ones' complement of the ones' complement
  // sum of all 16-bit words in the header and text", over the pseudo-header too (MUST-2/3).
  if (opts?.verifyChecksum !== false) {
    const acc = onesSum(bytes, 0, bytes.length, pseudoHeaderSum(src, dst, IPPROTO_TCP, bytes.length));
    if (foldChecksum(acc) !== 0) return err('bad-checksum');
  }
  // The low 4 bits of byte 12 are reserved (RFC 9293 §3.1) and ignored.
  const flags = bytes[13];
  // SYN+RST and SYN+FIN are impossible combinations: a SYN opens, RST/FIN close. Deviation:
  // RFC 9293 has no rule against them as such; Linux discards them in LISTEN
  // (tcp_rcv_state_process) and we reject them everywhere (DESIGN rule 5).
  if ((flags & TCP_SYN) !== 0 && (flags & (TCP_RST | TCP_FIN)) !== 0) return err('bad-flags');
  const options =
    headerLength === TCP_HEADER_LEN ? {} : parseTcpOptions(bytes, TCP_HEADER_LEN, headerLength);
  if (options === undefined) return err('bad-option');
  return ok({
    srcPort: (bytes[0] << 8) | bytes[1],
    dstPort: (bytes[2] << 8) | bytes[3],
    seq: readU32(bytes, 4),
    ack: readU32(bytes, 8),
    headerLength,
    flags,
    window: (bytes[14] << 8) | bytes[15],
    checksum: (bytes[16] << 8) | bytes[17],
    urgentPointer: (bytes[18] << 8) | bytes[19],
    options,
    payload: bytes.subarray(headerLength),
  });
}

export interface TcpRepr {
  /** Not on the wire: a super-segment to be cut into segments of this many data octets (TSO). */
  gsoSize?: number;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  urgentPointer?: number;
  options?: TcpOptions;
  payload?: Uint8Array;
}

/** Header + options + payload, in bytes. */
export function tcpLen(repr: TcpRepr): number {
  return TCP_HEADER_LEN + tcpOptionsLen(repr.options) + (repr.payload?.length ?? 0);
}

/**
 * Writes a segment at `offset`, options and checksum included; returns the bytes written.
 * A payload that already sits at its place in `buf` is not copied. Throws RangeError on caller
 * mistakes (options over 40 bytes, small buffer, field out of range).
 * `checksum: false` leaves the checksum field zero, for a TSO super-segment whose checksum the link
 * (the kernel, per segment) computes: summing 64 KB that nobody reads is the send path's largest cost.
 */
export function emitTcp(repr: TcpRepr, src: number, dst: number, buf: Uint8Array, offset = 0, opts?: { checksum?: boolean }): number {
  const optionsLen = tcpOptionsLen(repr.options);
  if (optionsLen > TCP_MAX_OPTIONS_LEN) {
    throw new RangeError(`emitTcp: options need ${optionsLen} bytes, at most ${TCP_MAX_OPTIONS_LEN} fit`);
  }
  const headerLength = TCP_HEADER_LEN + optionsLen;
  const payload = repr.payload;
  const len = headerLength + (payload?.length ?? 0);
  if (offset < 0 || offset + len > buf.length) {
    throw new RangeError(`emitTcp: need ${len} bytes at offset ${offset}, buffer has ${buf.length}`);
  }
  if (repr.window < 0 || repr.window > 0xffff) {
    throw new RangeError(`emitTcp: window ${repr.window} does not fit 16 bits (scale it first)`);
  }
  if (repr.flags < 0 || repr.flags > 0xff) throw new RangeError(`emitTcp: flags ${repr.flags} out of range`);
  const o = offset;
  // The payload goes first, so a source view overlapping the header region is read before
  // the header overwrites it.
  if (payload !== undefined && payload.length > 0) {
    const at = o + headerLength;
    if (!(payload.buffer === buf.buffer && payload.byteOffset === buf.byteOffset + at)) buf.set(payload, at);
  }
  emitTcpOptions(repr.options, buf, o + TCP_HEADER_LEN);
  const urgentPointer = repr.urgentPointer ?? 0;
  buf[o] = repr.srcPort >>> 8;
  buf[o + 1] = repr.srcPort;
  buf[o + 2] = repr.dstPort >>> 8;
  buf[o + 3] = repr.dstPort;
  writeU32(buf, o + 4, repr.seq);
  writeU32(buf, o + 8, repr.ack);
  buf[o + 12] = (headerLength / 4) << 4; // RFC 9293 §3.1: Data Offset in words; reserved bits zero
  buf[o + 13] = repr.flags;
  buf[o + 14] = repr.window >>> 8;
  buf[o + 15] = repr.window;
  buf[o + 16] = 0; // checksum computed below over a zeroed field (RFC 9293 §3.1)
  buf[o + 17] = 0;
  buf[o + 18] = urgentPointer >>> 8;
  buf[o + 19] = urgentPointer;
  // RFC 9293 §3.1: the pseudo-header carries "the TCP header length plus the data length in
  // octets ... it does not count the 12 octets of the pseudo-header".
  if (opts?.checksum === false) return len;
  const checksum = foldChecksum(onesSum(buf, o, o + len, pseudoHeaderSum(src, dst, IPPROTO_TCP, len)));
  buf[o + 16] = checksum >>> 8;
  buf[o + 17] = checksum;
  return len;
}

/**
 * Fills in the TCP checksum of a whole IPv4/TCP packet in place (RFC 9293 §3.1), e.g. for a super-segment
 * emitted without one. Returns false, changing nothing, when the packet is not IPv4/TCP with a sound header.
 */
export function fillTcpChecksum(packet: Uint8Array): boolean {
  if (packet.length < 40 || packet[0]! >> 4 !== 4 || packet[9] !== IPPROTO_TCP) return false;
  const ihl = (packet[0]! & 0x0f) * 4;
  if (ihl < 20 || packet.length < ihl + TCP_HEADER_LEN) return false;
  const src = readU32(packet, 12);
  const dst = readU32(packet, 16);
  const len = packet.length - ihl;
  packet[ihl + 16] = 0;
  packet[ihl + 17] = 0;
  const checksum = foldChecksum(onesSum(packet, ihl, packet.length, pseudoHeaderSum(src, dst, IPPROTO_TCP, len)));
  packet[ihl + 16] = checksum >>> 8;
  packet[ihl + 17] = checksum;
  return true;
}

/** The repr that re-emits a parsed segment. */
export function tcpReprOf(seg: TcpSegment): TcpRepr {
  return {
    srcPort: seg.srcPort,
    dstPort: seg.dstPort,
    seq: seg.seq,
    ack: seg.ack,
    flags: seg.flags,
    window: seg.window,
    urgentPointer: seg.urgentPointer,
    options: seg.options,
    payload: seg.payload,
  };
}

/**
 * SEG.LEN (RFC 9293 §3.4): "the number of octets occupied by the data in the segment (counting
 * SYN and FIN)".
 */
export function segmentLength(seg: { flags: number; payload: Uint8Array }): number {
  return seg.payload.length + (seg.flags & TCP_SYN ? 1 : 0) + (seg.flags & TCP_FIN ? 1 : 0);
}

const FLAG_NAMES: ReadonlyArray<readonly [number, string]> = [
  [TCP_SYN, 'SYN'],
  [TCP_FIN, 'FIN'],
  [TCP_RST, 'RST'],
  [TCP_PSH, 'PSH'],
  [TCP_ACK, 'ACK'],
  [TCP_URG, 'URG'],
  [TCP_ECE, 'ECE'],
  [TCP_CWR, 'CWR'],
];

/** The set flags as e.g. "SYN,ACK" (SYN/FIN/RST first, as tcpdump orders them); "none" if none. */
export function describeFlags(flags: number): string {
  let out = '';
  for (const [bit, name] of FLAG_NAMES) {
    if ((flags & bit) !== 0) out = out === '' ? name : `${out},${name}`;
  }
  return out === '' ? 'none' : out;
}
