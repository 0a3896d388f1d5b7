// nat mode without a network: client segments to the VIP rewritten to a backend and back, checksums
// kept valid by RFC 1624 updates, the conntrack state machine and expiry, ICMP errors translated.

import { describe, expect, it } from 'vitest';
import { parseIpv4Addr } from '../../src/wire/addr.js';
import { emitIcmp, parseIcmp } from '../../src/wire/icmp.js';
import { emitIpv4Header, IPPROTO_ICMP, IPPROTO_TCP, parseIpv4 } from '../../src/wire/ipv4.js';
import { emitTcp, parseTcp, tcpLen, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, type TcpRepr } from '../../src/wire/tcp.js';
import { internetChecksum } from '../../src/wire/checksum.js';
import { configFromFlags, DEFAULT_CONNTRACK, type ConntrackConfig } from '../../src/lb/config.js';
import { csumAdd16, csumAdd32, csumClose, csumOpen } from '../../src/lb/incremental-checksum.js';
import { NatEngine } from '../../src/lb/nat.js';
import { Pool } from '../../src/lb/pool.js';

const A = (s: string) => parseIpv4Addr(s)!;
const CLIENT = A('198.18.0.1');
const VIP = A('198.18.0.2');
const SNAT = VIP;
const B1 = A('198.18.1.11');

function tcpPacket(src: number, dst: number, repr: Partial<TcpRepr> & { srcPort: number; dstPort: number }, ttl = 64): Uint8Array {
  const r: TcpRepr = { seq: 1000, ack: 0, flags: TCP_ACK, window: 65535, ...repr };
  const len = tcpLen(r);
  const pkt = new Uint8Array(20 + len);
  emitIpv4Header({ src, dst, protocol: IPPROTO_TCP, payloadLength: len, ttl }, pkt, 0);
  emitTcp(r, src, dst, pkt, 20);
  return pkt;
}

function setup(ct: Partial<ConntrackConfig> = {}, backends = ['198.18.1.11:8080', '198.18.1.12:8080']) {
  const out: Uint8Array[] = [];
  const trace: string[] = [];
  const cfg = configFromFlags({ vip: '198.18.0.2:80', mode: 'nat', algo: 'roundrobin', backend: backends, health: 'tcp' });
  const pool = new Pool(cfg.services[0]!);
  const nat = new NatEngine({ snatAddr: SNAT, conntrack: { ...DEFAULT_CONNTRACK, ...ct }, transmit: (p) => out.push(p.slice()), trace: (l) => trace.push(l) });
  nat.setServices([pool]);
  const feed = (now: number, pkt: Uint8Array): boolean => {
    const ip = parseIpv4(pkt);
    if (!ip.ok) throw new Error(ip.error);
    return nat.handlePacket(now, ip.value, pkt);
  };
  const take = () => {
    const p = out.shift();
    if (!p) throw new Error('nothing sent');
    const ip = parseIpv4(p); // verifies the IP header checksum
    if (!ip.ok) throw new Error(`bad ip: ${ip.error}`);
    return ip.value;
  };
  const takeTcp = () => {
    const ip = take();
    const seg = parseTcp(ip.payload, ip.src, ip.dst); // verifies the TCP checksum
    if (!seg.ok) throw new Error(`bad tcp: ${seg.error}`);
    return { ip, seg: seg.value };
  };
  return { nat, pool, out, trace, feed, take, takeTcp };
}

/** A 3-way handshake through the balancer; returns the SNAT port. */
function handshake(s: ReturnType<typeof setup>, now: number, clientPort: number): { natPort: number; backend: number; backendPort: number } {
  expect(s.feed(now, tcpPacket(CLIENT, VIP, { srcPort: clientPort, dstPort: 80, flags: TCP_SYN, options: { mss: 1460 } }))).toBe(true);
  const syn = s.takeTcp();
  expect(syn.ip.src).toBe(SNAT);
  expect(syn.seg.flags).toBe(TCP_SYN);
  expect(syn.seg.options.mss).toBe(1460);
  expect(syn.ip.ttl).toBe(63);
  const natPort = syn.seg.srcPort;
  s.feed(now, tcpPacket(syn.ip.dst, SNAT, { srcPort: syn.seg.dstPort, dstPort: natPort, flags: TCP_SYN | TCP_ACK, seq: 5000, ack: 1001 }));
  const synAck = s.takeTcp();
  expect([synAck.ip.src, synAck.seg.srcPort, synAck.ip.dst, synAck.seg.dstPort]).toEqual([VIP, 80, CLIENT, clientPort]);
  s.feed(now, tcpPacket(CLIENT, VIP, { srcPort: clientPort, dstPort: 80, flags: TCP_ACK, seq: 1001, ack: 5001 }));
  s.takeTcp();
  return { natPort, backend: syn.ip.dst, backendPort: syn.seg.dstPort };
}

