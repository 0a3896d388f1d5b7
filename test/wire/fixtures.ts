// Byte literals of real-shaped packets between the kernel side (198.18.0.1) and tunstack
// (198.18.0.2), shared by the wire tests. Checksums were cross-checked with tshark and tcpdump.

import { foldChecksum, internetChecksum, onesSum, pseudoHeaderSum } from '../../src/wire/checksum.js';

/** "45 00 .." → bytes (whitespace ignored). */
export function hex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-f]/i.test(clean)) throw new Error(`bad hex literal: ${text}`);
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

export const KERNEL = 0xc6120001; // 198.18.0.1
export const TUNSTACK = 0xc6120002; // 198.18.0.2

/** `ping -c1 198.18.0.2` from Linux: DF, ttl 64, id 0x9c3e; 56 data bytes = 16-byte timestamp + 0x10..0x37. */
export const PING_REQUEST = hex(`
  45 00 00 54 9c 3e 40 00 40 01 12 43 c6 12 00 01 c6 12 00 02
  08 00 b0 d9 00 07 00 01
  d2 5a 6a 66 00 00 00 00 3f 8a 0c 00 00 00 00 00
  10 11 12 13 14 15 16 17 18 19 1a 1b 1c 1d 1e 1f 20 21 22 23 24 25 26 27
  28 29 2a 2b 2c 2d 2e 2f 30 31 32 33 34 35 36 37`);

/** The echo reply to PING_REQUEST as tunstack sends it (id 0). */
export const PING_REPLY = hex(`
  45 00 00 54 00 00 40 00 40 01 ae 81 c6 12 00 02 c6 12 00 01
  00 00 b8 d9 00 07 00 01
  d2 5a 6a 66 00 00 00 00 3f 8a 0c 00 00 00 00 00
  10 11 12 13 14 15 16 17 18 19 1a 1b 1c 1d 1e 1f 20 21 22 23 24 25 26 27
  28 29 2a 2b 2c 2d 2e 2f 30 31 32 33 34 35 36 37`);

/** A Linux SYN 198.18.0.1.40312 > 198.18.0.2.9: <mss 1460,sackOK,TS 2587640190/0,nop,wscale 7>. */
export const KERNEL_SYN = hex(`
  45 00 00 3c 6e 1f 40 00 40 06 40 75 c6 12 00 01 c6 12 00 02
  9d 78 00 09 1b 2e 8f 55 00 00 00 00 a0 02 fa f0 9d 27 00 00
  02 04 05 b4 04 02 08 0a 9a 3c 41 7e 00 00 00 00 01 03 03 07`);

/** The SYN-ACK answer: seq 12345678, ack ISN+1, win 65535, same option layout. */
export const SYN_ACK = hex(`
  45 00 00 3c 00 00 40 00 40 06 ae 94 c6 12 00 02 c6 12 00 01
  00 09 9d 78 00 bc 61 4e 1b 2e 8f 56 a0 12 ff ff 32 15 00 00
  02 04 05 b4 04 02 08 0a 00 00 03 e8 9a 3c 41 7e 01 03 03 07`);

/** PSH,ACK with <nop,nop,TS> and 27 bytes "GET / HTTP/1.1\r\nHost: x\r\n\r\n". */
export const KERNEL_DATA = hex(`
  45 00 00 4f 6e 20 40 00 40 06 40 61 c6 12 00 01 c6 12 00 02
  9d 78 00 09 1b 2e 8f 56 00 bc 61 4f 80 18 01 f6 0b 11 00 00
  01 01 08 0a 9a 3c 41 80 00 00 03 e8
  47 45 54 20 2f 20 48 54 54 50 2f 31 2e 31 0d 0a 48 6f 73 74 3a 20 78 0d 0a 0d 0a`);

/** A pure ACK with <nop,nop,TS,nop,nop,sack 2 blocks>. */
export const KERNEL_SACK = hex(`
  45 00 00 48 6e 21 40 00 40 06 40 67 c6 12 00 01 c6 12 00 02
  9d 78 00 09 1b 2e 8f 71 00 bc 61 4f d0 10 01 f6 32 31 00 00
  01 01 08 0a 9a 3c 41 90 00 00 04 00
  01 01 05 12 00 bc 6c 4f 00 bc 71 ff 00 bc 77 af 00 bc 7d 5f`);

/** UDP 198.18.0.1.40000 > 198.18.0.2.7 "hello". */
export const UDP_HELLO = hex(`
  45 00 00 21 4d 2a 40 00 40 11 61 7a c6 12 00 01 c6 12 00 02
  9c 40 00 07 00 0d 93 92 68 65 6c 6c 6f`);

export const ALL_PACKETS: ReadonlyArray<readonly [string, Uint8Array]> = [
  ['PING_REQUEST', PING_REQUEST],
  ['PING_REPLY', PING_REPLY],
  ['KERNEL_SYN', KERNEL_SYN],
  ['SYN_ACK', SYN_ACK],
  ['KERNEL_DATA', KERNEL_DATA],
  ['KERNEL_SACK', KERNEL_SACK],
  ['UDP_HELLO', UDP_HELLO],
];

/** The IPv4 payload (transport bytes) of one of the literals above (all have IHL 5). */
export function l4(packet: Uint8Array): Uint8Array {
  return packet.subarray(20);
}

/** A copy of an IPv4 packet with field edits applied, its header checksum recomputed. */
export function editIpv4(packet: Uint8Array, edit: (b: Uint8Array) => void): Uint8Array {
  const b = Uint8Array.from(packet);
  edit(b);
  const hl = Math.max(20, (b[0]! & 0x0f) * 4);
  if (b.length >= hl) {
    b[10] = 0;
    b[11] = 0;
    const c = internetChecksum(b, 0, hl);
    b[10] = c >>> 8;
    b[11] = c & 0xff;
  }
  return b;
}

/** Recomputes, in place, the TCP or UDP checksum of a transport segment (offset 16 or 6). */
export function fixL4Checksum(seg: Uint8Array, src: number, dst: number, protocol: 6 | 17): Uint8Array {
  const at = protocol === 6 ? 16 : 6;
  seg[at] = 0;
  seg[at + 1] = 0;
  const c = foldChecksum(onesSum(seg, 0, seg.length, pseudoHeaderSum(src, dst, protocol, seg.length)));
  seg[at] = c >>> 8;
  seg[at + 1] = c & 0xff;
  return seg;
}
