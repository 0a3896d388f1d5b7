// Software segmentation of TCP super-segments (tcp-gso-split.ts) and FaultLink impairing per TCP
// segment: a super-segment meets one fate per segment it stands for, not one for all of them.

import { describe, expect, it } from 'vitest';
import { FaultLink } from '../../src/link/fault-link.js';
import type { BatchReceiver, Link } from '../../src/link/link.js';
import { splitTcpSuperSegment, tcpSegmentCount } from '../../src/link/tcp-gso-split.js';
import { emitIpv4Header, IPPROTO_TCP, parseIpv4 } from '../../src/wire/ipv4.js';
import { emitTcp, parseTcp, tcpLen, TCP_ACK, TCP_CWR, TCP_ECE, TCP_FIN, TCP_PSH, type TcpRepr } from '../../src/wire/tcp.js';

const SRC = 0xc6120002;
const DST = 0xc6120001;
const MSS = 1448;

function payloadOf(n: number, salt = 0): Uint8Array {
  return new Uint8Array(n).map((_, i) => (i * 31 + salt + (i >> 8)) & 0xff);
}

/** One IPv4/TCP packet emitted by the wire codecs (checksums complete). */
function packet(opts: { id: number; seq: number; flags: number; payload: Uint8Array; ecn?: number }): Uint8Array {
  const repr: TcpRepr = {
    srcPort: 80,
    dstPort: 40000,
    seq: opts.seq,
    ack: 0x01020304,
    flags: opts.flags,
    window: 501,
    options: { timestamps: { tsVal: 0x11223344, tsEcr: 0x55667788 } },
    payload: opts.payload,
  };
  const len = tcpLen(repr);
  const pkt = new Uint8Array(20 + len);
  emitIpv4Header({ src: SRC, dst: DST, protocol: IPPROTO_TCP, payloadLength: len, id: opts.id, dscpEcn: opts.ecn ?? 0 }, pkt, 0);
  emitTcp(repr, SRC, DST, pkt, 20);
  return pkt;
}

