// UDP datagram codec (RFC 768): 8-byte header, payload view, checksum over the IPv4
// pseudo-header (a transmitted checksum of 0 means "no checksum").

import { foldChecksum, onesSum, pseudoHeaderSum } from './checksum.js';
import { err, ok, type Parsed } from './result.js';

export const UDP_HEADER_LEN = 8;
const IPPROTO_UDP = 17;

export interface UdpDatagram {
  srcPort: number;
  dstPort: number;
  length: number;
  checksum: number;
  /** View of bytes [8, length). */
  payload: Uint8Array;
}

export type UdpError = 'truncated' | 'bad-length' | 'bad-checksum';

/**
 * Parses a UDP datagram (the IPv4 payload; `src`/`dst` are the IPv4 addresses for the
 * pseudo-header). Bytes past the Length field are ignored. Never throws.
 */
export function parseUdp(
  bytes: Uint8Array,
  src: number,
  dst: number,
  opts?: { verifyChecksum?: boolean },
): Parsed<UdpDatagram, UdpError> {
  if (bytes.length < UDP_HEADER_LEN) return err('truncated');
  // RFC 768: "Length is the length in octets of this user datagram including this header and
  // the data. (This means the minimum value of the length is eight.)"
  const length = (bytes[4] << 8) | bytes[5];
  if (length < UDP_HEADER_LEN || length > bytes.length) return err('bad-length');
  const checksum = (bytes[6] << 8) | bytes[7];
  // RFC 768: "An all zero transmitted checksum value means that the transmitter generated no
  // checksum"; otherwise it covers the pseudo-header, the UDP header and the data.
  if (checksum !== 0 && opts?.verifyChecksum !== false) {
    const acc = onesSum(bytes, 0, length, pseudoHeaderSum(src, dst, IPPROTO_UDP, length));
    if (foldChecksum(acc) !== 0) return err('bad-checksum');
  }
  return ok({
    srcPort: (bytes[0] << 8) | bytes[1],
    dstPort: (bytes[2] << 8) | bytes[3],
    length,
    checksum,
    payload: bytes.subarray(UDP_HEADER_LEN, length),
  });
}

/** Bytes emitUdp writes for a payload of this size. */
export function udpLen(repr: { payload: Uint8Array }): number {
  return UDP_HEADER_LEN + repr.payload.length;
}

/**
 * Writes a UDP datagram at `offset`, checksum included; returns the bytes written.
 * Throws RangeError on caller mistakes (small buffer, datagram over 65535 bytes).
 */
export function emitUdp(
  repr: { srcPort: number; dstPort: number; payload: Uint8Array },
  src: number,
  dst: number,
  buf: Uint8Array,
  offset = 0,
): number {
  const length = UDP_HEADER_LEN + repr.payload.length;
  if (length > 0xffff) throw new RangeError(`emitUdp: datagram of ${length} bytes exceeds 65535`);
  if (offset < 0 || offset + length > buf.length) {
    throw new RangeError(`emitUdp: need ${length} bytes at offset ${offset}, buffer has ${buf.length}`);
  }
  const o = offset;
  // Payload first, so a source view overlapping the header region is read before it is overwritten.
  const p = repr.payload;
  if (!(p.buffer === buf.buffer && p.byteOffset === buf.byteOffset + o + UDP_HEADER_LEN)) {
    buf.set(p, o + UDP_HEADER_LEN);
  }
  buf[o] = repr.srcPort >>> 8;
  buf[o + 1] = repr.srcPort;
  buf[o + 2] = repr.dstPort >>> 8;
  buf[o + 3] = repr.dstPort;
  buf[o + 4] = length >>> 8;
  buf[o + 5] = length;
  buf[o + 6] = 0;
  buf[o + 7] = 0;
  let checksum = foldChecksum(onesSum(buf, o, o + length, pseudoHeaderSum(src, dst, IPPROTO_UDP, length)));
  // RFC 768: "If the computed checksum is zero, it is transmitted as all ones".
  if (checksum === 0) checksum = 0xffff;
  buf[o + 6] = checksum >>> 8;
  buf[o + 7] = checksum;
  return length;
}
