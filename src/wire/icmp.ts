// ICMP message codec (RFC 792): echo request/reply, destination unreachable, time exceeded,
// and a generic form for everything else; plus the RFC 1122/1812 rules for ICMP errors.

import { foldChecksum, onesSum } from './checksum.js';
import { err, ok, type Parsed } from './result.js';

// RFC 792 message types.
export const ICMP_ECHO_REPLY = 0;
export const ICMP_DEST_UNREACHABLE = 3;
export const ICMP_SOURCE_QUENCH = 4;
export const ICMP_REDIRECT = 5;
export const ICMP_ECHO_REQUEST = 8;
export const ICMP_TIME_EXCEEDED = 11;
export const ICMP_PARAMETER_PROBLEM = 12;

// RFC 792 Destination Unreachable codes (4 = "fragmentation needed and DF set", RFC 1191 §4).
export const UNREACH_NET = 0;
export const UNREACH_HOST = 1;
export const UNREACH_PROTOCOL = 2;
export const UNREACH_PORT = 3;
export const UNREACH_FRAG_NEEDED = 4;

/** Type, code, checksum and the 4-byte "rest of header". */
export const ICMP_HEADER_LEN = 8;

/**
 * Max bytes of the offending datagram to quote: RFC 1812 §4.3.2.3 "the ICMP datagram SHOULD
 * contain as much of the original datagram as possible without the length of the ICMP datagram
 * exceeding 576 bytes" (576 - 20 IP header - 8 ICMP header).
 */
export const ICMP_QUOTE_LIMIT = 576 - 20 - 8;

export type IcmpMessage =
  | { type: 'echo-request' | 'echo-reply'; id: number; seq: number; data: Uint8Array }
  /** quoted = the offending IP header + leading data. */
  | { type: 'dest-unreachable'; code: number; nextHopMtu: number; quoted: Uint8Array }
  | { type: 'time-exceeded'; code: number; quoted: Uint8Array }
  /** rest = the 4 bytes after the checksum. */
  | { type: 'other'; icmpType: number; code: number; rest: Uint8Array; data: Uint8Array };

export type IcmpError = 'truncated' | 'bad-checksum';

/** Parses an ICMP message (the IPv4 payload). Never throws. */
export function parseIcmp(bytes: Uint8Array, opts?: { verifyChecksum?: boolean }): Parsed<IcmpMessage, IcmpError> {
  if (bytes.length < ICMP_HEADER_LEN) return err('truncated');
  // RFC 792: "The checksum is the 16-bit ones's complement of the one's complement sum of the
  // ICMP message starting with the ICMP Type."
  if (opts?.verifyChecksum !== false && foldChecksum(onesSum(bytes, 0, bytes.length)) !== 0) {
    return err('bad-checksum');
  }
  const icmpType = bytes[0];
  const code = bytes[1];
  const body = bytes.subarray(ICMP_HEADER_LEN);
  switch (icmpType) {
    case ICMP_ECHO_REQUEST:
    case ICMP_ECHO_REPLY:
      // RFC 792 Echo: identifier and sequence number in the second word, then data. The code
      // is 0 by definition and is not kept.
      return ok({
        type: icmpType === ICMP_ECHO_REQUEST ? 'echo-request' : 'echo-reply',
        id: (bytes[4] << 8) | bytes[5],
        seq: (bytes[6] << 8) | bytes[7],
        data: body,
      });
    case ICMP_DEST_UNREACHABLE:
      // RFC 1191 §4: with code 4 the low 16 bits of the unused word carry the Next-Hop MTU.
      return ok({ type: 'dest-unreachable', code, nextHopMtu: (bytes[6] << 8) | bytes[7], quoted: body });
    case ICMP_TIME_EXCEEDED:
      return ok({ type: 'time-exceeded', code, quoted: body });
    default:
      return ok({ type: 'other', icmpType, code, rest: bytes.subarray(4, ICMP_HEADER_LEN), data: body });
  }
}

/** Bytes emitIcmp writes for `msg`. */
export function icmpLen(msg: IcmpMessage): number {
  switch (msg.type) {
    case 'echo-request':
    case 'echo-reply':
    case 'other':
      return ICMP_HEADER_LEN + msg.data.length;
    case 'dest-unreachable':
    case 'time-exceeded':
      return ICMP_HEADER_LEN + msg.quoted.length;
  }
}

