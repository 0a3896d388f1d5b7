// The IPv4 host layer, sans-IO: validates and demultiplexes inbound packets for one address,
// answers ICMP echo, sends ICMP errors and TCP resets, and queues outbound packets for the driver.

import { isUnicastHostAddr } from '../wire/addr.js';
import {
  ICMP_QUOTE_LIMIT,
  UNREACH_PORT,
  UNREACH_PROTOCOL,
  emitIcmp,
  icmpLen,
  isIcmpError,
  parseIcmp,
  type IcmpMessage,
} from '../wire/icmp.js';
import {
  IPPROTO_ICMP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IPV4_HEADER_LEN,
  emitIpv4Header,
  parseIpv4,
  type Ipv4Header,
} from '../wire/ipv4.js';
import { emitTcp, fillTcpChecksum, parseTcp, tcpLen, type TcpRepr, type TcpSegment } from '../wire/tcp.js';
import { parseUdp } from '../wire/udp.js';
import { resetForClosedPort } from '../tcp/closed.js';
import { newCounters, type DropReason, type IpCounters } from './counters.js';
import { fragmentPacket } from './fragment.js';
import { TokenBucket } from './rate-limit.js';
import { Reassembler, type ReassemblyOptions } from './reassembly.js';

const NO_CHECKSUM = { checksum: false } as const;
const NO_VERIFY = { verifyChecksum: false } as const;
/** The outbound arena's first and largest sizes (bytes). */
const ARENA_MIN = 256 * 1024;
const ARENA_MAX = 4 * 1024 * 1024;

export interface Ipv4HostOptions {
  /** tunstack's own address (uint32). */
  address: number;
  /** Largest packet the link carries. */
  mtu: number;
  /** TTL of packets tunstack originates (RFC 1122 §3.2.1.7; Linux default 64). */
  ttl?: number;
  /** ICMP errors per second, and the burst allowed (Linux: icmp_msgs_per_sec 1000, burst 50). */
  icmpErrorRate?: number;
  icmpErrorBurst?: number;
  reassembly?: ReassemblyOptions;
}

/**
 * A hook ahead of the host's own demultiplexing (used by the nat load balancer, src/lb/nat.ts): it
 * sees every well-formed, unfragmented packet from a unicast source, whatever its destination, and
 * returns true when it took the packet (then the host does nothing more with it). It may rewrite
 * the bytes in place and hand them to sendRaw.
 */
export type PacketInterceptor = (now: number, ip: Ipv4Header, bytes: Uint8Array) => boolean;

/** The TCP layer as the IP layer sees it (src/tcp/endpoint.ts implements it). */
export interface TcpLayer {
  /** A valid segment for us; false when no connection or listener wants it. */
  handleSegment(now: number, ip: Ipv4Header, seg: TcpSegment): boolean;
  handleTimeout(now: number): void;
  /** Polls connections with new work; their segments then come out of pollTransmit. */
  flush(now: number): void;
  pollTransmit(): { dst: number; repr: TcpRepr } | undefined;
  pollTimeout(): number | undefined;
}

export class Ipv4Host {
  readonly address: number;
  readonly mtu: number;
  readonly counters: IpCounters = newCounters();
  private readonly ttl: number;
  private readonly icmpLimiter: TokenBucket;
  private outbox: Uint8Array[] = [];
  /** outboxGso[i] > 0: outbox[i] is a TCP super-segment for the link to cut (TSO). */
  private outboxGso: number[] = [];
  private outHead = 0;
  private nextId = 1;
  private tcp: TcpLayer | undefined;
  /** Segments were handed to TCP since its output was last collected. */
  private tcpPending = false;
  private tcpPendingNow = 0;
  private readonly reassembler: Reassembler;
  /**
   * Outbound TCP packets are carved from this arena until the owner of the outbox says the link is done
   * with them (releaseTransmitted): no allocation, no zero-filling of a 64 KB buffer per super-segment.
   * Until that call (or when it fills up), packets are allocated as usual, so a caller that keeps them
   * never sees them overwritten. Grown (up to ARENA_MAX) when a batch did not fit.
   */
  private arena: Uint8Array = EMPTY;
  private arenaUsed = 0;
  private arenaShort = false;

  constructor(opts: Ipv4HostOptions) {
    this.address = opts.address >>> 0;
    this.mtu = opts.mtu;
    this.ttl = opts.ttl ?? 64;
    this.icmpLimiter = new TokenBucket(opts.icmpErrorRate ?? 1000, opts.icmpErrorBurst ?? 50);
    this.reassembler = new Reassembler(opts.reassembly);
  }

