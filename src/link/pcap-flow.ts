// What the capture needs to know about a raw IPv4 packet without the full codecs: its TCP/UDP ports and
// flags (or those of the datagram an ICMP error quotes), for `--pcap-port` filtering and state comments.
// Reads headers only, bounds-checked; never throws, returns undefined for anything it cannot place.

import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../wire/tcp.js';

const PROTO_ICMP = 1;
const PROTO_TCP = 6;
const PROTO_UDP = 17;

export interface PacketFlow {
  protocol: number;
  src: number;
  dst: number;
  /** Present for TCP/UDP (and for an ICMP error: the quoted datagram's ports, see `quoted`). */
  srcPort?: number;
  dstPort?: number;
  /** TCP flags, when a TCP segment's header is present. */
  flags?: number;
  /** True for an ICMP error: the ports are those of the datagram it quotes (RFC 792: IP header + 8 bytes). */
  quoted?: boolean;
  /** IPv4 identification, and whether this is a fragment after the first (no transport header). */
  id: number;
  laterFragment: boolean;
}

function u16(b: Uint8Array, o: number): number {
  return ((b[o] as number) << 8) | (b[o + 1] as number);
}

function u32(b: Uint8Array, o: number): number {
  return (((b[o] as number) << 24) | ((b[o + 1] as number) << 16) | ((b[o + 2] as number) << 8) | (b[o + 3] as number)) >>> 0;
}

/** Ports (and TCP flags) of the transport header at `off`, if the bytes reach that far. */
function ports(b: Uint8Array, off: number, protocol: number, end: number): { srcPort: number; dstPort: number; flags?: number } | undefined {
  if (protocol !== PROTO_TCP && protocol !== PROTO_UDP) return undefined;
  if (end - off < 4) return undefined;
  const r: { srcPort: number; dstPort: number; flags?: number } = { srcPort: u16(b, off), dstPort: u16(b, off + 2) };
  if (protocol === PROTO_TCP && end - off >= 14) r.flags = b[off + 13] as number;
  return r;
}

/** RFC 791 §3.1 header fields of an IPv4 packet, and the ports of its TCP/UDP header or of the datagram an ICMP error quotes. */
export function packetFlow(b: Uint8Array): PacketFlow | undefined {
  if (b.length < 20 || ((b[0] as number) >> 4) !== 4) return undefined;
  const ihl = ((b[0] as number) & 0x0f) * 4;
  if (ihl < 20 || ihl > b.length) return undefined;
  const total = Math.min(u16(b, 2), b.length);
  const protocol = b[9] as number;
  const fragOffset = u16(b, 6) & 0x1fff;
  const flow: PacketFlow = { protocol, src: u32(b, 12), dst: u32(b, 16), id: u16(b, 4), laterFragment: fragOffset !== 0 };
  if (fragOffset !== 0) return flow;
  if (protocol === PROTO_ICMP) {
    // RFC 792: destination unreachable (3), source quench (4), time exceeded (11), parameter problem (12)
    // carry "the internet header plus the first 64 bits of the original datagram's data".
    if (total - ihl < 8) return flow;
    const type = b[ihl] as number;
    if (type !== 3 && type !== 4 && type !== 11 && type !== 12) return flow;
    const q = ihl + 8;
    if (total - q < 20 || ((b[q] as number) >> 4) !== 4) return flow;
    const qihl = ((b[q] as number) & 0x0f) * 4;
    if (qihl < 20 || total - q < qihl) return flow;
    const p = ports(b, q + qihl, b[q + 9] as number, total);
    if (p) Object.assign(flow, { srcPort: p.srcPort, dstPort: p.dstPort, quoted: true });
    return flow;
  }
  const p = ports(b, ihl, protocol, total);
  if (p) Object.assign(flow, p);
  return flow;
}

/**
 * `--pcap-port N…`: keeps TCP and UDP packets to or from one of the ports, ICMP errors about such
 * packets, and the later fragments of datagrams whose first fragment matched (remembered per
 * source/destination/protocol/id, the last 256). Everything else (ICMP echo, other ports) is left out.
 */
