// Full-NAT forwarding at the packet level (nat mode), sans-IO: a client's TCP segment to a VIP is
// rewritten in place to go from tunstack's address and a SNAT port to the chosen backend; the
// backend's answer is rewritten back to come from the VIP. No TCP termination: only addresses,
// ports, TTL and checksums change, the checksums incrementally (RFC 1624). ICMP errors about
// tracked flows are translated the same way, inner quote included.

import { formatIpv4Addr } from '../wire/addr.js';
import { foldChecksum, onesSum, pseudoHeaderSum } from '../wire/checksum.js';
import { emitIpv4Header, IPPROTO_ICMP, IPPROTO_TCP, type Ipv4Header } from '../wire/ipv4.js';
import { csumAdd16, csumAdd32, csumClose, csumOpen } from './incremental-checksum.js';
import { Conntrack, type Flow } from './conntrack.js';
import type { ConntrackConfig } from './config.js';
import { endpointString, type Pool } from './pool.js';

export interface NatCounters {
  /** Segments forwarded client → backend and backend → client. */
  forwardedOrig: number;
  forwardedReply: number;
  icmpTranslated: number;
  /** SYNs sent again after clearing an old connection's TIME-WAIT on the backend (SNAT port reuse). */
  timeWaitCleared: number;
  /** Segments to a VIP that start no flow and belong to none: left to the TCP layer (which resets strays). */
  notTracked: number;
  /** Dropped: no eligible backend, table full, TTL expired. */
  dropNoBackend: number;
  dropTableFull: number;
  dropTtl: number;
}

export interface NatOptions {
  /** tunstack's own address: the source of forwarded segments, where backends answer. */
  snatAddr: number;
  conntrack: ConntrackConfig;
  /** The first SNAT port to hand out (default: the first of the range). */
  firstPort?: number;
  /** Queues a rewritten packet for the link (the same buffer that came in). */
  transmit: (packet: Uint8Array) => void;
  /** One line per flow created and expired, with the decision taken. */
  trace?: ((line: string) => void) | undefined;
}

const SYN = 0x02;
const RST = 0x04;
const ACK = 0x10;

export class NatEngine {
  readonly conntrack: Conntrack;
  readonly counters: NatCounters = {
    forwardedOrig: 0,
    forwardedReply: 0,
    icmpTranslated: 0,
    timeWaitCleared: 0,
    notTracked: 0,
    dropNoBackend: 0,
    dropTableFull: 0,
    dropTtl: 0,
  };
  /** VIP (addr * 65536 + port) → the pool of a nat-mode service. */
  private readonly services = new Map<number, Pool>();
  private readonly snatAddr: number;
  private readonly transmit: (packet: Uint8Array) => void;
  private readonly trace: ((line: string) => void) | undefined;

  constructor(opts: NatOptions) {
    this.snatAddr = opts.snatAddr >>> 0;
    this.conntrack = new Conntrack(opts.conntrack, opts.firstPort);
    this.transmit = opts.transmit;
    this.trace = opts.trace;
  }

  /** The nat-mode services (replacing the previous set; tracked flows keep going). */
  setServices(pools: readonly Pool[]): void {
    this.services.clear();
    for (const p of pools) this.services.set(p.config.vipAddr * 65536 + p.config.vipPort, p);
  }

  /**
   * One inbound IPv4 packet (already parsed and header-checked by the IP layer). True when it was
   * a nat packet (forwarded or dropped here); false to let the IP layer handle it as usual.
   */
  handlePacket(now: number, ip: Ipv4Header, bytes: Uint8Array): boolean {
    if (ip.moreFragments || ip.fragmentOffset !== 0) return false;
    if (ip.protocol === IPPROTO_TCP) return this.handleTcp(now, ip, bytes);
    if (ip.protocol === IPPROTO_ICMP) return this.handleIcmp(now, ip, bytes);
    return false;
  }

  pollTimeout(): number | undefined {
    return this.conntrack.pollTimeout();
  }

  handleTimeout(now: number): void {
    for (const f of this.conntrack.handleTimeout(now)) {
      this.release(f);
      // A flow that never got its SYN answered: the backend did not answer (passive marking).
      if (f.state === 'SYN_SENT') f.pool.connectResult(f.backend, false, 'SYN unanswered');
      this.trace?.(`expire ${flowText(f)} ⇒ ${f.backend.key} (${f.state}, ${f.packets} packets, ${Math.round(now - f.created)} ms)`);
    }
  }