describe('splitTcpSuperSegment', () => {
  it('cuts_a_super_segment_into_the_segments_linux_tcp_gso_segment_would_make_byte_exact', () => {
    const data = payloadOf(10 * MSS + 500);
    const flags = TCP_ACK | TCP_PSH | TCP_FIN | TCP_CWR | TCP_ECE;
    const sup = packet({ id: 0xfffe, seq: 0xfffffd00, flags, payload: data, ecn: 2 });
    const segs = splitTcpSuperSegment(sup, MSS)!;
    expect(segs).toHaveLength(11);
    expect(tcpSegmentCount(sup, MSS)).toBe(11);
    for (let k = 0; k < 11; k++) {
      // The reference, built with the codecs: id + k (wrapping), seq + k*MSS (wrapping), CWR on the
      // first only, PSH and FIN on the last only, the k-th slice of the data.
      let f = flags;
      if (k > 0) f &= ~TCP_CWR;
      if (k < 10) f &= ~(TCP_PSH | TCP_FIN);
      const want = packet({
        id: (0xfffe + k) & 0xffff,
        seq: (0xfffffd00 + k * MSS) >>> 0,
        flags: f,
        payload: data.subarray(k * MSS, Math.min(data.length, (k + 1) * MSS)),
        ecn: 2,
      });
      expect(Buffer.from(segs[k]!).equals(Buffer.from(want))).toBe(true);
      const ip = parseIpv4(segs[k]!);
      expect(ip.ok).toBe(true);
      if (!ip.ok) continue;
      expect(ip.value.totalLength).toBe(segs[k]!.length);
      const tcp = parseTcp(ip.value.payload, ip.value.src, ip.value.dst, { verifyChecksum: true });
      expect(tcp.ok).toBe(true);
      if (tcp.ok) expect(tcp.value.payload.length).toBe(k < 10 ? MSS : 500);
    }
    expect(segs[1]![4]! << 8 | segs[1]![5]!).toBe(0xffff);
    expect(segs[2]![4]! << 8 | segs[2]![5]!).toBe(0); // the id wraps
  });

  it('ignores_the_input_checksum_so_a_partial_one_from_tso_still_gives_correct_segments', () => {
    const sup = packet({ id: 7, seq: 1000, flags: TCP_ACK, payload: payloadOf(3 * MSS) });
    sup[36] ^= 0x5a; // whatever the field held (complete, partial or wrong)
    const segs = splitTcpSuperSegment(sup, MSS)!;
    expect(segs).toHaveLength(3);
    for (const s of segs) {
      const ip = parseIpv4(s);
      expect(ip.ok && parseTcp(ip.value.payload, SRC, DST, { verifyChecksum: true }).ok).toBe(true);
    }
  });

  it('gives_one_segment_with_fresh_checksums_when_the_payload_fits', () => {
    const sup = packet({ id: 9, seq: 5, flags: TCP_ACK | TCP_PSH, payload: payloadOf(MSS) });
    const segs = splitTcpSuperSegment(sup, MSS)!;
    expect(segs).toHaveLength(1);
    expect(Buffer.from(segs[0]!).equals(Buffer.from(sup))).toBe(true);
    expect(segs[0]).not.toBe(sup);
    expect(tcpSegmentCount(sup, MSS)).toBe(1);
    expect(splitTcpSuperSegment(packet({ id: 1, seq: 1, flags: TCP_ACK, payload: new Uint8Array(0) }), MSS)).toHaveLength(1);
  });

  it('refuses_what_is_not_an_unfragmented_ipv4_tcp_packet', () => {
    const sup = packet({ id: 1, seq: 1, flags: TCP_ACK, payload: payloadOf(4000) });
    const udp = sup.slice();
    udp[9] = 17;
    expect(splitTcpSuperSegment(udp, MSS)).toBeUndefined();
    const frag = sup.slice();
    frag[6] |= 0x20; // MF
    expect(splitTcpSuperSegment(frag, MSS)).toBeUndefined();
    const badLen = sup.slice(0, sup.length - 1); // total length no longer matches
    expect(splitTcpSuperSegment(badLen, MSS)).toBeUndefined();
    expect(splitTcpSuperSegment(sup, 0)).toBeUndefined();
    expect(splitTcpSuperSegment(new Uint8Array(30), MSS)).toBeUndefined();
    expect(tcpSegmentCount(udp, MSS)).toBe(1);
  });
});

/** A Link that records what it is asked to send (with GSO sizes) and lets the test inject inbound batches. */
class RecordingLink implements Link {
  readonly name = 'rec0';
  readonly mtu = 1500;
  readonly tsoMaxSize = 0xffff;
  sent: Array<{ packet: Uint8Array; gso: number }> = [];
  receiver: BatchReceiver | undefined;
  setReceiver(r: BatchReceiver): void {
    this.receiver = r;
  }
  send(packets: readonly Uint8Array[], gso?: readonly number[]): void {
    packets.forEach((p, i) => this.sent.push({ packet: p.slice(), gso: gso?.[i] ?? 0 }));
  }
  async close(): Promise<void> {}
}

/** Sequence numbers of the data segments in `packets` (super-segments expanded by their GSO size). */
function segmentSeqs(items: Array<{ packet: Uint8Array; gso: number }>): number[] {
  const out: number[] = [];
  for (const { packet: p, gso } of items) {
    const ip = parseIpv4(p);
    if (!ip.ok) throw new Error('bad IPv4');
    const tcp = parseTcp(ip.value.payload, ip.value.src, ip.value.dst, { verifyChecksum: gso === 0 });
    if (!tcp.ok) throw new Error(`bad TCP: ${tcp.error}`);
    const n = gso > 0 ? Math.max(1, Math.ceil(tcp.value.payload.length / gso)) : 1;
    for (let k = 0; k < n; k++) out.push((tcp.value.seq + k * (gso || 0)) >>> 0);
  }
  return out;
}

