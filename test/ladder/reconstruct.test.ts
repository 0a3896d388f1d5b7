// Connection reconstruction: the 3-way handshake in order with A and B right, relative seq/ack as
// Wireshark numbers them, retransmissions, FIN and RST endings, captures that start mid-connection,
// a reused 4-tuple, out-of-order segments, packets captured twice, and HTTP/1 message framing.

import { describe, expect, it } from 'vitest';
import { readCaptureFile } from '../../src/ladder/capture.js';
import type { Ladder, SegmentEvent } from '../../src/ladder/model.js';
import { buildLadder } from '../../src/ladder/reconstruct.js';
import { flagText, segmentLabel } from '../../src/ladder/text.js';
import { renderSvg } from '../../src/ladder/svg.js';
import { mulberry32 } from '../helpers/prng.js';
import { Conversation, pcapng, type Packet, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, tcpPacket, text } from './build.js';
import { parseXml } from './xml.js';

function ladderOf(packets: readonly Packet[]): Ladder {
  const r = readCaptureFile(pcapng(packets));
  if (!r.ok) throw new Error(r.error);
  return buildLadder(r.value);
}

/** "A→B SYN 0/-/0" — direction, flags, relative seq/ack/len. */
function line(s: SegmentEvent): string {
  return `${s.from === 'A' ? 'A→B' : 'B→A'} ${flagText(s.flags)} ${s.seq}/${s.ack ?? '-'}/${s.len}${s.retransmission ? ' retransmission' : ''}`;
}