  /**
   * The TCP checksum is not verified here: as a router would, the balancer leaves that to the end
   * hosts, and an incremental update (RFC 1624) keeps a bad checksum bad, so corruption still shows.
   */
  private handleTcp(now: number, ip: Ipv4Header, bytes: Uint8Array): boolean {
    const h = ip.headerLength;
    if (ip.payload.length < 20) return false; // the TCP layer counts it
    const srcPort = (bytes[h]! << 8) | bytes[h + 1]!;
    const dstPort = (bytes[h + 2]! << 8) | bytes[h + 3]!;
    const flags = bytes[h + 13]!;
    const pool = this.services.get(ip.dst * 65536 + dstPort);
    let flow = this.conntrack.lookupOrig(ip.dst, dstPort, ip.src, srcPort);
    // A tracked flow keeps going even when a reload removed its service (or moved it to proxy mode).
    if (pool || flow) {
      const isSyn = (flags & (SYN | ACK | RST)) === SYN;
      if (flow && isSyn && (flow.state === 'TIME_WAIT' || flow.state === 'CLOSE')) {
        // The client reuses its port for a new connection: the old entry is done.
        this.endFlow(flow, 'reused');
        flow = undefined;
      }
      if (!flow) {
        // Not a flow's first segment and no flow: the TCP layer answers it (a RST for a stray, or a
        // connection it terminates itself if the service was in proxy mode before a reload).
        if (!isSyn || !pool) {
          this.counters.notTracked++;
          return false;
        }
        const backend = pool.choose({ srcAddr: ip.src, srcPort });
        if (!backend) {
          this.counters.dropNoBackend++;
          return true;
        }
        flow = this.conntrack.create(now, {
          pool,
          backend,
          clientAddr: ip.src,
          clientPort: srcPort,
          vipAddr: ip.dst,
          vipPort: dstPort,
          snatAddr: this.snatAddr,
        });
        if (!flow) {
          pool.release(backend); // never tracked
          this.counters.dropTableFull++;
          return true;
        }
        this.trace?.(`flow ${flowText(flow)} ⇒ ${backend.key} (${pool.algo}) via :${flow.natPort}`);
      }
      if (!this.decrementTtl(bytes)) return true;
      this.conntrack.update(now, flow, true, flags);
      if (flow.state === 'TIME_WAIT' || flow.state === 'CLOSE') this.release(flow);
      flow.backend.bytesIn += ip.payload.length;
      // Full-NAT, client → backend: (client:cport → vip:vport) becomes (snat:natport → backend:bport).
      rewriteTcp(bytes, h, ip.payload.length, ip.src, flow.snatAddr, ip.dst, flow.backend.addr, srcPort, flow.natPort, dstPort, flow.backend.port);
      if (flow.state === 'SYN_SENT' && isSyn) flow.syn = bytes.slice();
      this.counters.forwardedOrig++;
      this.transmit(bytes);
      return true;
    }
    if (ip.dst !== this.snatAddr) return false;
    flow = this.conntrack.lookupReply(dstPort);
    if (!flow || flow.backend.addr !== ip.src || flow.backend.port !== srcPort) return false;
    if (flow.state === 'SYN_SENT' && (flags & (SYN | RST | ACK)) === ACK && flow.syn && !flow.synRetried) {
      // A bare ACK to our SYN: the backend still holds an old connection on this 4-tuple in TIME-WAIT
      // (the SNAT port was used before, e.g. by an earlier process, and the client's SYN did not pass
      // its RFC 6191 / RFC 7323 §5 reuse checks) and answers with a challenge ACK (RFC 5961 §4). As a
      // client would (RFC 9293 §3.10.7.3: a bad ACK in SYN-SENT gets <SEQ=SEG.ACK><CTL=RST>), tunstack
      // resets that old connection and sends the SYN again at once — without the client's 1 s RTO.
      flow.synRetried = true;
      this.counters.timeWaitCleared++;
      this.transmit(resetFor(bytes, h, ip));
      this.transmit(flow.syn);
      return true;
    }
    if (!this.decrementTtl(bytes)) return true;
    if (flow.state === 'SYN_SENT' && flags & RST) flow.pool.connectResult(flow.backend, false, 'connection refused');
    else if (flow.state === 'SYN_SENT' && flags & SYN) flow.pool.connectResult(flow.backend, true, 'connected');
    this.conntrack.update(now, flow, false, flags);
    if (flow.state === 'TIME_WAIT' || flow.state === 'CLOSE') this.release(flow);
    flow.backend.bytesOut += ip.payload.length;
    // backend → client: (backend:bport → snat:natport) becomes (vip:vport → client:cport).
    rewriteTcp(bytes, h, ip.payload.length, ip.src, flow.vipAddr, ip.dst, flow.clientAddr, srcPort, flow.vipPort, dstPort, flow.clientPort);
    this.counters.forwardedReply++;
    this.transmit(bytes);
    return true;
  }

