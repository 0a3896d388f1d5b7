// Connection reconstruction: walks the packets of a capture, groups IPv4 TCP segments by 4-tuple into
// connections (A opened, B answered), numbers them as Wireshark does (relative seq/ack), flags
// retransmissions and out-of-order segments, and reassembles each direction to find the TLS messages and HTTP lines inside.

import { nodeProvider } from '../tls/crypto/node.js';
import type { CryptoProvider } from '../tls/crypto/provider.js';
import * as seqn from '../tcp/seq.js';
import { formatIpv4Addr } from '../wire/addr.js';
import { IPPROTO_TCP, parseIpv4 } from '../wire/ipv4.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, parseTcp, type TcpOptions } from '../wire/tcp.js';
import type { CaptureFile } from './capture.js';
import { HttpTracker } from './http.js';
import { KeyLog } from './keylog.js';
import { decapsulate } from './link.js';
import type { Connection, Ladder, SegmentEvent, Side } from './model.js';
import { StateTracker } from './states.js';
import { StreamReassembler } from './stream.js';
import { TlsConversation, looksLikeTls } from './tls.js';

export interface LadderOptions {
  /** Crypto for decrypting TLS records; default node:crypto (fast, and only ever fed logged secrets). */
  crypto?: CryptoProvider;
}

interface SideState {
  addr: number;
  port: number;
  /** Relative numbering base: the ISN, or the first seq seen minus one when the SYN was not captured. */
  base: number | undefined;
  isn: number | undefined;
  /** One past the highest sequence number this side has sent (SEG.SEQ + SEG.LEN, RFC 9293 §3.4). */
  next: number | undefined;
  fin: boolean;
  /** The ack and window of this side's previous ACK, and how many duplicates of it followed. */
  lastAck: number | undefined;
  lastWindow: number;
  dupAcks: number;
  /** Sequence space seen from this side, as merged [start, end) offsets from `base`, sorted. */
  seen: [number, number][];
  /** RFC 7323 §2.2: the shift announced in this side's SYN, if any. */
  windowScale: number | undefined;
  stream: StreamReassembler;
  /** HTTP/1.x messages when the stream is not TLS. */
  http: HttpTracker;
  lastIp: Uint8Array | undefined;
  lastNs: bigint | undefined;
}

interface Pending {
  ev: SegmentEvent;
  rawSeq: number;
  rawAck: number;
  rawSack: Array<[number, number]>;
}

interface ConnState {
  conn: Connection;
  sides: Record<Side, SideState>;
  mode: 'unknown' | 'tls' | 'plain';
  tls: TlsConversation | undefined;
  states: StateTracker;
  events: Pending[];
  synFromA: boolean;
  synAckFromB: boolean;
  ackOfSynAck: boolean;
  rst: boolean;
}

/** Two captures of the same datagram closer than this are one packet seen twice (e.g. tcpdump -i any on lo). */
const DUPLICATE_WINDOW_NS = 50_000n;

