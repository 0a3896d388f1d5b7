// IPv4 header codec (RFC 791 §3.1): parse a datagram into a typed header with views of its
// options and payload, and emit a 20-byte header (no options) with its checksum.

import { foldChecksum, onesSum } from './checksum.js';
import { err, ok, type Parsed } from './result.js';
import { readU32, writeU32 } from './bytes.js';

// RFC 790 / IANA protocol numbers carried in the Protocol field.
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

export const IPV4_HEADER_LEN = 20;
/** RFC 791 §3.1: "Total Length is the length of the datagram ... Maximum 65,535 octets". */
export const IPV4_MAX_TOTAL_LEN = 0xffff;

// RFC 791 §3.1 Flags: bit 0 reserved (must be zero; RFC 3514's "evil bit"), bit 1 DF, bit 2 MF.
const FLAG_RESERVED = 0x8000;
const FLAG_DF = 0x4000;
const FLAG_MF = 0x2000;
const OFFSET_MASK = 0x1fff;

export interface Ipv4Header {
  /** Bytes (IHL*4), 20..60; options are skipped, not interpreted. */
  headerLength: number;
  /** The TOS byte (DSCP << 2 | ECN). */
  dscpEcn: number;
  totalLength: number;
  id: number;
  dontFragment: boolean;
  moreFragments: boolean;
  /** In BYTES (field * 8). */
  fragmentOffset: number;
  ttl: number;
  protocol: number;
  checksum: number;
  /** uint32 */
  src: number;
  /** uint32 */
  dst: number;
  /** View of bytes [20, headerLength). */
  options: Uint8Array;
  /** View of bytes [headerLength, totalLength); bytes after totalLength are link padding, ignored. */
  payload: Uint8Array;
}

export type Ipv4Error =
  | 'truncated'
  | 'bad-version'
  | 'bad-header-length'
  | 'bad-total-length'
  | 'bad-checksum'
  | 'bad-fragment';

/**
 * Parses an IPv4 datagram. Never throws: every length is checked before the field is read.
 * The header checksum (over the full header, options included) is verified unless
 * `verifyChecksum: false`.
 */
export function parseIpv4(
  bytes: Uint8Array,
  opts?: { verifyChecksum?: boolean },
): Parsed<Ipv4Header, Ipv4Error> {
  if (bytes.length < IPV4_HEADER_LEN) return err('truncated');
  const b0 = bytes[0];
  // RFC 791 §3.1: "Version: 4 bits ... this document describes version 4."
  if (b0 >>> 4 !== 4) return err('bad-version');
  // RFC 791 §3.1: "IHL ... the minimum value for a correct header is 5." (32-bit words)
  const ihl = b0 & 0x0f;
  if (ihl < 5) return err('bad-header-length');
  const headerLength = ihl * 4;
  if (headerLength > bytes.length) return err('bad-header-length');
  // RFC 791 §3.1: "Total Length is the length of the datagram, measured in octets,
  // including internet header and data."
  const totalLength = (bytes[2] << 8) | bytes[3];
  if (totalLength < headerLength) return err('bad-total-length');
  if (totalLength > bytes.length) return err('truncated');
  // RFC 791 §3.1: "The checksum field is the 16 bit one's complement of the one's complement
  // sum of all 16 bit words in the header." A correct header sums (with the field) to 0xffff.
  if (opts?.verifyChecksum !== false && foldChecksum(onesSum(bytes, 0, headerLength)) !== 0) {
    return err('bad-checksum');
  }
  const flagsOffset = (bytes[6] << 8) | bytes[7];
  // RFC 791 §3.1: "Bit 0: reserved, must be zero".
  if ((flagsOffset & FLAG_RESERVED) !== 0) return err('bad-fragment');
  // RFC 791 §3.1: "The fragment offset is measured in units of 8 octets".
  const fragmentOffset = (flagsOffset & OFFSET_MASK) * 8;
  // A fragment reaching past the largest possible datagram could never be reassembled
  // (the "ping of death"); reject it here so no layer above has to think about it.
  if (fragmentOffset + (totalLength - headerLength) > IPV4_MAX_TOTAL_LEN) return err('bad-fragment');
  return ok({
    headerLength,
    dscpEcn: bytes[1],
    totalLength,
    id: (bytes[4] << 8) | bytes[5],
    dontFragment: (flagsOffset & FLAG_DF) !== 0,
    moreFragments: (flagsOffset & FLAG_MF) !== 0,
    fragmentOffset,
    ttl: bytes[8],
    protocol: bytes[9],
    checksum: (bytes[10] << 8) | bytes[11],
    src: readU32(bytes, 12),
    dst: readU32(bytes, 16),
    options: bytes.subarray(IPV4_HEADER_LEN, headerLength),
    payload: bytes.subarray(headerLength, totalLength),
  });
}