/**
 * Writes `msg` at `offset`, computing the checksum; returns the bytes written. The quoted
 * datagram is written as given: trimming it to ICMP_QUOTE_LIMIT is the caller's choice.
 */
export function emitIcmp(msg: IcmpMessage, buf: Uint8Array, offset = 0): number {
  const len = icmpLen(msg);
  if (offset < 0 || offset + len > buf.length) {
    throw new RangeError(`emitIcmp: need ${len} bytes at offset ${offset}, buffer has ${buf.length}`);
  }
  if (msg.type === 'other' && msg.rest.length !== 4) {
    throw new RangeError(`emitIcmp: rest must be 4 bytes, got ${msg.rest.length}`);
  }
  const o = offset;
  // The body goes first, so a source view overlapping the header region is read before the
  // header overwrites it (and a body already in place, as in an echo reply built over its
  // request, is not copied at all).
  const body = msg.type === 'dest-unreachable' || msg.type === 'time-exceeded' ? msg.quoted : msg.data;
  copyInto(body, buf, o + ICMP_HEADER_LEN);
  switch (msg.type) {
    case 'echo-request':
    case 'echo-reply':
      buf[o] = msg.type === 'echo-request' ? ICMP_ECHO_REQUEST : ICMP_ECHO_REPLY;
      buf[o + 1] = 0;
      buf[o + 4] = msg.id >>> 8;
      buf[o + 5] = msg.id;
      buf[o + 6] = msg.seq >>> 8;
      buf[o + 7] = msg.seq;
      break;
    case 'dest-unreachable':
      buf[o] = ICMP_DEST_UNREACHABLE;
      buf[o + 1] = msg.code;
      buf[o + 4] = 0; // RFC 792: "unused"; RFC 1191 §4: low 16 bits = Next-Hop MTU
      buf[o + 5] = 0;
      buf[o + 6] = msg.nextHopMtu >>> 8;
      buf[o + 7] = msg.nextHopMtu;
      break;
    case 'time-exceeded':
      buf[o] = ICMP_TIME_EXCEEDED;
      buf[o + 1] = msg.code;
      buf.fill(0, o + 4, o + 8); // RFC 792: "unused"
      break;
    case 'other':
      buf[o] = msg.icmpType;
      buf[o + 1] = msg.code;
      buf.set(msg.rest, o + 4);
      break;
  }
  buf[o + 2] = 0; // RFC 792: "For computing the checksum, the checksum field should be zero."
  buf[o + 3] = 0;
  const checksum = foldChecksum(onesSum(buf, o, o + len));
  buf[o + 2] = checksum >>> 8;
  buf[o + 3] = checksum;
  return len;
}

/**
 * True for ICMP error types: destination unreachable, source quench, redirect, time exceeded,
 * parameter problem. RFC 1122 §3.2.2: "An ICMP error message MUST NOT be sent as the result of
 * receiving: an ICMP error message".
 */
export function isIcmpError(icmpType: number): boolean {
  return (
    icmpType === ICMP_DEST_UNREACHABLE ||
    icmpType === ICMP_SOURCE_QUENCH ||
    icmpType === ICMP_REDIRECT ||
    icmpType === ICMP_TIME_EXCEEDED ||
    icmpType === ICMP_PARAMETER_PROBLEM
  );
}

/** The numeric ICMP type of a message. */
export function icmpTypeOf(msg: IcmpMessage): number {
  switch (msg.type) {
    case 'echo-request':
      return ICMP_ECHO_REQUEST;
    case 'echo-reply':
      return ICMP_ECHO_REPLY;
    case 'dest-unreachable':
      return ICMP_DEST_UNREACHABLE;
    case 'time-exceeded':
      return ICMP_TIME_EXCEEDED;
    case 'other':
      return msg.icmpType;
  }
}

/** Copies src to buf at `at`, skipping the copy when src already is that very region (zero-copy callers). */
function copyInto(src: Uint8Array, buf: Uint8Array, at: number): void {
  if (src.buffer === buf.buffer && src.byteOffset === buf.byteOffset + at) return;
  buf.set(src, at);
}