describe('FaultLink impairs per TCP segment', () => {
  const SEGS = 45; // a 64 KB super-segment of 1448-byte segments
  const supers = (count: number) =>
    Array.from({ length: count }, (_, i) => packet({ id: i, seq: i * SEGS * MSS, flags: TCP_ACK, payload: payloadOf(SEGS * MSS, i) }));

  it('drops_about_1_percent_of_the_segments_of_outbound_super_segments_not_whole_super_segments', () => {
    const inner = new RecordingLink();
    const link = new FaultLink(inner, { outbound: { loss: 0.01 }, seed: 42 });
    const batch = supers(200); // 9,000 segments
    link.send(batch, batch.map(() => MSS));
    const seqs = segmentSeqs(inner.sent);
    const total = 200 * SEGS;
    // Every segment is either delivered (whole or cut) or counted as dropped, one by one.
    expect(seqs.length + link.counters.dropped).toBe(total);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(link.counters.dropped).toBeGreaterThan(total * 0.005);
    expect(link.counters.dropped).toBeLessThan(total * 0.02);
    // Super-segments with a loss were cut; the others went on whole, untouched, with their GSO size.
    const whole = inner.sent.filter((s) => s.gso === MSS);
    const cut = inner.sent.filter((s) => s.gso === 0);
    expect(link.counters.split).toBeGreaterThan(0);
    expect(whole.length + link.counters.split).toBe(200);
    expect(cut.length).toBe(link.counters.split * SEGS - link.counters.dropped);
    for (const w of whole) expect(batch.some((b) => Buffer.from(b).equals(Buffer.from(w.packet)))).toBe(true);
    for (const c of cut) expect(c.packet.length).toBeLessThanOrEqual(1500);
  });

  it('impairs_inbound_gro_super_segments_per_segment_using_the_gso_size_the_link_reports', () => {
    const inner = new RecordingLink();
    const link = new FaultLink(inner, { inbound: { loss: 0.02, duplicate: 0.01 }, seed: 7 });
    const got: Array<{ packet: Uint8Array; gso: number }> = [];
    link.setReceiver((packets, gso) => packets.forEach((p, i) => got.push({ packet: p.slice(), gso: gso?.[i] ?? 0 })));
    const batch = supers(100);
    inner.receiver!(batch, batch.map(() => MSS));
    const seqs = segmentSeqs(got);
    expect(seqs.length).toBe(100 * SEGS - link.counters.dropped + link.counters.duplicated);
    expect(link.counters.dropped).toBeGreaterThan(0);
    expect(link.counters.duplicated).toBeGreaterThan(0);
    expect(link.counters.dropped).toBeLessThan(100 * SEGS * 0.04);
  });

  it('treats_inbound_tcp_packets_above_the_mtu_as_mtu_sized_segments_when_no_gso_size_is_given', () => {
    const inner = new RecordingLink();
    const link = new FaultLink(inner, { inbound: { loss: 0.05 }, seed: 3 });
    const got: Uint8Array[] = [];
    link.setReceiver((packets) => packets.forEach((p) => got.push(p.slice())));
    const batch = supers(50);
    inner.receiver!(batch);
    // 1500 - 20 (IPv4) - 32 (TCP with timestamps) = 1448 per segment.
    const seqs = segmentSeqs(got.map((p) => ({ packet: p, gso: p.length > 1500 ? MSS : 0 })));
    expect(seqs.length + link.counters.dropped).toBe(50 * SEGS);
    expect(link.counters.split).toBeGreaterThan(0);
    expect(got.filter((p) => p.length > 1500).length + link.counters.split).toBe(50);
  });

  it('passes_super_segments_through_whole_when_only_delayed', async () => {
    const inner = new RecordingLink();
    const link = new FaultLink(inner, { outbound: { delayMs: 1 }, seed: 1 });
    const batch = supers(3);
    link.send(batch, batch.map(() => MSS));
    expect(inner.sent).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 20));
    expect(inner.sent.map((s) => s.gso)).toEqual([MSS, MSS, MSS]);
    expect(link.counters.delayed).toBe(3 * SEGS);
    expect(link.counters.split).toBe(0);
    await link.close();
  });
});
