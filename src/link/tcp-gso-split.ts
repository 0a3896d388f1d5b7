// Software TCP segmentation of an IPv4/TCP super-segment (GSO/GRO sized, up to 64 KB) into the
// MSS-sized segments it stands for, as Linux's inet_gso_segment + tcp_gso_segment cut them
// (net/ipv4/af_inet.c, net/ipv4/tcp_offload.c). Pure; used by FaultLink to impair per segment.

import { foldChecksum, onesSum, pseudoHeaderSum } from '../wire/checksum.js';

const IPPROTO_TCP = 6;
const TCP_FIN = 0x01;
const TCP_PSH = 0x08;
const TCP_CWR = 0x80;

/** Where a packet's TCP payload lies, or undefined when it is not a well-formed unfragmented IPv4/TCP packet. */
function tcpLayout(packet: Uint8Array): { ihl: number; thl: number; payload: number } | undefined {
  if (packet.length < 40 || packet[0]! >> 4 !== 4 || packet[9] !== IPPROTO_TCP) return undefined;
  const ihl = (packet[0]! & 0x0f) * 4;
  if (ihl < 20 || packet.length < ihl + 20) return undefined;
  // A fragment (MF set or a non-zero offset) is not a segment to cut.
  if (((packet[6]! & 0x3f) << 8) | packet[7]!) return undefined;
  const totalLength = (packet[2]! << 8) | packet[3]!;
  if (totalLength !== packet.length) return undefined;
  const thl = (packet[ihl + 12]! >> 4) * 4;
  if (thl < 20 || ihl + thl > packet.length) return undefined;
  return { ihl, thl, payload: packet.length - ihl - thl };
}

/**
 * How many segments of `gsoSize` payload octets `packet` stands for: ceil(payload / gsoSize), at
 * least 1. 1 for anything that is not an IPv4/TCP packet or when gsoSize is not positive.
 */
export function tcpSegmentCount(packet: Uint8Array, gsoSize: number): number {
  if (!(gsoSize > 0)) return 1;
  const l = tcpLayout(packet);
  if (l === undefined || l.payload <= gsoSize) return 1;
  return Math.ceil(l.payload / gsoSize);
}

/**
 * Cuts an IPv4/TCP super-segment into segments of at most `gsoSize` payload octets, each a fresh
 * buffer with the same IPv4 header (options included) and TCP header (options included), except:
 *  - IPv4 total length and header checksum per segment; the identification advances by one per
 *    segment, mod 2^16 (inet_gso_segment: `iph->id = htons(id++)` when the GSO type is not FIXEDID);
 *  - TCP sequence number advances by gsoSize per segment (tcp_gso_segment: `seq += mss`);
 *  - FIN and PSH only on the last segment (`th->fin = th->psh = 0` on all but the last), CWR only
 *    on the first (`th->cwr = 0` after it);
 *  - a complete TCP checksum per segment, computed from scratch (whatever the input's checksum
 *    field held — complete or partial — is ignored).
 * Returns undefined when the packet is not an unfragmented IPv4/TCP packet or gsoSize is not a
 * positive integer; a packet whose payload fits in one segment comes back as a one-element array
 * holding a copy with its checksums recomputed.
 */
export function splitTcpSuperSegment(packet: Uint8Array, gsoSize: number): Uint8Array[] | undefined {
  if (!Number.isInteger(gsoSize) || gsoSize <= 0) return undefined;
  const l = tcpLayout(packet);
  if (l === undefined) return undefined;
  const { ihl, thl, payload } = l;
  const hdrs = ihl + thl;
  const count = payload <= gsoSize ? 1 : Math.ceil(payload / gsoSize);
  const id0 = (packet[4]! << 8) | packet[5]!;
  const seq0 = ((packet[ihl + 4]! << 24) | (packet[ihl + 5]! << 16) | (packet[ihl + 6]! << 8) | packet[ihl + 7]!) >>> 0;
  const flags = packet[ihl + 13]!;
  const src = ((packet[12]! << 24) | (packet[13]! << 16) | (packet[14]! << 8) | packet[15]!) >>> 0;
  const dst = ((packet[16]! << 24) | (packet[17]! << 16) | (packet[18]! << 8) | packet[19]!) >>> 0;
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const from = hdrs + i * gsoSize;
    const len = Math.min(gsoSize, packet.length - from);
    const seg = new Uint8Array(hdrs + len);
    seg.set(packet.subarray(0, hdrs), 0);
    seg.set(packet.subarray(from, from + len), hdrs);
    // IPv4: total length, identification, header checksum.
    seg[2] = seg.length >>> 8;
    seg[3] = seg.length & 0xff;
    const id = (id0 + i) & 0xffff;
    seg[4] = id >>> 8;
    seg[5] = id & 0xff;
    seg[10] = 0;
    seg[11] = 0;
    const ipc = foldChecksum(onesSum(seg, 0, ihl));
    seg[10] = ipc >>> 8;
    seg[11] = ipc & 0xff;
    // TCP: sequence number, flags, checksum.
    const seq = (seq0 + i * gsoSize) >>> 0;
    seg[ihl + 4] = seq >>> 24;
    seg[ihl + 5] = (seq >>> 16) & 0xff;
    seg[ihl + 6] = (seq >>> 8) & 0xff;
    seg[ihl + 7] = seq & 0xff;
    let f = flags;
    if (i < count - 1) f &= ~(TCP_FIN | TCP_PSH);
    if (i > 0) f &= ~TCP_CWR;
    seg[ihl + 13] = f;
    seg[ihl + 16] = 0;
    seg[ihl + 17] = 0;
    const tc = foldChecksum(onesSum(seg, ihl, seg.length, pseudoHeaderSum(src, dst, IPPROTO_TCP, seg.length - ihl)));
    seg[ihl + 16] = tc >>> 8;
    seg[ihl + 17] = tc & 0xff;
    out.push(seg);
  }
  return out;
}