  /**
   * RFC 5508 §7 / RFC 3022 §4.3: an ICMP error about a translated flow is translated too — the
   * outer header toward the other side, and the quoted header (addresses, ports, its checksums) as
   * that side sent it. Only errors that quote a TCP header we track are taken.
   */
  private handleIcmp(now: number, ip: Ipv4Header, bytes: Uint8Array): boolean {
    const h = ip.headerLength;
    const icmp = ip.payload;
    if (icmp.length < 8 + 20 + 8) return false;
    const type = icmp[0]!;
    // Destination Unreachable, Source Quench, Time Exceeded, Parameter Problem (RFC 792).
    if (type !== 3 && type !== 4 && type !== 11 && type !== 12) return false;
    const q = h + 8; // the quoted IP header
    const qihl = (bytes[q]! & 0x0f) * 4;
    if (bytes[q]! >> 4 !== 4 || qihl < 20 || bytes[q + 9] !== IPPROTO_TCP || q + qihl + 8 > h + icmp.length) return false;
    const qsrc = readU32(bytes, q + 12);
    const qdst = readU32(bytes, q + 16);
    const t = q + qihl;
    const qsport = (bytes[t]! << 8) | bytes[t + 1]!;
    const qdport = (bytes[t + 2]! << 8) | bytes[t + 3]!;
    // Quoted segment went tunstack → backend: the error is for the client.
    const back = qsrc === this.snatAddr && ip.dst === this.snatAddr ? this.conntrack.lookupReply(qsport) : undefined;
    if (back && back.backend.addr === qdst && back.backend.port === qdport) {
      const flow = back;
      if (!this.decrementTtl(bytes)) return true;
      const outerSrc = ip.src === flow.backend.addr ? flow.vipAddr : ip.src;
      this.translateIcmp(bytes, h, icmp.length, ip.src, outerSrc, ip.dst, flow.clientAddr, q, qihl, t, icmp.length - (t - h),
        flow.clientAddr, flow.vipAddr, flow.clientPort, flow.vipPort);
      if (type === 3) flow.pool.connectResult(flow.backend, false, `ICMP unreachable code ${icmp[1]}`);
      this.conntrack.update(now, flow, false, 0);
      return true;
    }
    // Quoted segment went VIP → client: the error is for the backend.
    const pool = this.services.get(qsrc * 65536 + qsport);
    if (pool) {
      const flow = this.conntrack.lookupOrig(qsrc, qsport, qdst, qdport);
      if (!flow) return false;
      if (!this.decrementTtl(bytes)) return true;
      const outerSrc = ip.src === flow.clientAddr ? flow.snatAddr : ip.src;
      this.translateIcmp(bytes, h, icmp.length, ip.src, outerSrc, ip.dst, flow.backend.addr, q, qihl, t, icmp.length - (t - h),
        flow.backend.addr, flow.snatAddr, flow.backend.port, flow.natPort);
      this.conntrack.update(now, flow, true, 0);
      return true;
    }
    return false;
  }

  private translateIcmp(
    bytes: Uint8Array,
    h: number,
    icmpLen: number,
    oldSrc: number,
    newSrc: number,
    oldDst: number,
    newDst: number,
    q: number,
    qihl: number,
    t: number,
    tAvail: number,
    qNewSrc: number,
    qNewDst: number,
    qNewSport: number,
    qNewDport: number,
  ): void {
    // The quoted header: addresses and ports back to what the other side sent, with its checksums.
    const qOldSrc = readU32(bytes, q + 12);
    const qOldDst = readU32(bytes, q + 16);
    const qOldSport = (bytes[t]! << 8) | bytes[t + 1]!;
    const qOldDport = (bytes[t + 2]! << 8) | bytes[t + 3]!;
    let ipAcc = csumOpen((bytes[q + 10]! << 8) | bytes[q + 11]!);
    ipAcc = csumAdd32(csumAdd32(ipAcc, qOldSrc, qNewSrc), qOldDst, qNewDst);
    writeU32(bytes, q + 12, qNewSrc);
    writeU32(bytes, q + 16, qNewDst);
    write16(bytes, q + 10, csumClose(ipAcc));
    write16(bytes, t, qNewSport);
    write16(bytes, t + 2, qNewDport);
    if (tAvail >= 18) {
      // The quoted TCP checksum, when quoted: the pseudo-header addresses and the ports changed.
      let acc = csumOpen((bytes[t + 16]! << 8) | bytes[t + 17]!);
      acc = csumAdd32(csumAdd32(acc, qOldSrc, qNewSrc), qOldDst, qNewDst);
      acc = csumAdd16(csumAdd16(acc, qOldSport, qNewSport), qOldDport, qNewDport);
      write16(bytes, t + 16, csumClose(acc));
    }
    void qihl;
    // The ICMP checksum covers the whole (short) message: recomputed (RFC 792).
    bytes[h + 2] = 0;
    bytes[h + 3] = 0;
    write16(bytes, h + 2, foldChecksum(onesSum(bytes, h, h + icmpLen)));
    // The outer header (RFC 1624 for its checksum).
    let acc = csumOpen((bytes[10]! << 8) | bytes[11]!);
    acc = csumAdd32(csumAdd32(acc, oldSrc, newSrc), oldDst, newDst);
    writeU32(bytes, 12, newSrc);
    writeU32(bytes, 16, newDst);
    write16(bytes, 10, csumClose(acc));
    this.counters.icmpTranslated++;
    this.transmit(bytes);
  }

