// The IPv4 host layer through the Stack driver over a SimLink, with a virtual clock:
// ICMP echo, ICMP errors, closed-port resets, drops by reason, and the counters' bookkeeping.

import { describe, expect, it } from 'vitest';
import { SimLink } from '../../src/link/sim-link.js';
import { Stack } from '../../src/socket/stack.js';
import { totalAccepted, totalDropped } from '../../src/ip/counters.js';
import { Ipv4Host } from '../../src/ip/host.js';
import { emitIcmp, icmpLen, parseIcmp, UNREACH_PORT, UNREACH_PROTOCOL, type IcmpMessage } from '../../src/wire/icmp.js';
import { emitIpv4Header, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, parseIpv4, type Ipv4Repr } from '../../src/wire/ipv4.js';
import { emitTcp, parseTcp, tcpLen, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, type TcpRepr } from '../../src/wire/tcp.js';
import { emitUdp, udpLen } from '../../src/wire/udp.js';
import { mulberry32 } from '../helpers/prng.js';

const KERNEL = 0xc6120001; // 198.18.0.1
const US = 0xc6120002; // 198.18.0.2

function setup() {
  const link = new SimLink();
  let now = 1000;
  const stack = new Stack(link, { address: '198.18.0.2', clock: () => now });
  return {
    link,
    stack,
    advance: (ms: number) => (now += ms),
    /** Injects packets as one batch and returns what tunstack sent in response. */
    send: (...packets: Uint8Array[]) => {
      link.inject(packets);
      return link.takeTransmitted();
    },
  };
}

function ip(protocol: number, payload: Uint8Array, over: Partial<Ipv4Repr> = {}): Uint8Array {
  const pkt = new Uint8Array(20 + payload.length);
  emitIpv4Header({ src: KERNEL, dst: US, protocol, payloadLength: payload.length, ttl: 64, id: 0x1234, ...over }, pkt, 0);
  pkt.set(payload, 20);
  return pkt;
}

function icmp(msg: IcmpMessage, over: Partial<Ipv4Repr> = {}): Uint8Array {
  const b = new Uint8Array(icmpLen(msg));
  emitIcmp(msg, b, 0);
  return ip(IPPROTO_ICMP, b, over);
}

function tcp(repr: Partial<TcpRepr>, over: Partial<Ipv4Repr> = {}): Uint8Array {
  const full: TcpRepr = { srcPort: 40312, dstPort: 9, seq: 1000, ack: 0, flags: TCP_SYN, window: 64240, ...repr };
  const b = new Uint8Array(tcpLen(full));
  emitTcp(full, over.src ?? KERNEL, over.dst ?? US, b, 0);
  return ip(IPPROTO_TCP, b, over);
}

function udp(dstPort: number, payload = new Uint8Array([1, 2, 3])): Uint8Array {
  const repr = { srcPort: 5353, dstPort, payload };
  const b = new Uint8Array(udpLen(repr));
  emitUdp(repr, KERNEL, US, b, 0);
  return ip(IPPROTO_UDP, b);
}

function parseOut(pkt: Uint8Array) {
  const p = parseIpv4(pkt);
  if (!p.ok) throw new Error(`tunstack sent a malformed packet: ${p.error}`);
  return p.value;
}