  private interceptor: PacketInterceptor | undefined;

  /** Installs (or removes) the packet interceptor. */
  setInterceptor(fn: PacketInterceptor | undefined): void {
    this.interceptor = fn;
  }

  /** Queues a complete IPv4 packet built elsewhere (the interceptor's rewritten packets), counted as sent. */
  sendRaw(pkt: Uint8Array): void {
    this.queue(pkt);
  }

  /** Plugs in the TCP layer; without one every TCP segment gets the closed-port reply. */
  attachTcp(tcp: TcpLayer | undefined): void {
    this.tcp = tcp;
  }

  /**
   * One inbound IPv4 packet. Never throws on its contents: every packet is accepted or dropped-and-counted.
   * `partialChecksum`: an IPv4/TCP packet whose checksum the local kernel left partial (CHECKSUM_PARTIAL,
   * see BatchReceiver): it is not verified, as Linux does not verify it either (skb_csum_unnecessary).
   */
  handlePacket(now: number, bytes: Uint8Array, partialChecksum = false): void {
    this.counters.rxPackets++;
    this.counters.rxBytes += bytes.length;
    this.input(now, bytes, partialChecksum);
  }

  /** Collects what the TCP layer has to send (after input, timers or user calls) into the outbox. */
  flushTcp(now: number): void {
    this.tcpPending = false;
    const tcp = this.tcp;
    if (!tcp) return;
    tcp.flush(now);
    for (let o = tcp.pollTransmit(); o !== undefined; o = tcp.pollTransmit()) this.sendTcp(o.dst, o.repr);
  }

  private input(now: number, bytes: Uint8Array, partialChecksum = false): void {
    const parsed = parseIpv4(bytes);
    if (!parsed.ok) return this.drop(`ip-${parsed.error}`);
    const ip = parsed.value;
    if (partialChecksum) {
      // A fragment is checked like any other after reassembly (Linux never fragments a partial checksum);
      // the interceptor forwards the bytes, so it gets the real checksum.
      if (ip.moreFragments || ip.fragmentOffset !== 0) partialChecksum = false;
      else if (this.interceptor !== undefined) {
        fillTcpChecksum(bytes);
        partialChecksum = false;
      }
    }
    if (
      this.interceptor !== undefined &&
      !ip.moreFragments &&
      ip.fragmentOffset === 0 &&
      isUnicastHostAddr(ip.src) &&
      this.interceptor(now, ip, bytes)
    ) {
      return;
    }
    // RFC 1122 §3.2.1.3: a host silently discards a datagram not addressed to one of its addresses
    // (tunstack is a host, not a router: it never forwards).
    if (ip.dst !== this.address) return this.drop('not-for-us');
    // RFC 1122 §3.2.1.3: discard datagrams whose source is not a valid unicast host address ("martians"),
    // and our own address arriving from outside.
    if (!isUnicastHostAddr(ip.src) || ip.src === this.address) return this.drop('martian-source');
    if (ip.moreFragments || ip.fragmentOffset !== 0) {
      // RFC 1122 §3.3.2: a host MUST be able to reassemble.
      const r = this.reassembler.handleFragment(now, ip, bytes);
      this.counters.reassemblyEvictions = this.reassembler.evictions;
      switch (r.kind) {
        case 'pending':
          this.counters.accepted.fragment++;
          return;
        case 'complete':
          this.counters.accepted.fragment++;
          this.counters.reassembled++;
          return this.input(now, r.packet);
        case 'bad-length':
          return this.drop('ip-fragment-bad-length');
        case 'overlap':
          return this.drop('ip-fragment-overlap');
      }
    }
    switch (ip.protocol) {
      case IPPROTO_ICMP:
        return this.handleIcmp(ip);
      case IPPROTO_UDP:
        return this.handleUdp(now, ip, bytes);
      case IPPROTO_TCP:
        return this.handleTcp(now, ip, partialChecksum);
      default:
        // RFC 1122 §3.2.2.1: a host SHOULD generate Protocol Unreachable for a transport it does not support.
        this.drop('unknown-protocol');
        this.sendIcmpError(now, ip, bytes, UNREACH_PROTOCOL);
        return;
    }
  }