describe('connection reconstruction', () => {
  it('orders_the_three_way_handshake_data_and_fin_exchange_with_relative_numbers', () => {
    const conv = new Conversation()
      .handshake()
      .send('A', TCP_PSH | TCP_ACK, new Uint8Array(100))
      .send('B', TCP_ACK)
      .send('B', TCP_PSH | TCP_ACK, new Uint8Array(300))
      .send('A', TCP_ACK)
      .close();
    const [c, ...rest] = ladderOf(conv.packets).connections;
    expect(rest).toEqual([]);
    expect(c!.a).toEqual({ addr: '198.18.0.1', port: 43210 });
    expect(c!.b).toEqual({ addr: '198.18.0.2', port: 443 });
    expect(c!.initiatorKnown).toBe(true);
    expect(c!.segments.map(line)).toEqual([
      'A→B SYN 0/-/0',
      'B→A SYN, ACK 0/1/0',
      'A→B ACK 1/1/0',
      'A→B PSH, ACK 1/1/100',
      'B→A ACK 1/101/0',
      'B→A PSH, ACK 1/101/300',
      'A→B ACK 101/301/0',
      'A→B FIN, ACK 101/301/0',
      'B→A FIN, ACK 301/102/0',
      'A→B ACK 102/302/0',
    ]);
    expect(c!.summary).toEqual({ packets: 10, bytesAtoB: 100, bytesBtoA: 300, retransmissions: 0, outOfOrder: 0, resets: 0, handshake: 'complete', ending: 'fin', missingBytes: 0 });
    expect(c!.segments[0]!.options).toBe('MSS=1460 WS=7 SACK_PERM');
    expect(c!.segments.map((s) => s.relMs)).toEqual(c!.segments.map((_, i) => (i * 100_000) / 1e6));
  });

  it('infers_each_ends_tcp_states_through_the_handshake_and_an_active_close', () => {
    const conv = new Conversation().handshake().send('A', TCP_PSH | TCP_ACK, text('hi')).send('B', TCP_ACK).close();
    const c = ladderOf(conv.packets).connections[0]!;
    expect(c.segments.map((x) => `${flagText(x.flags)}: ${JSON.stringify(x.states)}`)).toEqual([
      'SYN: {"A":"SYN-SENT","B":"SYN-RECEIVED"}',
      'SYN, ACK: {"A":"ESTABLISHED"}',
      'ACK: {"B":"ESTABLISHED"}',
      'PSH, ACK: {}',
      'ACK: {}',
      'FIN, ACK: {"A":"FIN-WAIT-1","B":"CLOSE-WAIT"}',
      // B's FIN also acknowledges A's: A passes FIN-WAIT-2 on the way to TIME-WAIT.
      'FIN, ACK: {"A":"TIME-WAIT","B":"LAST-ACK"}',
      'ACK: {"B":"CLOSED"}',
    ]);
  });

  it('infers_closing_for_a_simultaneous_close_and_closed_after_a_reset', () => {
    const conv = new Conversation().handshake();
    const a = conv.nextSeq('A');
    const b = conv.nextSeq('B');
    // Both FINs cross: each acknowledges only the data before the other's FIN.
    conv.send('A', TCP_FIN | TCP_ACK, undefined, { ack: b }).send('B', TCP_FIN | TCP_ACK, undefined, { ack: a });
    conv.send('A', TCP_ACK, undefined, { seq: a + 1, ack: b + 1 }).send('B', TCP_ACK, undefined, { seq: b + 1, ack: a + 1 });
    const c = ladderOf(conv.packets).connections[0]!;
    expect(c.segments.slice(3).map((x) => JSON.stringify(x.states))).toEqual([
      '{"A":"FIN-WAIT-1","B":"CLOSE-WAIT"}',
      '{"A":"CLOSING","B":"LAST-ACK"}',
      '{"B":"CLOSED"}',
      '{"A":"TIME-WAIT"}',
    ]);
    const reset = ladderOf(new Conversation().handshake().send('B', TCP_RST | TCP_ACK).packets).connections[0]!;
    expect(reset.segments.at(-1)!.states).toEqual({ A: 'CLOSED', B: 'CLOSED' });
    const midway = ladderOf(new Conversation().handshake().close().packets.slice(3)).connections[0]!;
    expect(midway.segments.map((x) => JSON.stringify(x.states))).toEqual(['{"A":"FIN-WAIT-1","B":"CLOSE-WAIT"}', '{"A":"TIME-WAIT","B":"LAST-ACK"}', '{"B":"CLOSED"}']);
  });

  it('shows_windows_scaled_once_both_syns_carried_window_scale', () => {
    const conv = new Conversation().handshake().send('A', TCP_ACK, undefined, { window: 500 });
    const c = ladderOf(conv.packets).connections[0]!;
    expect(c.segments.map((s) => s.window)).toEqual([65535, 65535, 65535 * 128, 500 * 128]);
    const plain = new Conversation().handshake({ a: { mss: 1460 }, b: { mss: 1460, windowScale: 7 } }).send('A', TCP_ACK, undefined, { window: 500 });
    expect(ladderOf(plain.packets).connections[0]!.segments.at(-1)!.window).toBe(500);
  });

  it('flags_a_retransmission_of_data_and_of_a_syn', () => {
    const conv = new Conversation();
    conv.send('A', TCP_SYN).wait(1_000_000).send('A', TCP_SYN, undefined, { seq: 1000 }).send('B', TCP_SYN | TCP_ACK).send('A', TCP_ACK);
    const seq = conv.nextSeq('A');
    conv.send('A', TCP_PSH | TCP_ACK, new Uint8Array(50)).wait(200_000).send('A', TCP_PSH | TCP_ACK, new Uint8Array(50), { seq }).send('B', TCP_ACK);
    const c = ladderOf(conv.packets).connections[0]!;
    expect(c.segments.map(line)).toEqual([
      'A→B SYN 0/-/0',
      'A→B SYN 0/-/0 retransmission',
      'B→A SYN, ACK 0/1/0',
      'A→B ACK 1/1/0',
      'A→B PSH, ACK 1/1/50',
      'A→B PSH, ACK 1/1/50 retransmission',
      'B→A ACK 1/51/0',
    ]);
    expect(c.summary.retransmissions).toBe(2);
    expect(c.summary.handshake).toBe('complete');
  });

  it('counts_duplicate_acks_and_shows_sack_blocks_relative_to_the_senders_isn', () => {
    const conv = new Conversation({ addr: '198.18.0.1', port: 40010, isn: 100 }, { addr: '198.18.0.2', port: 80, isn: 7000 }).handshake();
    const s = conv.nextSeq('B');
    conv.send('B', TCP_ACK, new Uint8Array(100));
    conv.send('B', TCP_ACK, new Uint8Array(100), { seq: s + 200 }); // the segment at s+100 is lost
    conv.send('A', TCP_ACK, undefined, { ack: s + 100, options: { sack: [[s + 200, s + 300]] } });
    conv.send('B', TCP_ACK, new Uint8Array(100), { seq: s + 300 });
    conv.send('A', TCP_ACK, undefined, { ack: s + 100, options: { sack: [[s + 200, s + 400]] } });
    conv.send('A', TCP_ACK, undefined, { ack: s + 100, options: { sack: [[s + 200, s + 400]] } });
    conv.send('B', TCP_ACK, new Uint8Array(100), { seq: s + 100 });
    conv.send('A', TCP_ACK, undefined, { ack: s + 400 });
    const c = ladderOf(conv.packets).connections[0]!;
    const a = c.segments.filter((x) => x.from === 'A').slice(2);
    expect(a.map((x) => [x.ack, x.dupAck, x.sack])).toEqual([
      [101, 0, [[201, 301]]],
      [101, 1, [[201, 401]]],
      [101, 2, [[201, 401]]],
      [401, 0, []],
    ]);
    expect(segmentLabel(a[1]!)).toBe('ACK Seq=1 Ack=101 Win=8388480 Len=0 SACK=201-401 [dup ACK #1]');
    expect(c.segments.at(-2)!.outOfOrder).toBe(true);
  });

  it('ends_a_connection_with_rst_and_counts_the_reset', () => {
    const conv = new Conversation().handshake().send('B', TCP_RST | TCP_ACK);
    const c = ladderOf(conv.packets).connections[0]!;
    expect(c.segments.map(line).at(-1)).toBe('B→A RST, ACK 1/1/0');
    expect(c.summary).toMatchObject({ resets: 1, ending: 'rst', handshake: 'complete' });
  });

  it('a_refused_syn_is_a_partial_handshake_ending_in_rst', () => {
    const conv = new Conversation({ addr: '198.18.0.1', port: 50000, isn: 1 }, { addr: '198.18.0.2', port: 9, isn: 0 }).send('A', TCP_SYN).send('B', TCP_RST | TCP_ACK, undefined, { seq: 0 });
    const c = ladderOf(conv.packets).connections[0]!;
    expect(c.segments.map(line)).toEqual(['A→B SYN 0/-/0', 'B→A RST, ACK 1/1/0']);
    expect(c.summary).toMatchObject({ handshake: 'partial', ending: 'rst' });
  });

  it('guesses_a_and_b_by_port_when_the_syn_was_not_captured', () => {
    const conv = new Conversation({ addr: '198.18.0.1', port: 51000, isn: 77 }, { addr: '198.18.0.2', port: 80, isn: 99 })
      .handshake()
      .send('B', TCP_PSH | TCP_ACK, text('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi'))
      .send('A', TCP_ACK);
    const c = ladderOf(conv.packets.slice(3)).connections[0]!;
    expect(c.initiatorKnown).toBe(false);
    expect(c.a.port).toBe(51000);
    expect(c.segments.map(line)).toEqual(['B→A PSH, ACK 1/1/40', 'A→B ACK 1/41/0']);
    expect(c.summary.handshake).toBe('not captured');
    expect(c.segments[0]!.notes).toEqual([{ kind: 'http', line: 'HTTP/1.1 200 OK', overTls: false }]);
  });

  it('starts_a_new_connection_when_a_syn_with_a_new_isn_reuses_the_4_tuple', () => {
    const first = new Conversation().handshake().close();
    const again = new Conversation({ ...first.a, isn: 424242 }, first.b, first.packets.at(-1)!.ts + 1_000_000n).handshake().send('A', TCP_RST);
    const ladder = ladderOf([...first.packets, ...again.packets]);
    expect(ladder.connections.map((c) => [c.id, c.summary.packets, c.summary.ending])).toEqual([
      [1, 6, 'fin'],
      [2, 4, 'rst'],
    ]);
  });

  it('delivers_out_of_order_segments_when_the_hole_fills_and_ignores_retransmitted_bytes', () => {
    const conv = new Conversation({ addr: '198.18.0.1', port: 40001, isn: 10 }, { addr: '198.18.0.2', port: 80, isn: 20 }).handshake();
    const s = conv.nextSeq('A');
    const req = text('GET /split HTTP/1.1\r\nHost: x\r\n\r\n');
    conv.send('A', TCP_PSH | TCP_ACK, req.subarray(10), { seq: s + 10 });
    conv.send('A', TCP_ACK, req.subarray(0, 10), { seq: s });
    conv.send('A', TCP_PSH | TCP_ACK, req.subarray(0, 20), { seq: s });
    const c = ladderOf(conv.packets).connections[0]!;
    const notes = c.segments.map((x) => x.notes.map((n) => (n.kind === 'http' ? n.line : n.message)));
    expect(notes).toEqual([[], [], [], [], ['GET /split HTTP/1.1'], []]);
    // The segment that fills the hole is out of order (its bytes were never seen); the one after repeats bytes.
    expect(c.segments.map((x) => x.outOfOrder)).toEqual([false, false, false, false, true, false]);
    expect(c.segments.map((x) => x.retransmission)).toEqual([false, false, false, false, false, true]);
    expect(c.summary).toMatchObject({ retransmissions: 1, outOfOrder: 1 });
  });

  it('skips_a_datagram_captured_twice_within_50_microseconds', () => {
    const conv = new Conversation().handshake();
    const dup = { ...conv.packets[1]!, ts: conv.packets[1]!.ts + 10_000n };
    const ladder = ladderOf([conv.packets[0]!, conv.packets[1]!, dup, conv.packets[2]!]);
    expect(ladder.skipped).toEqual({ 'captured twice': 1 });
    expect(ladder.connections[0]!.summary.retransmissions).toBe(0);
  });

  it('follows_http_keep_alive_messages_by_content_length_and_chunked_framing', () => {
    const conv = new Conversation({ addr: '198.18.0.1', port: 40002, isn: 1 }, { addr: '198.18.0.2', port: 80, isn: 2 }).handshake();
    conv.send('A', TCP_PSH | TCP_ACK, text('POST /sink HTTP/1.1\r\nContent-Length: 20\r\n\r\nGET /fake HTTP/1.1\r\n'));
    conv.send('B', TCP_PSH | TCP_ACK, text('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n13\r\nGET /not HTTP/1.1\r\n\r\n'));
    conv.send('B', TCP_PSH | TCP_ACK, text('0\r\n\r\n'));
    conv.send('A', TCP_PSH | TCP_ACK, text('\r\nGET /second HTTP/1.1\r\nHost: x\r\n\r\n'));
    conv.send('B', TCP_PSH | TCP_ACK, text('HTTP/1.1 304 Not Modified\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'));
    const c = ladderOf(conv.packets).connections[0]!;
    const lines = c.segments.flatMap((x) => x.notes.map((n) => (n.kind === 'http' ? `${x.from} ${n.line}` : '')));
    expect(lines).toEqual(['A POST /sink HTTP/1.1', 'B HTTP/1.1 200 OK', 'A GET /second HTTP/1.1', 'B HTTP/1.1 304 Not Modified', 'B HTTP/1.1 200 OK']);
  });

  it('knows_a_response_to_head_has_no_body_even_with_a_content_length', () => {
    const conv = new Conversation({ addr: '198.18.0.1', port: 40004, isn: 1 }, { addr: '198.18.0.2', port: 80, isn: 2 }).handshake();
    conv.send('A', TCP_PSH | TCP_ACK, text('HEAD /big HTTP/1.1\r\n\r\nGET /small HTTP/1.1\r\n\r\n'));
    conv.send('B', TCP_PSH | TCP_ACK, text('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi'));
    const c = ladderOf(conv.packets).connections[0]!;
    const lines = c.segments.flatMap((x) => x.notes.map((n) => (n.kind === 'http' ? `${x.from} ${n.line}` : '')));
    expect(lines).toEqual(['A HEAD /big HTTP/1.1', 'A GET /small HTTP/1.1', 'B HTTP/1.1 100 Continue', 'B HTTP/1.1 200 OK', 'B HTTP/1.1 200 OK']);
  });

  it('reads_no_http_in_a_stream_that_does_not_start_with_it', () => {
    const conv = new Conversation({ addr: '198.18.0.1', port: 40003, isn: 1 }, { addr: '198.18.0.2', port: 22, isn: 2 }).handshake();
    conv.send('B', TCP_PSH | TCP_ACK, text('SSH-2.0-OpenSSH_9.2\r\n'));
    conv.send('A', TCP_PSH | TCP_ACK, text('ssh\r\nGET / HTTP/1.1\r\n\r\n'));
    const c = ladderOf(conv.packets).connections[0]!;
    expect(c.segments.flatMap((x) => x.notes)).toEqual([]);
    expect(c.tls).toBeUndefined();
  });

  it('leaves_non_tcp_and_fragments_out_and_counts_them', () => {
    const conv = new Conversation().handshake();
    const udp = Uint8Array.from(conv.packets[0]!.ip);
    udp[9] = 17;
    const frag = Uint8Array.from(conv.packets[0]!.ip);
    frag[6] = 0x20; // MF
    const ladder = ladderOf([{ ts: conv.packets[0]!.ts, ip: udp }, { ts: conv.packets[0]!.ts, ip: frag }, ...conv.packets]);
    expect(ladder.skipped).toEqual({ 'not TCP': 1, 'IPv4 fragment': 1 });
    expect(ladder.connections).toHaveLength(1);
  });

  it('never_throws_on_seeded_random_segments_and_keeps_its_invariants', () => {
    const rnd = mulberry32(0x5e95);
    const flagsChoice = [TCP_SYN, TCP_SYN | TCP_ACK, TCP_ACK, TCP_PSH | TCP_ACK, TCP_FIN | TCP_ACK, TCP_RST, TCP_RST | TCP_ACK, 0];
    const starts = [text('GET / HTTP/1.1\r\n\r\n'), Uint8Array.of(22, 3, 1, 0, 40), Uint8Array.of(23, 3, 3, 0, 20), text('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n')];
    for (let round = 0; round < 20; round++) {
      const packets: Packet[] = [];
      const ports = [40000 + rnd.int(3), 80 + rnd.int(2)];
      let t = 1_700_000_000_000_000_000n;
      for (let i = 0; i < 300; i++) {
        const fromA = rnd.int(2) === 0;
        const n = rnd.int(4) === 0 ? 0 : rnd.int(60);
        const payload = rnd.int(5) === 0 ? starts[rnd.int(starts.length)]! : rnd.bytes(n);
        packets.push({
          ts: (t += BigInt(rnd.int(3_000_000))),
          ip: tcpPacket({
            src: fromA ? '198.18.0.1' : '198.18.0.2',
            dst: fromA ? '198.18.0.2' : '198.18.0.1',
            sport: fromA ? ports[0]! : ports[1]!,
            dport: fromA ? ports[1]! : ports[0]!,
            seq: (fromA ? 1000 : 0xfffff000) + rnd.int(3000),
            ack: rnd.u32(),
            flags: flagsChoice[rnd.int(flagsChoice.length)]!,
            payload,
            window: rnd.int(65536),
            ...(rnd.int(4) === 0 ? { options: { mss: 1460, windowScale: rnd.int(16), sack: [[rnd.u32(), rnd.u32()]] as [number, number][] } } : {}),
          }),
        });
      }
      const l = ladderOf(packets);
      expect(l.connections.reduce((n, c) => n + c.summary.packets, 0)).toBe(packets.length);
      for (const c of l.connections) {
        for (const x of c.segments) expect(x.retransmission && x.outOfOrder).toBe(false);
        expect(c.summary.retransmissions).toBe(c.segments.filter((x) => x.retransmission).length);
      }
      parseXml(renderSvg(l.connections));
    }
  });
});