describe('incremental checksum (RFC 1624)', () => {
  it('matches_a_full_recomputation_for_random_word_changes', () => {
    let seed = 12345;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16);
    for (let round = 0; round < 2000; round++) {
      const buf = new Uint8Array(40);
      for (let i = 0; i < 40; i++) buf[i] = rnd() & 0xff;
      buf[10] = 0;
      buf[11] = 0;
      const hc = internetChecksum(buf);
      buf[10] = hc >> 8;
      buf[11] = hc & 0xff;
      const at = 2 * (6 + (rnd() % 14)); // a word past the checksum
      const old = (buf[at]! << 8) | buf[at + 1]!;
      const neu = round % 7 === 0 ? (~old & 0xffff) : rnd();
      const updated = csumClose(csumAdd16(csumOpen(hc), old, neu));
      buf[at] = neu >> 8;
      buf[at + 1] = neu & 0xff;
      expect(internetChecksum(buf)).toBe(0 === internetChecksum(buf) ? 0 : internetChecksum(buf));
      buf[10] = updated >> 8;
      buf[11] = updated & 0xff;
      expect(internetChecksum(buf)).toBe(0); // the block with its new checksum verifies
    }
  });

  it('updates_for_a_32_bit_address_change', () => {
    const buf = new Uint8Array(20);
    emitIpv4Header({ src: CLIENT, dst: VIP, protocol: 6, payloadLength: 0 }, buf);
    const hc = (buf[10]! << 8) | buf[11]!;
    const hc2 = csumClose(csumAdd32(csumOpen(hc), CLIENT, B1));
    const ref = new Uint8Array(20);
    emitIpv4Header({ src: B1, dst: VIP, protocol: 6, payloadLength: 0 }, ref);
    expect(hc2).toBe((ref[10]! << 8) | ref[11]!);
  });
});