  /** The next packet to transmit, or undefined when the outbox is empty. */
  pollTransmit(): Uint8Array | undefined {
    if (this.tcpPending) this.flushTcp(this.tcpPendingNow);
    if (this.outHead >= this.outbox.length) {
      if (this.outHead > 0) {
        this.outbox = [];
        this.outboxGso = [];
        this.outHead = 0;
      }
      return undefined;
    }
    const p = this.outbox[this.outHead];
    this.lastGso = this.outboxGso[this.outHead]!;
    this.outbox[this.outHead++] = EMPTY;
    return p;
  }

  /** The TSO segment size of the packet pollTransmit returned last (0: an ordinary packet). */
  lastGso = 0;

  /**
   * Says that every packet pollTransmit returned so far has been written or copied (the Link contract:
   * the link is done with the buffers when send returns): their storage is reused for the next ones.
   */
  releaseTransmitted(): void {
    if (this.outHead < this.outbox.length) return; // some are still queued: keep everything
    this.arenaUsed = 0;
    if (this.arenaShort) {
      this.arenaShort = false;
      this.arena = new Uint8Array(Math.min(ARENA_MAX, Math.max(ARENA_MIN, this.arena.length * 2)));
    }
  }

  /** The earliest deadline (ms) at which handleTimeout must run, or undefined. */
  pollTimeout(): number | undefined {
    const a = this.reassembler.pollTimeout();
    const b = this.tcp?.pollTimeout();
    if (a === undefined) return b;
    return b === undefined || a < b ? a : b;
  }

  handleTimeout(now: number): void {
    if (this.tcp) {
      this.tcp.handleTimeout(now);
      this.flushTcp(now);
    }
    for (const expired of this.reassembler.handleTimeout(now)) {
      this.counters.reassemblyTimeouts++;
      // RFC 1122 §3.3.2: "If the timer expires and fragment zero was received, the host SHOULD send
      // a Time Exceeded message (code 1, fragment reassembly time exceeded)."
      if (expired.firstQuote && isUnicastHostAddr(expired.src) && this.icmpLimiter.take(now)) {
        const msg: IcmpMessage = { type: 'time-exceeded', code: 1, quoted: expired.firstQuote };
        const pkt = this.newPacket(IPPROTO_ICMP, expired.src, icmpLen(msg));
        emitIcmp(msg, pkt, IPV4_HEADER_LEN);
        this.counters.icmpErrorsSent++;
        this.queue(pkt);
      }
    }
  }

  /** Sends a TCP segment from tunstack's address (the TCP layer's way out). */
  sendTcp(dst: number, repr: TcpRepr): void {
    const len = tcpLen(repr);
    // emitTcp writes every byte of the segment, so arena storage needs no clearing.
    const pkt = this.newPacket(IPPROTO_TCP, dst, len, 0, this.arenaSlice(IPV4_HEADER_LEN + len));
    // A TSO super-segment is larger than the MTU on purpose: the link cuts it, we never fragment it.
    // Its checksum is left to the link (CHECKSUM_PARTIAL: the kernel completes it per segment).
    const gso = repr.gsoSize !== undefined && repr.gsoSize > 0 && pkt.length > this.mtu;
    emitTcp(repr, this.address, dst, pkt, IPV4_HEADER_LEN, gso ? NO_CHECKSUM : undefined);
    if (gso) this.queue(pkt, repr.gsoSize);
    else this.queue(pkt);
  }

  private handleIcmp(ip: Ipv4Header): void {
    const parsed = parseIcmp(ip.payload);
    if (!parsed.ok) return this.drop(`icmp-${parsed.error}`);
    this.counters.accepted.icmp++;
    const msg = parsed.value;
    if (msg.type === 'echo-request') {
      // RFC 1122 §3.2.2.6: every host MUST answer Echo Requests; the reply carries the same
      // identifier, sequence number and data.
      const reply: IcmpMessage = { type: 'echo-reply', id: msg.id, seq: msg.seq, data: msg.data };
      const len = icmpLen(reply);
      const pkt = this.newPacket(IPPROTO_ICMP, ip.src, len, ip.dscpEcn);
      emitIcmp(reply, pkt, IPV4_HEADER_LEN);
      this.counters.echoRepliesSent++;
      this.queue(pkt);
    }
    // Other ICMP messages (errors about our own packets, replies) are accepted and, for now, consumed:
    // the TCP layer will take destination-unreachable quotes (RFC 9293 §3.9, RFC 5927).
  }

