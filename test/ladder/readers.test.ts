// Capture readers for the ladder: classic pcap in both byte orders with µs and ns timestamps, the link
// types tcpdump writes (raw IP, IPv4, Ethernet with VLAN tags, Linux cooked v1/v2, BSD loopback),
// pcapng in both byte orders with several interfaces, SPBs, comments and DSBs — and damaged files,
// which give a clear error or the packets before the damage, never an exception.

import { describe, expect, it } from 'vitest';
import { readPcap } from '../../src/capture/pcap-reader.js';
import { readPcapng } from '../../src/capture/pcapng-reader.js';
import { readCaptureFile, type CaptureFile } from '../../src/ladder/capture.js';
import { decapsulate, LinkType } from '../../src/ladder/link.js';
import { buildLadder } from '../../src/ladder/reconstruct.js';
import { mulberry32 } from '../helpers/prng.js';
import { classicPcap, Conversation, frame, pcapng, pcapngOrdered, T0, TCP_ACK, TCP_PSH, text } from './build.js';

function read(bytes: Uint8Array): CaptureFile {
  const r = readCaptureFile(bytes);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

function exchange(): Conversation {
  return new Conversation({ addr: '198.18.2.1', port: 40000, isn: 7 }, { addr: '198.18.2.2', port: 8080, isn: 9000 })
    .handshake()
    .send('A', TCP_PSH | TCP_ACK, text('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))
    .send('B', TCP_PSH | TCP_ACK, text('HTTP/1.1 204 No Content\r\n\r\n'))
    .close();
}

describe('classic pcap', () => {
  for (const le of [true, false]) {
    for (const ns of [false, true]) {
      it(`reads_${le ? 'little' : 'big'}_endian_${ns ? 'nanosecond' : 'microsecond'}_files_with_their_timestamps`, () => {
        const conv = exchange();
        const frames = conv.packets.map((p, i) => ({ ts: p.ts + BigInt(i) * 1_234n, data: p.ip }));
        const file = read(classicPcap(frames, { le, ns, linkType: LinkType.RAW }));
        expect(file.format).toBe('pcap');
        expect(file.problems).toEqual([]);
        expect(file.packets.map((p) => p.frame)).toEqual(frames.map((_, i) => i + 1));
        // µs files lose the sub-microsecond part; ns files keep it.
        expect(file.packets.map((p) => p.timestampNs)).toEqual(frames.map((f) => (ns ? f.ts : (f.ts / 1000n) * 1000n)));
        const ladder = buildLadder(file);
        expect(ladder.connections).toHaveLength(1);
        expect(ladder.connections[0]!.summary.packets).toBe(frames.length);
      });
    }
  }

  const framings: [string, number, (ip: Uint8Array) => Uint8Array][] = [
    ['raw IP (101)', LinkType.RAW, (ip) => ip],
    ['IPv4 (228)', LinkType.IPV4, (ip) => ip],
    ['Ethernet (1)', LinkType.ETHERNET, (ip) => frame.ethernet(ip)],
    ['Ethernet with an 802.1Q tag', LinkType.ETHERNET, (ip) => frame.ethernet(ip, 42)],
    ['Linux cooked SLL (113)', LinkType.LINUX_SLL, frame.sll],
    ['Linux cooked SLL2 (276)', LinkType.LINUX_SLL2, frame.sll2],
    ['BSD loopback (0)', LinkType.NULL, (ip) => frame.null(ip)],
  ];
  for (const [name, linkType, wrap] of framings) {
    it(`finds_the_tcp_connection_inside_${name.replace(/\W+/g, '_')}_frames`, () => {
      const conv = exchange();
      const bytes = classicPcap(conv.packets.map((p) => ({ ts: p.ts, data: wrap(p.ip) })), { le: true, ns: false, linkType });
      const ladder = buildLadder(read(bytes));
      expect(ladder.skipped).toEqual({});
      expect(ladder.connections).toHaveLength(1);
      const c = ladder.connections[0]!;
      expect([c.a, c.b]).toEqual([{ addr: '198.18.2.1', port: 40000 }, { addr: '198.18.2.2', port: 8080 }]);
      expect(c.summary).toMatchObject({ handshake: 'complete', ending: 'fin' });
      expect(c.segments.flatMap((s) => s.notes.map((n) => (n.kind === 'http' ? n.line : '')))).toEqual(['GET / HTTP/1.1', 'HTTP/1.1 204 No Content']);
    });
  }

  it('counts_frames_that_are_not_ipv4_or_of_an_unknown_link_type_instead_of_failing', () => {
    const arp = Uint8Array.from([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x06, 0, 1]);
    expect(decapsulate(LinkType.ETHERNET, arp)).toEqual({ ok: false, reason: 'not-ipv4' });
    expect(decapsulate(LinkType.LINUX_SLL2, Uint8Array.of(8, 0))).toEqual({ ok: false, reason: 'truncated' });
    expect(decapsulate(147, Uint8Array.of(1, 2, 3))).toEqual({ ok: false, reason: 'unsupported-link' });
    const conv = exchange();
    const bytes = classicPcap([{ ts: T0, data: arp }, ...conv.packets.map((p) => ({ ts: p.ts, data: frame.ethernet(p.ip) }))], { le: true, ns: false, linkType: 1 });
    const ladder = buildLadder(read(bytes));
    expect(ladder.skipped).toEqual({ 'not IPv4': 1 });
    expect(ladder.connections).toHaveLength(1);
    const odd = buildLadder(read(classicPcap([{ ts: T0, data: Uint8Array.of(1, 2, 3) }], { le: true, ns: false, linkType: 147 })));
    expect(odd.skipped).toEqual({ 'link type 147 (not supported)': 1 });
  });

  it('keeps_the_packets_before_a_record_cut_short_and_says_the_file_was_cut', () => {
    const conv = exchange();
    const bytes = classicPcap(conv.packets.map((p) => ({ ts: p.ts, data: p.ip })), { le: true, ns: false, linkType: LinkType.RAW });
    const cut = bytes.subarray(0, bytes.length - 10);
    const file = read(cut);
    expect(file.packets).toHaveLength(conv.packets.length - 1);
    expect(file.problems).toEqual([`the file ends inside packet ${conv.packets.length} (was the capture cut short?); the packets before it are shown`]);
  });

  it('reads_packets_cut_by_the_snap_length_and_counts_their_missing_bytes', () => {
    const conv = new Conversation().handshake().send('A', TCP_PSH | TCP_ACK, text('GET /big HTTP/1.1\r\nHost: x\r\n\r\n')).send('B', TCP_PSH | TCP_ACK, new Uint8Array(1000).fill(0x41));
    const frames = conv.packets.map((p) => ({ ts: p.ts, data: p.ip.subarray(0, Math.min(p.ip.length, 96)), origLen: p.ip.length }));
    const ladder = buildLadder(read(classicPcap(frames, { le: true, ns: false, linkType: LinkType.RAW, snapLen: 96 })));
    const c = ladder.connections[0]!;
    expect(c.segments.map((s) => s.len)).toEqual([0, 0, 0, 30, 1000]);
    expect(c.summary.missingBytes).toBe(0); // nothing after the holes to prove them
  });

  it('rejects_files_that_are_not_captures_with_a_sentence_that_says_so', () => {
    expect(readCaptureFile(new Uint8Array(0))).toEqual({ ok: false, error: 'the file is empty' });
    const r = readCaptureFile(text('hello, I am a text file\n'));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/^not a pcap or pcapng capture \(it starts with 68 65 6c 6c;/);
    expect(readCaptureFile(Uint8Array.of(0xd4, 0xc3, 0xb2, 0xa1, 2, 0))).toEqual({ ok: false, error: 'the file is too short to hold a pcap file header' });
    expect(readPcap(Uint8Array.of(0xd4, 0xc3, 0xb2, 0xa1, 9, 0, 4, 0, ...new Uint8Array(16)))).toEqual({ ok: false, error: 'unsupported-version' });
  });
});

describe('pcapng', () => {
  for (const le of [true, false]) {
    it(`reads_${le ? 'little' : 'big'}_endian_sections_with_two_interfaces_comments_and_a_simple_packet`, () => {
      const conv = exchange();
      const p = conv.packets;
      const frames = p.map((x, i) => ({ iface: i % 2, ts: x.ts, data: i % 2 === 0 ? frame.ethernet(x.ip) : x.ip, ...(i === 1 ? { comment: 'SYN-SENT → ESTABLISHED' } : {}) }));
      const bytes = pcapngOrdered(le, [{ linkType: LinkType.ETHERNET }, { linkType: LinkType.RAW, tsresol: 9 }], frames);
      const f = readPcapng(bytes);
      expect(f.ok && f.value.blocks[0]?.kind === 'shb' && f.value.blocks[0].littleEndian).toBe(le);
      const file = read(bytes);
      expect(file.problems).toEqual([]);
      expect(file.packets.map((x) => x.linkType)).toEqual(frames.map((x) => (x.iface === 0 ? 1 : 101)));
      // interface 0 has µs resolution (no if_tsresol), interface 1 ns.
      expect(file.packets.map((x) => x.timestampNs)).toEqual(frames.map((x) => (x.iface === 0 ? (x.ts / 1000n) * 1000n : x.ts)));
      expect(file.packets[1]!.comments).toEqual(['SYN-SENT → ESTABLISHED']);
      const ladder = buildLadder(file);
      expect(ladder.connections).toHaveLength(1);
      expect(ladder.connections[0]!.segments[1]!.comments).toEqual(['SYN-SENT → ESTABLISHED']);
      expect(ladder.connections[0]!.summary).toMatchObject({ handshake: 'complete', ending: 'fin', packets: p.length });

      const spb = pcapngOrdered(le, [{ linkType: LinkType.RAW, snapLen: 0 }], p.map((x) => ({ iface: 0, ts: x.ts, data: x.ip, simple: true })));
      const sf = read(spb);
      expect(sf.packets.map((x) => x.timestampNs)).toEqual(p.map(() => undefined));
      expect(sf.packets.map((x) => Buffer.from(x.data).toString('hex'))).toEqual(p.map((x) => Buffer.from(x.ip).toString('hex')));
      expect(buildLadder(sf).connections[0]!.summary.handshake).toBe('complete');
    });
  }

  it('collects_the_tls_key_log_from_decryption_secrets_blocks_and_epb_directions', () => {
    const conv = exchange();
    const packets = conv.packets.map((p, i) => ({ ...p, direction: i % 2 === 0 ? ('inbound' as const) : ('outbound' as const) }));
    const file = read(pcapng(packets, `CLIENT_HANDSHAKE_TRAFFIC_SECRET ${'ab'.repeat(32)} ${'cd'.repeat(32)}`));
    expect(file.keyLog).toBe(`CLIENT_HANDSHAKE_TRAFFIC_SECRET ${'ab'.repeat(32)} ${'cd'.repeat(32)}\n`);
    expect(file.packets.map((p) => p.direction)).toEqual(packets.map((p) => p.direction));
    expect(buildLadder(file).keyLogLines).toBe(1);
  });

  it('keeps_the_packets_before_a_damaged_block_and_reports_the_damage', () => {
    const bytes = pcapng(exchange().packets);
    const cut = bytes.subarray(0, bytes.length - 7);
    const file = read(cut);
    expect(file.packets.length).toBe(exchange().packets.length - 1);
    expect(file.problems).toHaveLength(1);
    expect(file.problems[0]).toMatch(/^the file ends inside a block \(was the capture cut short\?\) \(at byte \d+\)$/);
  });
});

describe('untrusted files', () => {
  it('never_throws_on_any_truncation_or_seeded_mutation_of_a_capture', () => {
    const rnd = mulberry32(0x1adde7);
    const conv = exchange();
    const seeds = [
      pcapng(conv.packets, `CLIENT_TRAFFIC_SECRET_0 ${'11'.repeat(32)} ${'22'.repeat(32)}`),
      classicPcap(conv.packets.map((p) => ({ ts: p.ts, data: frame.sll2(p.ip) })), { le: false, ns: true, linkType: LinkType.LINUX_SLL2 }),
      pcapngOrdered(false, [{ linkType: 1 }], conv.packets.map((p) => ({ iface: 0, ts: p.ts, data: frame.ethernet(p.ip) }))),
    ];
    let files = 0;
    for (const seed of seeds) {
      for (let n = 0; n <= seed.length; n += 3) {
        const r = readCaptureFile(seed.subarray(0, n));
        if (r.ok) buildLadder(r.value);
        files++;
      }
      for (let i = 0; i < 300; i++) {
        const r = readCaptureFile(rnd.mutate(seed));
        if (r.ok) buildLadder(r.value);
        files++;
      }
    }
    for (let i = 0; i < 200; i++) {
      const r = readCaptureFile(rnd.bytes(rnd.int(400)));
      if (r.ok) buildLadder(r.value);
      files++;
    }
    expect(files).toBeGreaterThan(1000);
  });
});
