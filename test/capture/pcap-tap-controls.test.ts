// PcapTap's capture controls over an in-test Link: state-change comments on the packet that caused them
// (inbound, outbound, several in one batch), rotation into complete files that repeat the live
// connections' secrets, the --pcap-port filter (with ICMP errors about the port), and onError; plus the
// pieces under them (packetFlow, causeOf, parseSize, rotatedPath, multiple opt_comment options).

import { describe, expect, it } from 'vitest';
import { encodeEnhancedPacket, encodeInterfaceDescription, encodeSectionHeader } from '../../src/capture/pcapng.js';
import { type EpbBlock, type PcapngFile, readPcapng } from '../../src/capture/pcapng-reader.js';
import { parseSize, describeCaptureError } from '../../src/cli/capture-options.js';
import type { BatchReceiver, Link } from '../../src/link/link.js';
import { causeOf, packetFlow, portFilter } from '../../src/link/pcap-flow.js';
import { type CaptureSink, type MemorySink, PcapTap, memorySink, openCaptureSink, rotatedPath } from '../../src/link/pcap-tap.js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseIpv4Addr } from '../../src/wire/addr.js';
import { emitIcmp } from '../../src/wire/icmp.js';
import { emitIpv4Header, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from '../../src/wire/ipv4.js';
import { emitTcp, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, tcpLen, type TcpRepr } from '../../src/wire/tcp.js';
import { emitUdp } from '../../src/wire/udp.js';

const KERNEL = parseIpv4Addr('198.18.0.1')!;
const TUNSTACK = parseIpv4Addr('198.18.0.2')!;

class FakeLink implements Link {
  readonly name = 'fake0';
  readonly mtu = 1500;
  receiver: BatchReceiver | undefined;
  setReceiver(receiver: BatchReceiver): void {
    this.receiver = receiver;
  }
  send(): void {}
  close(): Promise<void> {
    return Promise.resolve();
  }
}

function tcp(src: number, dst: number, repr: Partial<TcpRepr> & { srcPort: number; dstPort: number }): Uint8Array {
  const r: TcpRepr = { seq: 1000, ack: 0, flags: TCP_ACK, window: 65535, ...repr };
  const len = tcpLen(r);
  const pkt = new Uint8Array(20 + len);
  emitIpv4Header({ src, dst, protocol: IPPROTO_TCP, payloadLength: len }, pkt, 0);
  emitTcp(r, src, dst, pkt, 20);
  return pkt;
}

function udp(src: number, dst: number, srcPort: number, dstPort: number): Uint8Array {
  const payload = new Uint8Array([1, 2, 3]);
  const pkt = new Uint8Array(20 + 8 + payload.length);
  emitIpv4Header({ src, dst, protocol: IPPROTO_UDP, payloadLength: 8 + payload.length }, pkt, 0);
  emitUdp({ srcPort, dstPort, payload }, src, dst, pkt, 20);
  return pkt;
}

function icmp(src: number, dst: number, msg: Parameters<typeof emitIcmp>[0], len: number): Uint8Array {
  const pkt = new Uint8Array(20 + len);
  emitIpv4Header({ src, dst, protocol: IPPROTO_ICMP, payloadLength: len }, pkt, 0);
  emitIcmp(msg, pkt, 20);
  return pkt;
}

/** The kernel's 198.18.0.1:40312 talking to tunstack's :80. */
const conn = { remoteAddr: KERNEL, remotePort: 40312, localPort: 80 };
const inSeg = (flags: number, extra: Partial<TcpRepr> = {}) => tcp(KERNEL, TUNSTACK, { srcPort: 40312, dstPort: 80, flags, ...extra });
const outSeg = (flags: number, extra: Partial<TcpRepr> = {}) => tcp(TUNSTACK, KERNEL, { srcPort: 80, dstPort: 40312, flags, ...extra });
const change = (from: string, to: string) => ({ ...conn, from, to, text: `198.18.0.1:40312 → :80 ${from} → ${to}` });

function read(bytes: Uint8Array): PcapngFile {
  const r = readPcapng(bytes);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

function epbs(file: PcapngFile): EpbBlock[] {
  return file.blocks.filter((b): b is EpbBlock => b.kind === 'epb');
}

function setup(options: ConstructorParameters<typeof PcapTap>[2] = {}) {
  const link = new FakeLink();
  const sink = memorySink();
  let t = 1_700_000_000_000_000_000n;
  const tap = new PcapTap(link, sink, { clock: () => (t += 1000n), ...options });
  return { link, sink, tap };
}

describe('state-change comments', () => {
  it('puts_each_change_on_the_inbound_segment_that_caused_it', () => {
    const { link, sink, tap } = setup();
    // One batch: the handshake's ACK, then data, then a FIN (the stack reports its changes after the batch).
    tap.setReceiver(() => {
      tap.noteStateChange(change('SYN-RECEIVED', 'ESTABLISHED'));
      tap.noteStateChange(change('ESTABLISHED', 'CLOSE-WAIT'));
    });
    link.receiver!([inSeg(TCP_ACK), inSeg(TCP_ACK | TCP_PSH, { payload: new Uint8Array(10) }), inSeg(TCP_ACK | TCP_FIN)]);
    const e = epbs(read(sink.bytes()));
    expect(e.map((x) => x.comments)).toEqual([
      ['198.18.0.1:40312 → :80 SYN-RECEIVED → ESTABLISHED'],
      [],
      ['198.18.0.1:40312 → :80 ESTABLISHED → CLOSE-WAIT'],
    ]);
  });

  it('puts_fin_wait_2_on_the_ack_and_time_wait_on_the_fin_of_one_batch', () => {
    const { link, sink, tap } = setup();
    tap.setReceiver(() => {
      tap.noteStateChange(change('FIN-WAIT-1', 'FIN-WAIT-2'));
      tap.noteStateChange(change('FIN-WAIT-2', 'TIME-WAIT'));
    });
    link.receiver!([inSeg(TCP_ACK), inSeg(TCP_ACK | TCP_FIN)]);
    expect(epbs(read(sink.bytes())).map((x) => x.comments)).toEqual([
      ['198.18.0.1:40312 → :80 FIN-WAIT-1 → FIN-WAIT-2'],
      ['198.18.0.1:40312 → :80 FIN-WAIT-2 → TIME-WAIT'],
    ]);
  });

  it('puts_a_change_without_an_inbound_cause_on_the_next_segment_sent_on_that_connection', () => {
    const { sink, tap } = setup();
    const other = tcp(TUNSTACK, KERNEL, { srcPort: 80, dstPort: 50000, flags: TCP_ACK });
    tap.noteStateChange({ ...change('CLOSED', 'SYN-SENT') });
    tap.send([other, outSeg(TCP_SYN)]);
    // A timer's change that no packet carries is dropped, not stuck onto a later packet.
    tap.noteStateChange(change('TIME-WAIT', 'CLOSED'));
    tap.send([outSeg(TCP_ACK)]);
    tap.send([outSeg(TCP_ACK)]);
    expect(epbs(read(sink.bytes())).map((x) => x.comments)).toEqual([[], ['198.18.0.1:40312 → :80 CLOSED → SYN-SENT'], [], []]);
  });

  it('keeps_an_annotate_comment_and_adds_the_state_change_as_a_second_option', () => {
    const { link, sink, tap } = setup({ annotate: () => 'mark' });
    tap.setReceiver(() => tap.noteStateChange(change('LISTEN', 'SYN-RECEIVED')));
    link.receiver!([inSeg(TCP_SYN)]);
    expect(epbs(read(sink.bytes()))[0]!.comments).toEqual(['mark', '198.18.0.1:40312 → :80 LISTEN → SYN-RECEIVED']);
  });

  it('writes_repeated_opt_comment_options', () => {
    const bytes = Buffer.concat([
      encodeSectionHeader(),
      encodeInterfaceDescription(),
      encodeEnhancedPacket({ timestampNs: 1n, packet: new Uint8Array([0x45]), comment: 'a', comments: ['', 'bé', 'c'] }),
    ]);
    expect(epbs(read(bytes))[0]!.comments).toEqual(['a', 'bé', 'c']);
  });
});

describe('rotation', () => {
  it('starts_complete_files_that_repeat_the_secrets_of_live_connections_only', () => {
    const sinks: MemorySink[] = [];
    const { link, sink, tap } = setup({
      rotate: {
        maxBytes: 400,
        openNext: (i) => {
          expect(i).toBe(sinks.length + 1);
          const s = memorySink();
          sinks.push(s);
          return s;
        },
      },
    });
    tap.setReceiver(() => undefined);
    tap.addSecrets('CLIENT_TRAFFIC_SECRET_0 aaaa 01', 'aaaa');
    tap.addSecrets('CLIENT_TRAFFIC_SECRET_0 bbbb 02', 'bbbb');
    for (let i = 0; i < 6; i++) link.receiver!([inSeg(TCP_ACK, { payload: new Uint8Array(100) })]);
    tap.forgetSecrets('aaaa');
    for (let i = 0; i < 6; i++) tap.send([outSeg(TCP_ACK, { payload: new Uint8Array(100) })]);
    expect(sinks.length).toBeGreaterThanOrEqual(3);
    expect(tap.files).toBe(sinks.length + 1);
    expect(sink.closed).toBe(true);
    const all = [sink, ...sinks].map((s) => read(s.bytes()));
    let packets = 0;
    for (const [n, f] of all.entries()) {
      expect(f.blocks[0]!.kind).toBe('shb');
      expect(f.blocks[1]!.kind).toBe('idb');
      expect(f.problems).toEqual([]);
      packets += epbs(f).length;
      if (n === 0) continue;
      const secrets = f.blocks.map((b) => (b.kind === 'dsb' ? Buffer.from(b.data).toString() : ''));
      expect(f.blocks[2]!.kind).toBe('dsb'); // right after the IDB, before any packet
      const text = secrets.join('');
      expect(text).toContain('bbbb 02');
      // aaaa was forgotten before the outbound packets: files started after that do not carry it.
      if (epbs(f).every((e) => e.direction === 'outbound')) expect(text).not.toContain('aaaa');
    }
    expect(packets).toBe(12);
  });
});

describe('port filter', () => {
  it('keeps_that_ports_tcp_and_udp_and_icmp_errors_about_them_only', () => {
    const { link, sink, tap } = setup({ filter: portFilter([443]) });
    tap.setReceiver(() => undefined);
    const to443 = tcp(KERNEL, TUNSTACK, { srcPort: 40000, dstPort: 443, flags: TCP_SYN });
    const to80 = tcp(KERNEL, TUNSTACK, { srcPort: 40001, dstPort: 80, flags: TCP_SYN });
    const udp443 = udp(KERNEL, TUNSTACK, 40002, 443);
    const udp53 = udp(KERNEL, TUNSTACK, 40003, 53);
    const unreach443 = icmp(TUNSTACK, KERNEL, { type: 'dest-unreachable', code: 3, nextHopMtu: 0, quoted: udp443.subarray(0, 28) }, 8 + 28);
    const unreach53 = icmp(TUNSTACK, KERNEL, { type: 'dest-unreachable', code: 3, nextHopMtu: 0, quoted: udp53.subarray(0, 28) }, 8 + 28);
    const echo = icmp(KERNEL, TUNSTACK, { type: 'echo-request', id: 1, seq: 1, data: new Uint8Array(8) }, 16);
    link.receiver!([to443, to80, udp443, udp53, echo]);
    tap.send([tcp(TUNSTACK, KERNEL, { srcPort: 443, dstPort: 40000, flags: TCP_SYN | TCP_ACK }), tcp(TUNSTACK, KERNEL, { srcPort: 80, dstPort: 40001, flags: TCP_RST | TCP_ACK }), unreach443, unreach53]);
    const kept = epbs(read(sink.bytes())).map((e) => Buffer.from(e.data));
    expect(kept).toHaveLength(4);
    expect(kept[0]!.equals(Buffer.from(to443))).toBe(true);
    expect(kept[1]!.equals(Buffer.from(udp443))).toBe(true);
    expect(kept[3]!.equals(Buffer.from(unreach443))).toBe(true);
    expect(tap.packetsCaptured).toBe(4);
  });

  it('keeps_the_later_fragments_of_a_kept_datagram', () => {
    const keep = portFilter([443]);
    const first = udp(KERNEL, TUNSTACK, 40002, 443);
    first[6] = 0x20; // MF
    first[4] = 0x12; // id 0x1234
    first[5] = 0x34;
    const later = new Uint8Array(first);
    later[6] = 0x00;
    later[7] = 0x02; // offset 16 bytes, no transport header
    const stranger = new Uint8Array(later);
    stranger[5] = 0x35;
    expect([keep(first), keep(later), keep(stranger)]).toEqual([true, true, false]);
  });

  it('reads_ports_and_flags_without_trusting_lengths', () => {
    expect(packetFlow(inSeg(TCP_SYN))).toMatchObject({ srcPort: 40312, dstPort: 80, flags: TCP_SYN, laterFragment: false });
    expect(packetFlow(new Uint8Array([0x45, 0, 0, 20]))).toBeUndefined();
    const cut = packetFlow(inSeg(TCP_SYN).subarray(0, 22));
    expect(cut?.protocol).toBe(IPPROTO_TCP);
    expect(cut?.srcPort).toBeUndefined();
    expect(packetFlow(new Uint8Array(0))).toBeUndefined();
  });
});

describe('what caused a state change', () => {
  const S = TCP_SYN;
  const A = TCP_ACK;
  const F = TCP_FIN | TCP_ACK;
  const R = TCP_RST;
  it.each([
    [[S], 'LISTEN', 'SYN-RECEIVED', true, 0],
    [[S | A], 'SYN-SENT', 'ESTABLISHED', true, 0],
    [[A, A], 'SYN-RECEIVED', 'ESTABLISHED', true, 0],
    [[A, F], 'ESTABLISHED', 'CLOSE-WAIT', true, 1],
    [[A, F], 'FIN-WAIT-1', 'FIN-WAIT-2', true, 0],
    [[F], 'FIN-WAIT-1', 'FIN-WAIT-2', true, 0],
    [[A, A], 'LAST-ACK', 'CLOSED', true, 1],
    [[A, R], 'ESTABLISHED', 'CLOSED', true, 1],
    [[A, S], 'CLOSED', 'SYN-SENT', false, 1],
    [[A, F], 'ESTABLISHED', 'FIN-WAIT-1', false, 1],
    [[], 'ESTABLISHED', 'FIN-WAIT-1', false, -1],
  ] as const)('%j %s → %s (inbound %s) is segment %i', (segs, from, to, inbound, want) => {
    expect(causeOf(segs, from, to, inbound)).toBe(want);
  });
});

describe('capture option helpers', () => {
  it('parses_sizes_in_powers_of_1024', () => {
    expect([parseSize('10M'), parseSize('500k'), parseSize('4096'), parseSize('1G'), parseSize('2MB')]).toEqual([10 << 20, 500 << 10, 4096, 1 << 30, 2 << 20]);
    expect([parseSize('ten'), parseSize('-1'), parseSize('1.5M')]).toEqual([undefined, undefined, undefined]);
  });

  it('names_rotated_files_after_the_first', () => {
    expect(rotatedPath('captures/x.pcapng', 2)).toBe('captures/x-2.pcapng');
    expect(rotatedPath('/tmp/cap', 1)).toBe('/tmp/cap-1');
  });

  it('stops_on_a_failing_sink_tells_on_error_once_and_keeps_the_link_working', () => {
    const errors: Error[] = [];
    let writes = 0;
    const sink: CaptureSink = {
      write: () => {
        if (++writes > 1) throw Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
      },
      close: () => undefined,
    };
    const link = new FakeLink();
    const tap = new PcapTap(link, sink, { onError: (e) => errors.push(e) });
    const got: number[] = [];
    tap.setReceiver((p) => got.push(p.length));
    link.receiver!([inSeg(TCP_SYN)]);
    link.receiver!([inSeg(TCP_ACK)]);
    expect(got).toEqual([1, 1]);
    expect(errors).toHaveLength(1);
    expect(tap.capturing).toBe(false);
    expect(describeCaptureError(errors[0]!)).toMatch(/reader went away \(broken pipe\); tunstack keeps running/);
  });
});

describe('openCaptureSink', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tunstack-open-sink-'));

  it('gives_up_on_a_fifo_nobody_reads_with_a_message_and_without_blocking_the_event_loop', async () => {
    const fifo = join(dir, 'nobody.fifo');
    execFileSync('mkfifo', [fifo]);
    let waiting = 0;
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 10); // the event loop keeps turning while it waits
    await expect(openCaptureSink(fifo, { waitMs: 300, onWaiting: () => waiting++ })).rejects.toThrow(
      `nobody opened the FIFO ${fifo} for reading within 300 ms: start the reader first (e.g. wireshark -k -i ${fifo})`,
    );
    clearInterval(ticker);
    expect(waiting).toBe(1);
    expect(ticks).toBeGreaterThan(0);
  });

  it('opens_a_regular_file_creating_its_directory', async () => {
    const file = join(dir, 'sub', 'x.pcapng');
    const sink = await openCaptureSink(file);
    sink.write(new Uint8Array([1, 2, 3]));
    sink.close();
    expect([...readFileSync(file)]).toEqual([1, 2, 3]);
    rmSync(dir, { recursive: true, force: true });
  });
});