  /**
   * RFC 1812 §5.3.1: a forwarder decrements the TTL and discards a datagram whose TTL would reach 0.
   * (No Time Exceeded is sent for a TTL that runs out here: the kernel side is one hop away.)
   */
  private decrementTtl(bytes: Uint8Array): boolean {
    const ttl = bytes[8]!;
    if (ttl <= 1) {
      this.counters.dropTtl++;
      return false;
    }
    // RFC 1624 §4: TTL and protocol share a 16-bit word; only its high byte changes.
    const word = (ttl << 8) | bytes[9]!;
    const acc = csumAdd16(csumOpen((bytes[10]! << 8) | bytes[11]!), word, word - 0x100);
    bytes[8] = ttl - 1;
    write16(bytes, 10, csumClose(acc));
    return true;
  }

  /** The flow no longer loads its backend (finished or expired): leastconn and p2c see it at once. */
  private release(f: Flow): void {
    if (f.released) return;
    f.released = true;
    f.pool.release(f.backend);
  }

  private endFlow(f: Flow, why: string): void {
    this.conntrack.remove(f);
    this.release(f);
    this.trace?.(`expire ${flowText(f)} ⇒ ${f.backend.key} (${f.state}, ${why})`);
  }
}

/**
 * Rewrites a TCP segment's addresses and ports in place, updating the IP header checksum and the
 * TCP checksum incrementally (RFC 1624 eqn. 3): the TCP checksum covers the pseudo-header's
 * addresses (RFC 9293 §3.1) as well as the ports.
 */
export function rewriteTcp(
  bytes: Uint8Array,
  h: number,
  _tcpLength: number,
  oldSrc: number,
  newSrc: number,
  oldDst: number,
  newDst: number,
  oldSport: number,
  newSport: number,
  oldDport: number,
  newDport: number,
): void {
  let ipAcc = csumOpen((bytes[10]! << 8) | bytes[11]!);
  ipAcc = csumAdd32(csumAdd32(ipAcc, oldSrc, newSrc), oldDst, newDst);
  let tcpAcc = csumOpen((bytes[h + 16]! << 8) | bytes[h + 17]!);
  tcpAcc = csumAdd32(csumAdd32(tcpAcc, oldSrc, newSrc), oldDst, newDst);
  tcpAcc = csumAdd16(csumAdd16(tcpAcc, oldSport, newSport), oldDport, newDport);
  writeU32(bytes, 12, newSrc);
  writeU32(bytes, 16, newDst);
  write16(bytes, 10, csumClose(ipAcc));
  write16(bytes, h, newSport);
  write16(bytes, h + 2, newDport);
  write16(bytes, h + 16, csumClose(tcpAcc));
}

/** RFC 9293 §3.10.7.3: the reset for an unacceptable ACK in SYN-SENT, <SEQ=SEG.ACK><CTL=RST>, back to its sender. */
function resetFor(bytes: Uint8Array, h: number, ip: Ipv4Header): Uint8Array {
  const rst = new Uint8Array(40);
  emitIpv4Header({ src: ip.dst, dst: ip.src, protocol: IPPROTO_TCP, payloadLength: 20, ttl: 64 }, rst, 0);
  rst.set(bytes.subarray(h + 2, h + 4), 20); // source port: the one the ACK went to
  rst.set(bytes.subarray(h, h + 2), 22);
  rst.set(bytes.subarray(h + 8, h + 12), 24); // SEQ = SEG.ACK
  rst[32] = 5 << 4;
  rst[33] = RST;
  const sum = onesSum(rst, 20, 40, pseudoHeaderSum(ip.dst, ip.src, IPPROTO_TCP, 20));
  write16(rst, 36, foldChecksum(sum));
  return rst;
}

function flowText(f: Flow): string {
  return `${endpointString(f.clientAddr, f.clientPort)} → ${formatIpv4Addr(f.vipAddr)}:${f.vipPort}`;
}

function readU32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

function writeU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

function write16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}