describe('ICMP echo (RFC 1122 §3.2.2.6)', () => {
  it('answers_an_echo_request_with_the_same_id_seq_and_data', () => {
    const t = setup();
    const data = new Uint8Array(56).map((_, i) => i);
    const out = t.send(icmp({ type: 'echo-request', id: 7, seq: 3, data }));
    expect(out).toHaveLength(1);
    const h = parseOut(out[0]!);
    expect(h.src).toBe(US);
    expect(h.dst).toBe(KERNEL);
    expect(h.protocol).toBe(IPPROTO_ICMP);
    expect(h.ttl).toBe(64);
    const m = parseIcmp(h.payload);
    expect(m.ok && m.value).toEqual({ type: 'echo-reply', id: 7, seq: 3, data });
    expect(t.stack.counters().echoRepliesSent).toBe(1);
  });

  it('answers_every_request_of_a_batch_in_one_transmit_batch', () => {
    const t = setup();
    const reqs = Array.from({ length: 10 }, (_, i) => icmp({ type: 'echo-request', id: 1, seq: i, data: new Uint8Array(8) }));
    const out = t.send(...reqs);
    expect(out.map((p) => { const m = parseIcmp(parseOut(p).payload); return m.ok && m.value.type === 'echo-reply' ? m.value.seq : -1; }))
      .toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('consumes_echo_replies_and_errors_without_answering', () => {
    const t = setup();
    expect(t.send(icmp({ type: 'echo-reply', id: 1, seq: 1, data: new Uint8Array(4) }))).toHaveLength(0);
    expect(t.send(icmp({ type: 'dest-unreachable', code: 3, nextHopMtu: 0, quoted: udp(9).subarray(0, 28) }))).toHaveLength(0);
    expect(t.stack.counters().accepted.icmp).toBe(2);
  });
});

describe('ICMP errors (RFC 792, RFC 1122 §3.2.2)', () => {
  it('answers_udp_to_any_port_with_port_unreachable_quoting_the_datagram', () => {
    const t = setup();
    const dgram = udp(9);
    const out = t.send(dgram);
    expect(out).toHaveLength(1);
    const m = parseIcmp(parseOut(out[0]!).payload);
    expect(m.ok).toBe(true);
    if (!m.ok || m.value.type !== 'dest-unreachable') throw new Error('expected dest-unreachable');
    expect(m.value.code).toBe(UNREACH_PORT);
    expect(Array.from(m.value.quoted)).toEqual(Array.from(dgram));
  });

  it('quotes_at_most_576_bytes_in_all', () => {
    const t = setup();
    const out = t.send(udp(9, new Uint8Array(1200)));
    expect(out[0]!.length).toBe(576);
  });

  it('answers_an_unknown_protocol_with_protocol_unreachable_and_counts_it', () => {
    const t = setup();
    const out = t.send(ip(132, new Uint8Array(12)));
    const m = parseIcmp(parseOut(out[0]!).payload);
    expect(m.ok && m.value.type === 'dest-unreachable' && m.value.code).toBe(UNREACH_PROTOCOL);
    expect(t.stack.counters().dropped['unknown-protocol']).toBe(1);
  });

  it('rate_limits_icmp_errors_with_a_token_bucket', () => {
    const t = setup();
    const burst = Array.from({ length: 200 }, () => udp(9));
    expect(t.send(...burst)).toHaveLength(50);
    expect(t.stack.counters().icmpErrorsRateLimited).toBe(150);
    t.advance(100); // 1000/s refills 100 tokens in 100 ms, capped at the burst of 50
    expect(t.send(...burst)).toHaveLength(50);
  });
});

describe('TCP to a closed port (RFC 9293 §3.10.7.1)', () => {
  it('answers_a_syn_with_rst_ack_seq_zero_ack_seq_plus_one', () => {
    const t = setup();
    const out = t.send(tcp({ seq: 0xfffffff0, flags: TCP_SYN, options: { mss: 1460 } }));
    expect(out).toHaveLength(1);
    const h = parseOut(out[0]!);
    const s = parseTcp(h.payload, h.src, h.dst);
    expect(s.ok).toBe(true);
    if (!s.ok) return;
    expect(s.value).toMatchObject({ srcPort: 9, dstPort: 40312, seq: 0, ack: 0xfffffff1, flags: TCP_RST | TCP_ACK, window: 0 });
    expect(s.value.payload.length).toBe(0);
    expect(t.stack.counters().tcpResetsSent).toBe(1);
  });

  it('counts_syn_fin_and_data_in_the_ack_of_the_reset', () => {
    const t = setup();
    const out = t.send(tcp({ seq: 0xffffffff, flags: TCP_ACK | TCP_FIN, ack: 5, payload: new Uint8Array(10) }));
    const h = parseOut(out[0]!);
    const s = parseTcp(h.payload, h.src, h.dst);
    // ACK is on, so <SEQ=SEG.ACK><CTL=RST>
    expect(s.ok && s.value).toMatchObject({ seq: 5, flags: TCP_RST });
    const out2 = t.send(tcp({ seq: 0xfffffffe, flags: TCP_FIN, payload: new Uint8Array(10) }));
    const h2 = parseOut(out2[0]!);
    const s2 = parseTcp(h2.payload, h2.src, h2.dst);
    expect(s2.ok && s2.value).toMatchObject({ seq: 0, ack: (0xfffffffe + 11) >>> 0, flags: TCP_RST | TCP_ACK });
  });

  it('never_answers_a_reset', () => {
    const t = setup();
    expect(t.send(tcp({ flags: TCP_RST }))).toHaveLength(0);
    expect(t.send(tcp({ flags: TCP_RST | TCP_ACK, ack: 77 }))).toHaveLength(0);
    expect(t.stack.counters().tcpResetsSent).toBe(0);
  });
});

describe('drops, counted by reason', () => {
  it('drops_packets_not_addressed_to_it', () => {
    const t = setup();
    expect(t.send(icmp({ type: 'echo-request', id: 1, seq: 1, data: new Uint8Array(0) }, { dst: 0xc6120009 }))).toHaveLength(0);
    expect(t.stack.counters().dropped['not-for-us']).toBe(1);
  });

  it('drops_a_bad_ip_checksum_without_answering', () => {
    const t = setup();
    const p = icmp({ type: 'echo-request', id: 1, seq: 1, data: new Uint8Array(4) });
    p[10] ^= 0xff;
    expect(t.send(p)).toHaveLength(0);
    expect(t.stack.counters().dropped['ip-bad-checksum']).toBe(1);
  });

  it('drops_a_bad_tcp_checksum_without_resetting', () => {
    const t = setup();
    const p = tcp({});
    p[20 + 16] ^= 0x01;
    expect(t.send(p)).toHaveLength(0);
    expect(t.stack.counters().dropped['tcp-bad-checksum']).toBe(1);
  });

  it('does_not_verify_a_checksum_the_kernel_left_partial_and_fills_it_for_the_interceptor', () => {
    const host = new Ipv4Host({ address: US, mtu: 1500 });
    const partial = () => {
      const p = tcp({});
      p[20 + 16] = 0x12; // CHECKSUM_PARTIAL: only the pseudo-header sum, not the real checksum
      p[20 + 17] = 0x34;
      return p;
    };
    host.handlePacket(0, partial(), false);
    expect(host.counters.dropped['tcp-bad-checksum']).toBe(1);
    host.handlePacket(0, partial(), true); // marked by the link: nothing to verify
    expect(host.counters.accepted.tcp).toBe(1);
    expect(host.counters.dropped['tcp-bad-checksum']).toBe(1);
    // An interceptor (the nat balancer forwards the bytes) sees the real checksum.
    let seen: Uint8Array | undefined;
    host.setInterceptor((_now, _ip, bytes) => {
      seen = bytes.slice();
      return true;
    });
    host.handlePacket(0, partial(), true);
    expect(seen).toEqual(tcp({}));
  });

  it('drops_syn_rst_as_an_impossible_combination', () => {
    const t = setup();
    expect(t.send(tcp({ flags: TCP_SYN | TCP_RST }))).toHaveLength(0);
    expect(t.stack.counters().dropped['tcp-bad-flags']).toBe(1);
  });

  it('drops_martian_sources_and_never_answers_them', () => {
    const t = setup();
    for (const src of [0, 0x7f000001, 0xe0000005, 0xffffffff, US]) {
      expect(t.send(icmp({ type: 'echo-request', id: 1, seq: 1, data: new Uint8Array(0) }, { src }))).toHaveLength(0);
    }
    expect(t.stack.counters().dropped['martian-source']).toBe(5);
  });

  it('accounts_for_every_packet_of_20000_random_and_mutated_ones', () => {
    const t = setup();
    const rng = mulberry32(42);
    const seeds = [icmp({ type: 'echo-request', id: 1, seq: 1, data: new Uint8Array(16) }), tcp({ options: { mss: 1460, sackPermitted: true } }), udp(53)];
    for (let i = 0; i < 20_000; i++) {
      const p = i % 4 === 0 ? rng.bytes(rng.int(80)) : rng.mutate(seeds[i % seeds.length]!);
      t.send(p);
      if (i % 100 === 0) t.advance(1);
    }
    const c = t.stack.counters();
    expect(c.rxPackets).toBe(20_000);
    expect(totalAccepted(c) + totalDropped(c)).toBe(c.rxPackets + c.reassembled);
    expect(totalDropped(c)).toBeGreaterThan(10_000);
    // Everything tunstack sent is itself well-formed and from its own address.
    t.send(icmp({ type: 'echo-request', id: 9, seq: 9, data: new Uint8Array(4) }));
  });

  it('sends_only_well_formed_packets_from_its_own_address', () => {
    const t = setup();
    const rng = mulberry32(7);
    const seed = tcp({ options: { mss: 1460 } });
    let sent = 0;
    for (let i = 0; i < 5000; i++) {
      for (const out of t.send(rng.mutate(seed))) {
        const h = parseOut(out);
        expect(h.src).toBe(US);
        sent++;
      }
    }
    expect(sent).toBeGreaterThan(0);
  });
});

describe('outbound packet storage', () => {
  /** A TCP layer that sends the segments it is given, once per flush. */
  function fakeTcp(queue: TcpRepr[]) {
    return {
      handleSegment: () => false,
      handleTimeout: () => {},
      flush: () => {},
      pollTransmit: () => {
        const repr = queue.shift();
        return repr === undefined ? undefined : { dst: KERNEL, repr };
      },
      pollTimeout: () => undefined,
    };
  }
  const seg = (n: number): TcpRepr => ({ srcPort: 80, dstPort: 40000, seq: n, ack: 1, flags: TCP_ACK, window: 100, payload: new Uint8Array(1000).fill(n) });

  it('never_reuses_a_packets_storage_before_release_transmitted_and_reuses_it_after', () => {
    const host = new Ipv4Host({ address: US, mtu: 1500 });
    const queue: TcpRepr[] = [];
    host.attachTcp(fakeTcp(queue));
    const drain = (): Uint8Array[] => {
      host.flushTcp(0);
      const out: Uint8Array[] = [];
      for (let p = host.pollTransmit(); p !== undefined; p = host.pollTransmit()) out.push(p);
      return out;
    };
    // No release yet: every packet has its own storage, and the first ones stay intact.
    queue.push(seg(1), seg(2));
    const first = drain();
    queue.push(seg(3));
    drain();
    expect(first.map((p) => p[60])).toEqual([1, 2]);
    expect(first[0]!.buffer).not.toBe(first[1]!.buffer);
    // Released (the link wrote them): from then on packets come from one reused arena.
    host.releaseTransmitted();
    queue.push(seg(4), seg(5));
    const a = drain();
    host.releaseTransmitted();
    queue.push(seg(6));
    const b = drain();
    expect(a[0]!.buffer).toBe(a[1]!.buffer);
    expect(b[0]!.buffer).toBe(a[0]!.buffer);
    expect(b[0]!.byteOffset).toBe(a[0]!.byteOffset); // the same bytes, rewritten
    expect(parseTcp(b[0]!.subarray(20), US, KERNEL).ok).toBe(true);
    expect(b[0]![60]).toBe(6);
    // Packets still queued when release is called keep their storage.
    queue.push(seg(7), seg(8));
    host.flushTcp(0);
    const kept = host.pollTransmit()!;
    host.releaseTransmitted();
    queue.push(seg(9));
    host.flushTcp(0);
    expect(kept[60]).toBe(7);
    expect(host.pollTransmit()![60]).toBe(8);
    expect(host.pollTransmit()![60]).toBe(9);
  });
});