function sideState(addr: number, port: number): SideState {
  return { addr, port, base: undefined, isn: undefined, next: undefined, fin: false, lastAck: undefined, lastWindow: 0, dupAcks: 0, seen: [], windowScale: undefined, stream: new StreamReassembler(), http: new HttpTracker(), lastIp: undefined, lastNs: undefined };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function describeOptions(o: TcpOptions): string {
  const parts: string[] = [];
  if (o.mss !== undefined) parts.push(`MSS=${o.mss}`);
  if (o.windowScale !== undefined) parts.push(`WS=${o.windowScale}`);
  if (o.sackPermitted) parts.push('SACK_PERM');
  if (o.timestamps !== undefined) parts.push('TS');
  return parts.join(' ');
}

/** The index of the first range whose end is past `start` (ranges sorted, merged): a binary search. */
function firstEndingAfter(ranges: readonly [number, number][], start: number): number {
  let lo = 0;
  let hi = ranges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ranges[mid]![1] > start) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Whether [start, end) overlaps any range of the sorted, merged list. */
function overlaps(ranges: readonly [number, number][], start: number, end: number): boolean {
  const r = ranges[firstEndingAfter(ranges, start)];
  return r !== undefined && r[0] < end;
}

/**
 * Ranges kept per side at most. A capture missing more segments than this (or a crafted one) has its
 * oldest holes forgotten — treated as seen — so the work per packet stays bounded.
 */
const MAX_RANGES = 4096;

/** Adds [start, end) to a sorted list of merged ranges (usually at the tail: O(log n)). */
function addRange(ranges: [number, number][], start: number, end: number): void {
  // Ranges that touch [start, end) (end == start counts: they merge) are replaced by their union.
  const i = firstEndingAfter(ranges, start - 1);
  let s = start;
  let e = end;
  let j = i;
  while (j < ranges.length && ranges[j]![0] <= e) {
    s = Math.min(s, ranges[j]![0]);
    e = Math.max(e, ranges[j]![1]);
    j++;
  }
  ranges.splice(i, j - i, [s, e]);
  if (ranges.length > MAX_RANGES) ranges.splice(0, 2, [ranges[0]![0], ranges[1]![1]]);
}

/** Builds the ladder model of every IPv4 TCP connection in a capture. Never throws on capture content. */
export function buildLadder(file: CaptureFile, opts: LadderOptions = {}): Ladder {
  const crypto = opts.crypto ?? nodeProvider;
  const keyLog = new KeyLog(file.keyLog);
  const skipped: Record<string, number> = {};
  const skip = (why: string): void => {
    skipped[why] = (skipped[why] ?? 0) + 1;
  };
  const live = new Map<string, ConnState>();
  const all: ConnState[] = [];

  for (const p of file.packets) {
    const link = decapsulate(p.linkType, p.data);
    if (!link.ok) {
      skip(link.reason === 'unsupported-link' ? `link type ${p.linkType} (not supported)` : link.reason === 'not-ipv4' ? 'not IPv4' : 'truncated link header');
      continue;
    }
    let ipBytes = link.ip;
    let missing = 0;
    // A packet cut by the snap length: read what is there and remember how much of it is missing.
    if (ipBytes.length >= 20) {
      const total = (ipBytes[2]! << 8) | ipBytes[3]!;
      if (total > ipBytes.length && total >= ((ipBytes[0]! & 0x0f) * 4)) {
        missing = total - ipBytes.length;
        ipBytes = ipBytes.slice();
        ipBytes[2] = ipBytes.length >>> 8;
        ipBytes[3] = ipBytes.length & 0xff;
      }
    }
    // Checksums are not verified: captures taken with checksum offload hold outgoing packets whose
    // checksum the NIC would have filled in.
    const ip = parseIpv4(ipBytes, { verifyChecksum: false });
    if (!ip.ok) {
      skip('malformed IPv4');
      continue;
    }
    const h = ip.value;
    if (h.protocol !== IPPROTO_TCP) {
      skip('not TCP');
      continue;
    }
    if (h.moreFragments || h.fragmentOffset !== 0) {
      skip('IPv4 fragment');
      continue;
    }
    const tcpParsed = parseTcp(h.payload, h.src, h.dst, { verifyChecksum: false });
    if (!tcpParsed.ok) {
      skip('malformed TCP');
      continue;
    }
    const tcp = tcpParsed.value;
    const syn = (tcp.flags & TCP_SYN) !== 0;
    const ackFlag = (tcp.flags & TCP_ACK) !== 0;

    // ── which connection ──
    const k1 = `${h.src}:${tcp.srcPort}`;
    const k2 = `${h.dst}:${tcp.dstPort}`;
    const key = k1 < k2 ? `${k1}-${k2}` : `${k2}-${k1}`;
    let cs = live.get(key);
    if (cs !== undefined && syn && !ackFlag) {
      const from = cs.sides.A.addr === h.src && cs.sides.A.port === tcp.srcPort ? cs.sides.A : cs.sides.B;
      const ended = cs.rst || (cs.sides.A.fin && cs.sides.B.fin);
      // A SYN with a new ISN on a used 4-tuple opens a new connection (the old one was closed or lost).
      if ((from.isn !== undefined && from.isn !== tcp.seq) || ended) cs = undefined;
    }
    if (cs === undefined) {
      let aIsSrc: boolean;
      let known = true;
      if (syn) aIsSrc = !ackFlag;
      else {
        // No SYN captured: guess that the side with the higher (ephemeral) port opened the connection.
        known = false;
        aIsSrc = tcp.srcPort >= tcp.dstPort;
      }
      const a = aIsSrc ? sideState(h.src, tcp.srcPort) : sideState(h.dst, tcp.dstPort);
      const b = aIsSrc ? sideState(h.dst, tcp.dstPort) : sideState(h.src, tcp.srcPort);
      cs = {
        conn: {
          id: all.length + 1,
          a: { addr: formatIpv4Addr(a.addr), port: a.port },
          b: { addr: formatIpv4Addr(b.addr), port: b.port },
          initiatorKnown: known,
          startNs: p.timestampNs,
          endNs: p.timestampNs,
          segments: [],
          summary: { packets: 0, bytesAtoB: 0, bytesBtoA: 0, retransmissions: 0, outOfOrder: 0, resets: 0, handshake: 'not captured', ending: 'open', missingBytes: 0 },
        },
        sides: { A: a, B: b },
        mode: 'unknown',
        tls: undefined,
        states: new StateTracker(syn ? (ackFlag ? 'syn-ack' : 'syn') : 'later'),
        events: [],
        synFromA: false,
        synAckFromB: false,
        ackOfSynAck: false,
        rst: false,
      };
      a.http.peer = b.http;
      b.http.peer = a.http;
      live.set(key, cs);
      all.push(cs);
    }
    const side: Side = cs.sides.A.addr === h.src && cs.sides.A.port === tcp.srcPort ? 'A' : 'B';
    const me = cs.sides[side];
    const peer = cs.sides[side === 'A' ? 'B' : 'A'];

    if (me.lastIp !== undefined && me.lastNs !== undefined && p.timestampNs !== undefined && p.timestampNs - me.lastNs <= DUPLICATE_WINDOW_NS && sameBytes(me.lastIp, link.ip)) {
      skip('captured twice');
      continue;
    }
    me.lastIp = link.ip;
    me.lastNs = p.timestampNs;

    // ── sequence numbers (RFC 9293 §3.4) ──
    const len = tcp.payload.length + missing;
    const fin = (tcp.flags & TCP_FIN) !== 0;
    const rst = (tcp.flags & TCP_RST) !== 0;
    if (syn && me.isn === undefined) {
      me.isn = tcp.seq;
      me.base = tcp.seq;
      // RFC 7323 §2.3: the shift is capped at 14.
      if (tcp.options.windowScale !== undefined) me.windowScale = Math.min(tcp.options.windowScale, 14);
    }
    if (me.base === undefined) me.base = seqn.add(tcp.seq, -1);
    const segLen = len + (syn ? 1 : 0) + (fin ? 1 : 0);
    const below = segLen > 0 && me.next !== undefined && seqn.lt(tcp.seq, me.next);
    const start = seqn.sub(tcp.seq, me.base);
    const retransmission = below && overlaps(me.seen, start, start + segLen);
    const outOfOrder = below && !retransmission;
    if (segLen > 0) addRange(me.seen, start, start + segLen);
    const end = seqn.add(tcp.seq, segLen);
    if (me.next === undefined || seqn.gt(end, me.next)) me.next = end;

    // A duplicate ACK (as Wireshark counts them): no data and no SYN/FIN/RST, the same non-zero window and
    // the same ack as this side's previous ACK — the signal of RFC 5681 §3.2 fast retransmit.
    let dupAck = 0;
    if (ackFlag) {
      const pure = segLen === 0 && !rst && tcp.window !== 0;
      if (pure && me.lastAck === tcp.ack && me.lastWindow === tcp.window) dupAck = ++me.dupAcks;
      else if (me.lastAck !== tcp.ack || !pure) me.dupAcks = 0;
      me.lastAck = tcp.ack;
      me.lastWindow = tcp.window;
    }

    const c = cs.conn;
    if (c.startNs === undefined) c.startNs = p.timestampNs;
    if (p.timestampNs !== undefined) c.endNs = p.timestampNs;
    const ev: SegmentEvent = {
      frame: p.frame,
      timeNs: p.timestampNs,
      relMs: p.timestampNs !== undefined && c.startNs !== undefined ? Number(p.timestampNs - c.startNs) / 1e6 : 0,
      from: side,
      flags: tcp.flags,
      seq: 0,
      ack: undefined,
      len,
      window: tcp.window,
      retransmission,
      outOfOrder,
      dupAck,
      sack: [],
      states: cs.states.segment(side, tcp.flags, tcp.seq, tcp.ack, len),
      options: syn ? describeOptions(tcp.options) : '',
      notes: [],
      comments: p.comments,
    };
    cs.events.push({ ev, rawSeq: tcp.seq, rawAck: tcp.ack, rawSack: tcp.options.sack ?? [] });
    c.summary.packets++;
    if (side === 'A') c.summary.bytesAtoB += len;
    else c.summary.bytesBtoA += len;
    if (retransmission) c.summary.retransmissions++;
    if (outOfOrder) c.summary.outOfOrder++;
    if (rst) {
      c.summary.resets++;
      cs.rst = true;
    }
    if (fin) me.fin = true;

    // ── the three-way handshake (RFC 9293 §3.5) ──
    if (syn && !ackFlag && side === 'A') cs.synFromA = true;
    if (syn && ackFlag && side === 'B') cs.synAckFromB = true;
    if (!syn && ackFlag && side === 'A' && cs.synAckFromB && peer.isn !== undefined && tcp.ack === seqn.add(peer.isn, 1)) cs.ackOfSynAck = true;

    // ── the byte stream ──
    if (tcp.payload.length > 0) {
      const dataSeq = syn ? seqn.add(tcp.seq, 1) : tcp.seq;
      const off = seqn.sub(dataSeq, seqn.add(me.base, 1));
      for (const chunk of me.stream.push(off, tcp.payload)) {
        if (cs.mode === 'unknown') {
          cs.mode = looksLikeTls(chunk) ? 'tls' : 'plain';
          if (cs.mode === 'tls') cs.tls = new TlsConversation(keyLog, crypto);
        }
        if (cs.tls !== undefined) ev.notes.push(...cs.tls.push(side, chunk));
        else {
          for (const line of me.http.push(chunk)) ev.notes.push({ kind: 'http', line, overTls: false });
        }
      }
    }
  }

  for (const cs of all) {
    const c = cs.conn;
    for (const { ev, rawSeq, rawAck, rawSack } of cs.events) {
      const me = cs.sides[ev.from];
      const peer = cs.sides[ev.from === 'A' ? 'B' : 'A'];
      ev.seq = me.base === undefined ? rawSeq : seqn.sub(rawSeq, me.base) >>> 0;
      if ((ev.flags & TCP_ACK) !== 0) ev.ack = peer.base === undefined ? rawAck : seqn.sub(rawAck, peer.base) >>> 0;
      const pb = peer.base;
      ev.sack = rawSack.map(([l, r]) => (pb === undefined ? [l, r] : [seqn.sub(l, pb) >>> 0, seqn.sub(r, pb) >>> 0]));
      // RFC 7323 §2.2: scaling is in effect only when both SYNs carried the option, and "the Window field in
      // a segment where the SYN bit is set ... MUST NOT be scaled". Shown scaled, as Wireshark shows it.
      if ((ev.flags & TCP_SYN) === 0 && me.windowScale !== undefined && peer.windowScale !== undefined) ev.window *= 2 ** me.windowScale;
      c.segments.push(ev);
    }
    c.summary.handshake = cs.synFromA && cs.synAckFromB && cs.ackOfSynAck ? 'complete' : cs.synFromA || cs.synAckFromB ? 'partial' : 'not captured';
    c.summary.ending = cs.rst ? 'rst' : cs.sides.A.fin && cs.sides.B.fin ? 'fin' : 'open';
    c.summary.missingBytes = cs.sides.A.stream.missing() + cs.sides.B.stream.missing();
    if (cs.tls !== undefined) c.tls = cs.tls.info;
  }

  return {
    format: file.format,
    packets: file.packets.length,
    connections: all.map((s) => s.conn),
    skipped,
    keyLogLines: keyLog.lines,
    problems: file.problems,
  };
}