  private handleUdp(now: number, ip: Ipv4Header, bytes: Uint8Array): void {
    const parsed = parseUdp(ip.payload, ip.src, ip.dst);
    if (!parsed.ok) return this.drop(`udp-${parsed.error}`);
    this.counters.accepted.udp++;
    // RFC 1122 §4.1.3.1: no socket on the port → ICMP Port Unreachable. tunstack has no UDP sockets yet.
    this.sendIcmpError(now, ip, bytes, UNREACH_PORT);
  }

  private handleTcp(now: number, ip: Ipv4Header, partialChecksum: boolean): void {
    const parsed = parseTcp(ip.payload, ip.src, ip.dst, partialChecksum ? NO_VERIFY : undefined);
    if (!parsed.ok) return this.drop(`tcp-${parsed.error}`);
    this.counters.accepted.tcp++;
    const seg = parsed.value;
    if (this.tcp?.handleSegment(now, ip, seg)) {
      // Not flushed per segment: the TCP output of a whole batch is collected once (pollTransmit or
      // the driver's flushTcp), so one ACK answers many segments (ACK coalescing, as with GRO).
      this.tcpPending = true;
      this.tcpPendingNow = now;
      return;
    }
    const rst = resetForClosedPort(seg);
    if (rst) {
      this.counters.tcpResetsSent++;
      this.sendTcp(ip.src, rst);
    }
  }

  /**
   * RFC 792 / RFC 1122 §3.2.2: an ICMP error quotes the offending IP header and the start of its data
   * (as much as fits in 576 bytes, RFC 1812 §4.3.2.3). Never about an ICMP error, a non-initial fragment,
   * or a packet whose source is not a unicast host; rate-limited (RFC 1812 §4.3.2.8).
   */
  private sendIcmpError(now: number, ip: Ipv4Header, bytes: Uint8Array, code: number): void {
    if (ip.fragmentOffset !== 0) return;
    if (ip.protocol === IPPROTO_ICMP && ip.payload.length >= 1 && isIcmpError(ip.payload[0]!)) return;
    if (!isUnicastHostAddr(ip.src)) return;
    if (!this.icmpLimiter.take(now)) {
      this.counters.icmpErrorsRateLimited++;
      return;
    }
    const quoted = bytes.subarray(0, Math.min(ip.totalLength, ICMP_QUOTE_LIMIT));
    const msg: IcmpMessage = { type: 'dest-unreachable', code, nextHopMtu: 0, quoted };
    const len = icmpLen(msg);
    const pkt = this.newPacket(IPPROTO_ICMP, ip.src, len);
    emitIcmp(msg, pkt, IPV4_HEADER_LEN);
    this.counters.icmpErrorsSent++;
    this.queue(pkt);
  }

  /** `size` bytes of arena storage (stale contents), or undefined when the arena cannot hold them now. */
  private arenaSlice(size: number): Uint8Array | undefined {
    const at = this.arenaUsed;
    if (at + size > this.arena.length) {
      if (this.arena.length < ARENA_MAX) this.arenaShort = true;
      return undefined;
    }
    this.arenaUsed = (at + size + 7) & ~7;
    return this.arena.subarray(at, at + size);
  }

  private newPacket(protocol: number, dst: number, payloadLength: number, dscpEcn = 0, storage?: Uint8Array): Uint8Array {
    const pkt = storage ?? new Uint8Array(IPV4_HEADER_LEN + payloadLength);
    emitIpv4Header(
      { src: this.address, dst, protocol, payloadLength, ttl: this.ttl, id: this.nextId, dscpEcn: dscpEcn & 0xfc },
      pkt,
      0,
    );
    this.nextId = (this.nextId + 1) & 0xffff;
    return pkt;
  }

  private queue(pkt: Uint8Array, gso = 0): void {
    if (pkt.length > this.mtu && gso === 0) {
      // Only an echo reply to a reassembled request can be this large (RFC 1122 §3.2.2.6: the
      // reply carries all the data), and it goes out in fragments (RFC 791 §3.2).
      for (const frag of fragmentPacket(pkt, this.mtu)) {
        this.counters.fragmentsSent++;
        this.queue(frag);
      }
      return;
    }
    this.counters.txPackets++;
    this.counters.txBytes += pkt.length;
    this.outbox.push(pkt);
    this.outboxGso.push(gso);
  }

  private drop(reason: DropReason): void {
    const d = this.counters.dropped;
    d[reason] = (d[reason] ?? 0) + 1;
  }
}

const EMPTY = new Uint8Array(0);
