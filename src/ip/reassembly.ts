// IPv4 fragment reassembly, sans-IO: bounded in datagrams and bytes, with deadlines as data.
// RFC 791 §3.2 (reassembly), RFC 1122 §3.3.2 (a host MUST reassemble; timeout; Time Exceeded),
// RFC 815 (holes). Overlapping fragments discard the whole datagram, as Linux does since 2018.

import { IPV4_HEADER_LEN, emitIpv4Header, type Ipv4Header } from '../wire/ipv4.js';

export interface ReassemblyOptions {
  /** RFC 1122 §3.3.2: "a fixed timeout value between 60 seconds and 120 seconds" is suggested; Linux uses 30 s. */
  timeoutMs?: number;
  /** Most datagrams under reassembly at once (oldest evicted beyond it). */
  maxDatagrams?: number;
  /** Most payload bytes held across all datagrams (oldest evicted beyond it). */
  maxBytes?: number;
}

interface Piece {
  offset: number;
  data: Uint8Array;
}

interface Pending {
  key: string;
  src: number;
  dst: number;
  protocol: number;
  id: number;
  dscpEcn: number;
  ttl: number;
  pieces: Piece[];
  bytes: number;
  /** Known once the last fragment (MF = 0) arrived. */
  payloadLength: number | undefined;
  deadline: number;
  /** First fragment's header and first 8 data bytes, for the Time Exceeded quote. */
  firstQuote: Uint8Array | undefined;
}

export type FragmentOutcome =
  | { kind: 'complete'; packet: Uint8Array }
  | { kind: 'pending' }
  | { kind: 'bad-length' }
  | { kind: 'overlap' };

export interface ExpiredDatagram {
  /** The first fragment's header + 8 bytes when fragment zero had arrived (RFC 1122 §3.3.2: then send Time Exceeded). */
  firstQuote: Uint8Array | undefined;
  src: number;
}

export class Reassembler {
  private readonly timeoutMs: number;
  private readonly maxDatagrams: number;
  private readonly maxBytes: number;
  /** Insertion order = age order, so the first entry is the oldest. */
  private readonly pending = new Map<string, Pending>();
  private heldBytes = 0;
  evictions = 0;

  constructor(opts: ReassemblyOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.maxDatagrams = opts.maxDatagrams ?? 64;
    this.maxBytes = opts.maxBytes ?? 4 << 20;
  }

  get size(): number {
    return this.pending.size;
  }

  /** Takes one fragment (a packet with MF set or a non-zero offset). Copies what it keeps. */
  handleFragment(now: number, ip: Ipv4Header, raw: Uint8Array): FragmentOutcome {
    const len = ip.payload.length;
    // RFC 791 §3.2: every fragment but the last carries a multiple of 8 data octets.
    if ((ip.moreFragments && len % 8 !== 0) || (ip.moreFragments && len === 0)) return { kind: 'bad-length' };
    // RFC 791 §3.2: fragments belong together by source, destination, protocol and identification.
    const key = `${ip.src}/${ip.dst}/${ip.protocol}/${ip.id}`;
    let p = this.pending.get(key);
    if (!p) {
      p = {
        key,
        src: ip.src,
        dst: ip.dst,
        protocol: ip.protocol,
        id: ip.id,
        dscpEcn: ip.dscpEcn,
        ttl: ip.ttl,
        pieces: [],
        bytes: 0,
        payloadLength: undefined,
        deadline: now + this.timeoutMs,
        firstQuote: undefined,
      };
      this.pending.set(key, p);
    }
    const start = ip.fragmentOffset;
    const end = start + len;
    if (!ip.moreFragments) {
      // A second, different "last" fragment, or data already past this end, is inconsistent.
      if ((p.payloadLength !== undefined && p.payloadLength !== end) || p.pieces.some((q) => q.offset + q.data.length > end)) {
        this.discard(p);
        return { kind: 'overlap' };
      }
      p.payloadLength = end;
    } else if (p.payloadLength !== undefined && end > p.payloadLength) {
      this.discard(p);
      return { kind: 'overlap' };
    }
    for (const q of p.pieces) {
      const qEnd = q.offset + q.data.length;
      if (q.offset === start && qEnd === end) return { kind: 'pending' }; // exact duplicate: keep the first copy
      if (start < qEnd && q.offset < end) {
        this.discard(p);
        return { kind: 'overlap' };
      }
    }
    p.pieces.push({ offset: start, data: ip.payload.slice() });
    p.bytes += len;
    this.heldBytes += len;
    if (start === 0) p.firstQuote = raw.slice(0, Math.min(ip.totalLength, ip.headerLength + 8));
    if (p.payloadLength !== undefined && p.bytes === p.payloadLength) {
      this.discard(p);
      return { kind: 'complete', packet: assemble(p, p.payloadLength) };
    }
    this.enforceLimits(p);
    return { kind: 'pending' };
  }

  /** Earliest reassembly deadline, if any datagram is pending. */
  pollTimeout(): number | undefined {
    let min: number | undefined;
    for (const p of this.pending.values()) if (min === undefined || p.deadline < min) min = p.deadline;
    return min;
  }

  /** Expires every datagram whose deadline has passed. */
  handleTimeout(now: number): ExpiredDatagram[] {
    const expired: ExpiredDatagram[] = [];
    for (const p of [...this.pending.values()]) {
      if (p.deadline <= now) {
        this.discard(p);
        expired.push({ firstQuote: p.firstQuote, src: p.src });
      }
    }
    return expired;
  }

  private enforceLimits(keep: Pending): void {
    for (const p of this.pending.values()) {
      if (this.pending.size <= this.maxDatagrams && this.heldBytes <= this.maxBytes) return;
      if (p === keep) continue;
      this.discard(p);
      this.evictions++;
    }
  }

  private discard(p: Pending): void {
    if (this.pending.delete(p.key)) this.heldBytes -= p.bytes;
  }
}

function assemble(p: Pending, payloadLength: number): Uint8Array {
  const pkt = new Uint8Array(IPV4_HEADER_LEN + payloadLength);
  emitIpv4Header(
    { src: p.src, dst: p.dst, protocol: p.protocol, payloadLength, ttl: p.ttl, id: p.id, dscpEcn: p.dscpEcn, dontFragment: false },
    pkt,
    0,
  );
  for (const q of p.pieces) pkt.set(q.data, IPV4_HEADER_LEN + q.offset);
  return pkt;
}