export function portFilter(portList: readonly number[]): (packet: Uint8Array) => boolean {
  const wanted = new Set(portList);
  const fragments: string[] = [];
  return (packet) => {
    const f = packetFlow(packet);
    if (!f) return false;
    const key = `${f.src}>${f.dst}/${f.protocol}#${f.id}`;
    if (f.laterFragment) return fragments.includes(key);
    if (f.srcPort === undefined || f.dstPort === undefined) return false;
    const keep = wanted.has(f.srcPort) || wanted.has(f.dstPort);
    // A first fragment (MF set): remember it so the rest of the datagram is kept too.
    if (keep && !f.quoted && (u16(packet, 6) & 0x2000) !== 0) {
      fragments.push(key);
      if (fragments.length > 256) fragments.shift();
    }
    return keep;
  };
}

/** A TCP connection as the capture sees it, from tunstack's side. */
export interface TapConnection {
  remoteAddr: number;
  remotePort: number;
  localPort: number;
}

/** Whether packet (flow) is a TCP segment of connection c in the given direction (inbound = to tunstack). */
export function isSegmentOf(f: PacketFlow | undefined, c: TapConnection, inbound: boolean): f is PacketFlow & { flags: number } {
  if (!f || f.protocol !== PROTO_TCP || f.quoted || f.flags === undefined) return false;
  return inbound
    ? f.src === c.remoteAddr && f.srcPort === c.remotePort && f.dstPort === c.localPort
    : f.dst === c.remoteAddr && f.dstPort === c.remotePort && f.srcPort === c.localPort;
}

/**
 * Which of a connection's segments caused the state change `from → to` (RFC 9293 §3.3.2's figure read
 * backwards): index into `segs` (that connection's segments in one batch, in order, as flags), or -1.
 * Inbound: the SYN for SYN-RECEIVED, the SYN-ACK or the first ACK for ESTABLISHED, the FIN for
 * CLOSE-WAIT/CLOSING/TIME-WAIT (from FIN-WAIT-*), the ACK for FIN-WAIT-2, LAST-ACK → CLOSED and
 * CLOSING → TIME-WAIT, the RST for any → CLOSED. Outbound: the SYN for SYN-SENT, the FIN for
 * FIN-WAIT-1/LAST-ACK, the RST for an abort, else none (-1). Otherwise inbound: the last segment.
 */
export function causeOf(segs: readonly number[], from: string, to: string, inbound: boolean): number {
  if (segs.length === 0) return -1;
  const first = (pred: (flags: number) => boolean): number => segs.findIndex(pred);
  const last = (pred: (flags: number) => boolean): number => {
    for (let i = segs.length - 1; i >= 0; i--) if (pred(segs[i] as number)) return i;
    return -1;
  };
  const has = (bit: number) => (flags: number) => (flags & bit) !== 0;
  const orElse = (i: number): number => (i >= 0 ? i : inbound ? segs.length - 1 : 0);
  if (to === 'CLOSED' && first(has(TCP_RST)) >= 0) return first(has(TCP_RST));
  if (!inbound) {
    if (to === 'SYN-SENT') return orElse(first(has(TCP_SYN)));
    if (to === 'FIN-WAIT-1' || to === 'LAST-ACK') return orElse(first(has(TCP_FIN)));
    // Anything else tunstack does on its own (a timer's TIME-WAIT → CLOSED) sends nothing.
    return -1;
  }
  switch (to) {
    case 'SYN-RECEIVED':
      return orElse(first(has(TCP_SYN)));
    case 'ESTABLISHED':
      return orElse(from === 'SYN-SENT' ? first(has(TCP_SYN)) : first((f) => (f & TCP_ACK) !== 0 && (f & TCP_SYN) === 0));
    case 'CLOSE-WAIT':
    case 'CLOSING':
      return orElse(first(has(TCP_FIN)));
    case 'TIME-WAIT':
      return orElse(from === 'CLOSING' ? last(has(TCP_ACK)) : first(has(TCP_FIN)));
    case 'FIN-WAIT-2': {
      const i = first((f) => (f & TCP_ACK) !== 0 && (f & TCP_FIN) === 0);
      return orElse(i >= 0 ? i : first(has(TCP_FIN)));
    }
    case 'CLOSED':
      return orElse(last(has(TCP_ACK)));
    default:
      return segs.length - 1;
  }
}