export interface Ipv4Repr {
  src: number;
  dst: number;
  protocol: number;
  payloadLength: number;
  /** Default 64 (RFC 1700 / Linux ip_default_ttl). */
  ttl?: number;
  /** Default 0. */
  id?: number;
  dscpEcn?: number;
  /** Default true. */
  dontFragment?: boolean;
  moreFragments?: boolean;
  /** Bytes, a multiple of 8. */
  fragmentOffset?: number;
}

/**
 * Writes a 20-byte IPv4 header (no options) at `offset`, checksum included; returns 20.
 * Throws RangeError on caller mistakes (small buffer, oversized datagram, bad field values).
 */
export function emitIpv4Header(repr: Ipv4Repr, buf: Uint8Array, offset = 0): number {
  if (offset < 0 || offset + IPV4_HEADER_LEN > buf.length) {
    throw new RangeError(`emitIpv4Header: need ${IPV4_HEADER_LEN} bytes at offset ${offset}, buffer has ${buf.length}`);
  }
  const totalLength = IPV4_HEADER_LEN + repr.payloadLength;
  if (!Number.isInteger(repr.payloadLength) || repr.payloadLength < 0 || totalLength > IPV4_MAX_TOTAL_LEN) {
    throw new RangeError(`emitIpv4Header: payload length ${repr.payloadLength} does not fit a datagram`);
  }
  const fragmentOffset = repr.fragmentOffset ?? 0;
  // RFC 791 §3.1: the offset field counts 8-octet units in 13 bits.
  if (fragmentOffset < 0 || fragmentOffset % 8 !== 0 || fragmentOffset / 8 > OFFSET_MASK) {
    throw new RangeError(`emitIpv4Header: fragment offset ${fragmentOffset} is not a multiple of 8 below 65536`);
  }
  const ttl = repr.ttl ?? 64;
  if (ttl < 0 || ttl > 0xff) throw new RangeError(`emitIpv4Header: ttl ${ttl} out of range`);
  const id = repr.id ?? 0;
  let flagsOffset = fragmentOffset / 8;
  if (repr.dontFragment ?? true) flagsOffset |= FLAG_DF;
  if (repr.moreFragments === true) flagsOffset |= FLAG_MF;
  const o = offset;
  buf[o] = 0x45; // RFC 791 §3.1: version 4, IHL 5 (no options)
  buf[o + 1] = repr.dscpEcn ?? 0;
  buf[o + 2] = totalLength >>> 8;
  buf[o + 3] = totalLength;
  buf[o + 4] = id >>> 8;
  buf[o + 5] = id;
  buf[o + 6] = flagsOffset >>> 8;
  buf[o + 7] = flagsOffset;
  buf[o + 8] = ttl;
  buf[o + 9] = repr.protocol;
  buf[o + 10] = 0; // RFC 791 §3.1: "For purposes of computing the checksum, the value of the
  buf[o + 11] = 0; // checksum field is zero."
  writeU32(buf, o + 12, repr.src);
  writeU32(buf, o + 16, repr.dst);
  const checksum = foldChecksum(onesSum(buf, o, o + IPV4_HEADER_LEN));
  buf[o + 10] = checksum >>> 8;
  buf[o + 11] = checksum;
  return IPV4_HEADER_LEN;
}

/** The repr that re-emits a parsed header (options, which emitIpv4Header never writes, are dropped). */
export function ipv4ReprOf(h: Ipv4Header): Ipv4Repr {
  return {
    src: h.src,
    dst: h.dst,
    protocol: h.protocol,
    payloadLength: h.payload.length,
    ttl: h.ttl,
    id: h.id,
    dscpEcn: h.dscpEcn,
    dontFragment: h.dontFragment,
    moreFragments: h.moreFragments,
    fragmentOffset: h.fragmentOffset,
  };
}