describe('nat forwarding', () => {
  it('rewrites_both_legs_with_valid_checksums_and_keeps_the_flow_on_one_backend', () => {
    const s = setup();
    const { natPort, backend, backendPort } = handshake(s, 0, 40312);
    expect(backend).toBe(B1);
    expect(backendPort).toBe(8080);
    expect(natPort).toBe(20000);
    expect(s.trace[0]).toBe('flow 198.18.0.1:40312 → 198.18.0.2:80 ⇒ 198.18.1.11:8080 (roundrobin) via :20000');
    // Data both ways, odd lengths.
    for (let i = 0; i < 5; i++) {
      s.feed(1, tcpPacket(CLIENT, VIP, { srcPort: 40312, dstPort: 80, payload: new Uint8Array(101 + i).fill(i) }));
      const d = s.takeTcp();
      expect([d.ip.dst, d.seg.dstPort, d.seg.payload.length]).toEqual([B1, 8080, 101 + i]);
      s.feed(1, tcpPacket(B1, SNAT, { srcPort: 8080, dstPort: natPort, payload: new Uint8Array(1399).fill(7) }));
      const r = s.takeTcp();
      expect([r.ip.src, r.seg.srcPort, r.ip.dst, r.seg.dstPort]).toEqual([VIP, 80, CLIENT, 40312]);
    }
    expect(s.nat.conntrack.size).toBe(1);
    expect(s.pool.backends[0]!.active).toBe(1);
    expect(s.pool.backends[0]!.bytesIn).toBeGreaterThan(500);
  });

  it('sends_the_next_flow_to_the_next_backend_under_round_robin', () => {
    const s = setup();
    expect(handshake(s, 0, 1111).backend).toBe(B1);
    expect(handshake(s, 0, 2222).backend).toBe(A('198.18.1.12'));
    expect(s.nat.conntrack.size).toBe(2);
  });

  it('leaves_segments_of_unknown_flows_and_other_traffic_to_the_tcp_layer', () => {
    const s = setup();
    expect(s.feed(0, tcpPacket(CLIENT, VIP, { srcPort: 1, dstPort: 80, flags: TCP_ACK }))).toBe(false);
    expect(s.out).toHaveLength(0);
    expect(s.nat.counters.notTracked).toBe(1);
    // Another port on tunstack's address, or a backend segment for no flow: the IP layer's business.
    expect(s.feed(0, tcpPacket(CLIENT, VIP, { srcPort: 1, dstPort: 22, flags: TCP_SYN }))).toBe(false);
    expect(s.feed(0, tcpPacket(B1, SNAT, { srcPort: 8080, dstPort: 20000, flags: TCP_ACK }))).toBe(false);
  });

  it('follows_fin_fin_to_time_wait_and_expires_the_entry', () => {
    const s = setup({ timeouts: { ...DEFAULT_CONNTRACK.timeouts, timeWait: 1000 } });
    const { natPort } = handshake(s, 0, 40000);
    s.feed(10, tcpPacket(CLIENT, VIP, { srcPort: 40000, dstPort: 80, flags: TCP_FIN | TCP_ACK }));
    s.feed(11, tcpPacket(B1, SNAT, { srcPort: 8080, dstPort: natPort, flags: TCP_FIN | TCP_ACK }));
    s.feed(12, tcpPacket(CLIENT, VIP, { srcPort: 40000, dstPort: 80, flags: TCP_ACK }));
    const f = s.nat.conntrack.lookupReply(natPort)!;
    expect(f.state).toBe('TIME_WAIT');
    // Expiry is swept lazily (at most every 100 ms): the entry is gone within 100 ms of its deadline.
    s.nat.handleTimeout(1011);
    expect(s.nat.conntrack.size).toBe(1);
    let t = 1011;
    for (let i = 0; i < 10 && s.nat.conntrack.size > 0; i++) s.nat.handleTimeout((t = s.nat.pollTimeout()!));
    expect(s.nat.conntrack.size).toBe(0);
    expect(t).toBeGreaterThanOrEqual(1012);
    expect(t).toBeLessThanOrEqual(1112);
    expect(s.pool.backends[0]!.active).toBe(0);
    expect(s.trace.at(-1)).toMatch(/^expire 198\.18\.0\.1:40000 → 198\.18\.0\.2:80 ⇒ 198\.18\.1\.11:8080 \(TIME_WAIT/);
    expect(s.nat.pollTimeout()).toBeUndefined();
  });

  it('marks_a_backend_down_after_fall_refused_connects', () => {
    const s = setup();
    for (let i = 0; i < 6; i++) {
      s.feed(0, tcpPacket(CLIENT, VIP, { srcPort: 3000 + i, dstPort: 80, flags: TCP_SYN }));
      const syn = s.takeTcp();
      s.feed(0, tcpPacket(syn.ip.dst, SNAT, { srcPort: 8080, dstPort: syn.seg.srcPort, flags: TCP_RST | TCP_ACK, seq: 0, ack: 1001 }));
      const rst = s.takeTcp();
      expect(rst.seg.flags & TCP_RST).toBeTruthy();
    }
    // Round robin alternated: each backend refused 3 times = fall 3.
    expect(s.pool.backends.map((b) => b.state)).toEqual(['down', 'down']);
    s.feed(0, tcpPacket(CLIENT, VIP, { srcPort: 4000, dstPort: 80, flags: TCP_SYN }));
    expect(s.nat.counters.dropNoBackend).toBe(1);
  });

  it('bounds_the_table_and_counts_refusals', () => {
    const s = setup({ max: 3 });
    for (let i = 0; i < 5; i++) s.feed(0, tcpPacket(CLIENT, VIP, { srcPort: 5000 + i, dstPort: 80, flags: TCP_SYN }));
    expect(s.nat.conntrack.size).toBe(3);
    expect(s.nat.conntrack.counters.tableFull).toBe(2);
    expect(s.pool.backends.reduce((a, b) => a + b.active, 0)).toBe(3);
  });

  it('keeps_forwarding_a_tracked_flow_after_its_service_is_removed', () => {
    const s = setup();
    const { natPort } = handshake(s, 0, 8000);
    s.nat.setServices([]);
    expect(s.feed(1, tcpPacket(CLIENT, VIP, { srcPort: 8000, dstPort: 80, payload: new Uint8Array(10) }))).toBe(true);
    expect(s.takeTcp().ip.dst).toBe(B1);
    expect(s.feed(1, tcpPacket(B1, SNAT, { srcPort: 8080, dstPort: natPort, payload: new Uint8Array(10) }))).toBe(true);
    expect(s.takeTcp().ip.dst).toBe(CLIENT);
    // But no new flows.
    expect(s.feed(1, tcpPacket(CLIENT, VIP, { srcPort: 8001, dstPort: 80, flags: TCP_SYN }))).toBe(false);
  });

  it('replaces_a_time_wait_entry_when_the_client_reuses_its_port', () => {
    const s = setup();
    const first = handshake(s, 0, 6000);
    s.feed(1, tcpPacket(CLIENT, VIP, { srcPort: 6000, dstPort: 80, flags: TCP_RST }));
    s.takeTcp();
    const second = handshake(s, 2, 6000);
    expect(second.natPort).not.toBe(first.natPort);
    expect(s.nat.conntrack.size).toBe(1);
  });

  it('clears_an_old_time_wait_on_the_backend_with_a_reset_and_sends_the_syn_again', () => {
    const s = setup();
    s.feed(0, tcpPacket(CLIENT, VIP, { srcPort: 9000, dstPort: 80, flags: TCP_SYN, seq: 777 }));
    const syn = s.out[0]!.slice();
    const first = s.takeTcp();
    // The backend still has (snat:natPort ↔ backend:8080) in TIME-WAIT: a challenge ACK comes back.
    expect(s.feed(1, tcpPacket(B1, SNAT, { srcPort: 8080, dstPort: first.seg.srcPort, flags: TCP_ACK, seq: 5, ack: 0xdeadbeef }))).toBe(true);
    const rst = s.takeTcp();
    expect([rst.ip.src, rst.ip.dst, rst.seg.srcPort, rst.seg.dstPort]).toEqual([SNAT, B1, first.seg.srcPort, 8080]);
    expect(rst.seg.flags).toBe(TCP_RST);
    expect(rst.seg.seq).toBe(0xdeadbeef); // RFC 9293: <SEQ=SEG.ACK><CTL=RST>
    expect(Buffer.from(s.out.shift()!).equals(Buffer.from(syn))).toBe(true);
    expect(s.nat.counters.timeWaitCleared).toBe(1);
    // Only once per flow: a second bare ACK goes on to the client.
    s.feed(2, tcpPacket(B1, SNAT, { srcPort: 8080, dstPort: first.seg.srcPort, flags: TCP_ACK, seq: 5, ack: 0xdeadbeef }));
    expect(s.takeTcp().ip.dst).toBe(CLIENT);
  });

  it('decrements_the_ttl_and_drops_at_one', () => {
    const s = setup();
    s.feed(0, tcpPacket(CLIENT, VIP, { srcPort: 7000, dstPort: 80, flags: TCP_SYN }, 1));
    expect(s.out).toHaveLength(0);
    expect(s.nat.counters.dropTtl).toBe(1);
  });
});

describe('ICMP translation', () => {
  function icmpAbout(from: number, to: number, quotedPkt: Uint8Array): Uint8Array {
    const msg = { type: 'dest-unreachable' as const, code: 4, nextHopMtu: 1400, quoted: quotedPkt.subarray(0, 28 + 20) };
    const len = 8 + msg.quoted.length;
    const pkt = new Uint8Array(20 + len);
    emitIpv4Header({ src: from, dst: to, protocol: IPPROTO_ICMP, payloadLength: len }, pkt);
    emitIcmp(msg, pkt, 20);
    return pkt;
  }

  it('translates_a_backend_side_error_to_the_client_with_the_quote_rewritten', () => {
    const s = setup();
    const { natPort } = handshake(s, 0, 40312);
    // The backend complains about a segment tunstack sent it (snat:natPort → backend:8080).
    const sent = tcpPacket(SNAT, B1, { srcPort: natPort, dstPort: 8080, payload: new Uint8Array(10) });
    expect(s.feed(1, icmpAbout(B1, SNAT, sent))).toBe(true);
    const ip = s.take();
    expect([ip.src, ip.dst]).toEqual([VIP, CLIENT]);
    const icmp = parseIcmp(ip.payload); // verifies the ICMP checksum
    expect(icmp.ok).toBe(true);
    if (!icmp.ok || icmp.value.type !== 'dest-unreachable') throw new Error('not unreachable');
    expect(icmp.value.nextHopMtu).toBe(1400);
    const q = icmp.value.quoted;
    expect(internetChecksum(q, 0, 20)).toBe(0); // the quoted header's checksum was updated
    expect([q.slice(12, 16), q.slice(16, 20)].map((b) => Buffer.from(b).readUInt32BE())).toEqual([CLIENT, VIP]);
    expect([(q[20]! << 8) | q[21]!, (q[22]! << 8) | q[23]!]).toEqual([40312, 80]);
    expect(s.nat.counters.icmpTranslated).toBe(1);
  });

  it('translates_a_client_side_error_to_the_backend', () => {
    const s = setup();
    const { natPort } = handshake(s, 0, 40312);
    const sent = tcpPacket(VIP, CLIENT, { srcPort: 80, dstPort: 40312, payload: new Uint8Array(10) });
    expect(s.feed(1, icmpAbout(CLIENT, VIP, sent))).toBe(true);
    const ip = s.take();
    expect([ip.src, ip.dst]).toEqual([SNAT, B1]);
    const icmp = parseIcmp(ip.payload);
    if (!icmp.ok || icmp.value.type !== 'dest-unreachable') throw new Error('bad icmp');
    const q = icmp.value.quoted;
    expect(internetChecksum(q, 0, 20)).toBe(0);
    expect([q.slice(12, 16), q.slice(16, 20)].map((b) => Buffer.from(b).readUInt32BE())).toEqual([B1, SNAT]);
    expect([(q[20]! << 8) | q[21]!, (q[22]! << 8) | q[23]!]).toEqual([8080, natPort]);
    // The quoted TCP header is complete here, and its checksum was updated too.
    const full = parseTcp(tcpPacket(B1, SNAT, { srcPort: 8080, dstPort: natPort, payload: new Uint8Array(10) }).subarray(20), B1, SNAT);
    expect(full.ok && (q[36]! << 8 | q[37]!)).toBe(full.ok && full.value.checksum);
  });

  it('leaves_errors_about_untracked_flows_alone', () => {
    const s = setup();
    const sent = tcpPacket(SNAT, B1, { srcPort: 20001, dstPort: 8080 });
    expect(s.feed(1, icmpAbout(B1, SNAT, sent))).toBe(false);
  });
});

describe('untrusted input', () => {
  it('never_throws_on_random_and_mutated_packets', async () => {
    const { mulberry32 } = await import('../helpers/prng.js');
    const rnd = mulberry32(99);
    const s = setup();
    const { natPort } = handshake(s, 0, 40312);
    const seeds = [
      tcpPacket(CLIENT, VIP, { srcPort: 40312, dstPort: 80, payload: new Uint8Array(20) }),
      tcpPacket(B1, SNAT, { srcPort: 8080, dstPort: natPort, flags: TCP_ACK }),
      tcpPacket(CLIENT, VIP, { srcPort: 1234, dstPort: 80, flags: TCP_SYN }),
    ];
    const icmp = new Uint8Array(20 + 8 + 48);
    emitIpv4Header({ src: B1, dst: SNAT, protocol: IPPROTO_ICMP, payloadLength: 56 }, icmp);
    emitIcmp({ type: 'dest-unreachable', code: 1, nextHopMtu: 0, quoted: seeds[1]!.slice(0, 48) }, icmp, 20);
    seeds.push(icmp);
    let handled = 0;
    for (let i = 0; i < 20000; i++) {
      const pkt = i % 4 === 3 ? rnd.bytes(20 + rnd.int(80)) : rnd.mutate(seeds[i % seeds.length]!);
      if (pkt.length >= 20) {
        pkt[0] = 0x45;
        pkt[2] = pkt.length >> 8;
        pkt[3] = pkt.length & 0xff;
        pkt[10] = 0;
        pkt[11] = 0;
        const c = internetChecksum(pkt, 0, 20);
        pkt[10] = c >> 8;
        pkt[11] = c & 0xff;
      }
      const ip = parseIpv4(pkt);
      if (!ip.ok) continue;
      expect(() => s.nat.handlePacket(i, ip.value, pkt)).not.toThrow();
      handled++;
    }
    expect(handled).toBeGreaterThan(10000);
    s.nat.handleTimeout(1e9);
    expect(s.nat.conntrack.size).toBe(0);
  });
});
