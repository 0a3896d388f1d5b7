// TCP codec: kernel SYN / SYN-ACK / data / SACK literals parsed field by field and re-emitted
// byte for byte (Linux option layout), option and flag error paths, truncation, fuzzing.

import { describe, expect, it } from 'vitest';
import {
  describeFlags,
  emitTcp,
  fillTcpChecksum,
  parseTcp,
  segmentLength,
  TCP_ACK,
  TCP_CWR,
  TCP_ECE,
  TCP_FIN,
  TCP_HEADER_LEN,
  TCP_PSH,
  TCP_RST,
  TCP_SYN,
  TCP_URG,
  tcpLen,
  tcpOptionsLen,
  tcpReprOf,
  type TcpOptions,
  type TcpRepr,
  type TcpSegment,
} from '../../src/wire/tcp.js';
import { mulberry32, type Prng } from '../helpers/prng.js';
import { fixL4Checksum, hex, KERNEL, KERNEL_DATA, KERNEL_SACK, KERNEL_SYN, l4, SYN_ACK, toHex, TUNSTACK } from './fixtures.js';

const TCP_LITERALS: ReadonlyArray<readonly [string, Uint8Array, number, number]> = [
  ['KERNEL_SYN', l4(KERNEL_SYN), KERNEL, TUNSTACK],
  ['SYN_ACK', l4(SYN_ACK), TUNSTACK, KERNEL],
  ['KERNEL_DATA', l4(KERNEL_DATA), KERNEL, TUNSTACK],
  ['KERNEL_SACK', l4(KERNEL_SACK), KERNEL, TUNSTACK],
];

function parsed(bytes: Uint8Array, src = KERNEL, dst = TUNSTACK, verifyChecksum = true): TcpSegment {
  const r = parseTcp(bytes, src, dst, { verifyChecksum });
  if (!r.ok) throw new Error(`expected ok, got ${r.error}`);
  return r.value;
}

function errorOf(bytes: Uint8Array, src = KERNEL, dst = TUNSTACK, verifyChecksum = true): string | undefined {
  const r = parseTcp(bytes, src, dst, { verifyChecksum });
  return r.ok ? undefined : r.error;
}

function emitted(repr: TcpRepr, src = KERNEL, dst = TUNSTACK): Uint8Array {
  const out = new Uint8Array(tcpLen(repr));
  expect(emitTcp(repr, src, dst, out)).toBe(out.length);
  return out;
}

/** A KERNEL→TUNSTACK segment with these raw option bytes (padded by the caller), valid checksum. */
function withRawOptions(options: string, flags = TCP_ACK, payload = ''): Uint8Array {
  const opt = hex(options);
  const data = new TextEncoder().encode(payload);
  if (opt.length % 4 !== 0) throw new Error('options must be padded to 4 bytes');
  const seg = new Uint8Array(20 + opt.length + data.length);
  seg.set(hex('9d 78 00 09 00 00 00 01 00 00 00 02 00 00 01 00 00 00 00 00'));
  seg[12] = ((20 + opt.length) / 4) << 4;
  seg[13] = flags;
  seg.set(opt, 20);
  seg.set(data, 20 + opt.length);
  return fixL4Checksum(seg, KERNEL, TUNSTACK, 6);
}

function optionsOf(options: string): TcpOptions {
  return parsed(withRawOptions(options)).options;
}

describe('parseTcp', () => {
  it('parses_a_kernel_syn_with_mss_sackok_ts_wscale', () => {
    const s = parsed(l4(KERNEL_SYN));
    expect(s).toMatchObject({
      srcPort: 40312,
      dstPort: 9,
      seq: 0x1b2e8f55,
      ack: 0,
      headerLength: 40,
      flags: TCP_SYN,
      window: 64240,
      checksum: 0x9d27,
      urgentPointer: 0,
    });
    expect(s.options).toEqual({ mss: 1460, sackPermitted: true, timestamps: { tsVal: 2587640190, tsEcr: 0 }, windowScale: 7 });
    expect(s.payload.length).toBe(0);
    expect(segmentLength(s)).toBe(1);
  });

  it('parses_a_syn_ack_with_seq_and_ack_as_uint32', () => {
    const s = parsed(l4(SYN_ACK), TUNSTACK, KERNEL);
    expect(s).toMatchObject({ srcPort: 9, dstPort: 40312, seq: 12345678, ack: 0x1b2e8f56, window: 65535 });
    expect(s.flags).toBe(TCP_SYN | TCP_ACK);
    expect(s.options.timestamps).toEqual({ tsVal: 1000, tsEcr: 2587640190 });
  });

  it('parses_a_psh_ack_with_timestamps_and_a_payload_view', () => {
    const seg = l4(KERNEL_DATA);
    const s = parsed(seg);
    expect(s.flags).toBe(TCP_PSH | TCP_ACK);
    expect(s.headerLength).toBe(32);
    expect(s.options).toEqual({ timestamps: { tsVal: 0x9a3c4180, tsEcr: 1000 } });
    expect(new TextDecoder().decode(s.payload)).toBe('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(s.payload.buffer).toBe(KERNEL_DATA.buffer);
    expect(s.payload.byteOffset).toBe(seg.byteOffset + 32);
    expect(segmentLength(s)).toBe(27);
  });

  it('parses_sack_blocks', () => {
    const s = parsed(l4(KERNEL_SACK));
    expect(s.options.sack).toEqual([
      [0x00bc6c4f, 0x00bc71ff],
      [0x00bc77af, 0x00bc7d5f],
    ]);
    expect(s.options.timestamps).toEqual({ tsVal: 0x9a3c4190, tsEcr: 1024 });
  });

  it('reads_seq_numbers_with_the_top_bit_set_as_unsigned', () => {
    const seg = emitted({ srcPort: 1, dstPort: 2, seq: 0xfffffffe, ack: 0x80000000, flags: TCP_ACK, window: 0 });
    const s = parsed(seg);
    expect(s.seq).toBe(0xfffffffe);
    expect(s.ack).toBe(0x80000000);
  });

  describe('option parsing', () => {
    it('stops_at_eol', () => {
      expect(optionsOf('02 04 05 b4 00 03 03 07')).toEqual({ mss: 1460 });
    });

    it('skips_nops', () => {
      expect(optionsOf('01 01 01 01 01 03 03 07')).toEqual({ windowScale: 7 });
    });

    it('rejects_option_length_0_or_1', () => {
      expect(errorOf(withRawOptions('01 01 08 00'))).toBe('bad-option');
      expect(errorOf(withRawOptions('01 01 1e 01'))).toBe('bad-option');
      expect(errorOf(withRawOptions('02 00 00 00'))).toBe('bad-option');
    });

    it('rejects_an_option_running_past_the_header', () => {
      expect(errorOf(withRawOptions('01 01 08 0a 00 00 00 00'))).toBe('bad-option');
      expect(errorOf(withRawOptions('02 04 05 b4 01 01 01 02'))).toBe('bad-option'); // kind 2 as the last byte, no length
    });

    it('ignores_a_known_option_with_the_wrong_length', () => {
      expect(optionsOf('02 03 05 01 03 03 07 00')).toEqual({ windowScale: 7 }); // MSS of length 3
      expect(optionsOf('03 04 07 00')).toEqual({}); // window scale of length 4
      expect(optionsOf('04 03 00 00')).toEqual({}); // SACK-permitted of length 3
      expect(optionsOf('08 08 00 00 00 01 00 00')).toEqual({}); // timestamps of length 8
    });

    it('ignores_a_sack_option_whose_length_is_not_2_plus_8n', () => {
      expect(optionsOf('01 01 05 0b 00 00 00 01 00 00 00 02 00 00 00 00')).toEqual({});
      expect(optionsOf('01 01 05 02')).toEqual({});
    });

    it('parses_four_sack_blocks', () => {
      const blocks = '00 00 00 01 00 00 00 02 00 00 00 03 00 00 00 04 00 00 00 05 00 00 00 06 ff ff ff f0 00 00 00 10';
      expect(optionsOf(`01 01 05 22 ${blocks}`).sack).toEqual([
        [1, 2],
        [3, 4],
        [5, 6],
        [0xfffffff0, 0x10],
      ]);
    });

    it('skips_unknown_options_by_their_length', () => {
      // MPTCP (30) and a TFO cookie (34) among known ones.
      expect(optionsOf('1e 06 00 00 00 00 02 04 05 78 22 02 01 03 03 0e')).toEqual({ mss: 1400, windowScale: 14 });
    });

    it('keeps_the_raw_window_scale_above_14', () => {
      expect(optionsOf('01 03 03 1f').windowScale).toBe(31);
    });
  });

  describe('errors', () => {
    it('rejects_fewer_than_20_bytes_as_truncated', () => {
      for (let n = 0; n < 20; n++) expect(errorOf(l4(KERNEL_SYN).subarray(0, n))).toBe('truncated');
    });

    it('rejects_data_offset_below_5', () => {
      for (const off of [0, 3, 4]) {
        const b = Uint8Array.from(l4(KERNEL_DATA));
        b[12] = off << 4;
        expect(errorOf(b)).toBe('bad-data-offset');
      }
    });

    it('rejects_data_offset_beyond_the_bytes', () => {
      const b = Uint8Array.from(l4(KERNEL_SYN));
      b[12] = 0xf0; // 60 bytes in a 40-byte segment
      expect(errorOf(b)).toBe('bad-data-offset');
    });

    it('rejects_syn_with_rst_and_syn_with_fin', () => {
      expect(errorOf(withRawOptions('', TCP_SYN | TCP_RST))).toBe('bad-flags');
      expect(errorOf(withRawOptions('', TCP_SYN | TCP_FIN))).toBe('bad-flags');
      expect(errorOf(withRawOptions('', TCP_SYN | TCP_FIN | TCP_RST | TCP_ACK))).toBe('bad-flags');
    });

    it('accepts_fin_ack_rst_ack_and_ecn_syn', () => {
      expect(errorOf(withRawOptions('', TCP_FIN | TCP_ACK))).toBeUndefined();
      expect(errorOf(withRawOptions('', TCP_RST | TCP_ACK))).toBeUndefined();
      expect(errorOf(withRawOptions('', TCP_SYN | TCP_ECE | TCP_CWR))).toBeUndefined();
    });

    it('rejects_a_bad_checksum_unless_told_not_to_verify', () => {
      const b = Uint8Array.from(l4(KERNEL_DATA));
      b[40] ^= 1;
      expect(errorOf(b)).toBe('bad-checksum');
      expect(errorOf(b, KERNEL, TUNSTACK, false)).toBeUndefined();
    });

    it('covers_the_pseudo_header', () => {
      expect(errorOf(l4(KERNEL_SYN), KERNEL, KERNEL)).toBe('bad-checksum');
    });

    it('ignores_the_reserved_bits_of_byte_12', () => {
      const b = Uint8Array.from(l4(KERNEL_DATA));
      b[12] |= 0x0f;
      fixL4Checksum(b, KERNEL, TUNSTACK, 6);
      expect(parsed(b).headerLength).toBe(32);
    });
  });

  it('handles_every_prefix_of_every_literal_without_throwing', () => {
    for (const [name, seg, src, dst] of TCP_LITERALS) {
      const hl = (seg[12]! >>> 4) * 4;
      for (let n = 0; n <= seg.length; n++) {
        const prefix = seg.subarray(0, n);
        const e = errorOf(prefix, src, dst);
        if (n < 20) expect(e, `${name}[0,${n})`).toBe('truncated');
        else if (n < hl) expect(e, `${name}[0,${n})`).toBe('bad-data-offset');
        else if (n === seg.length) expect(e, name).toBeUndefined();
        else expect(e === 'bad-checksum' || e === undefined, `${name}[0,${n})`).toBe(true);
        if (n >= hl) expect(parsed(prefix, src, dst, false).payload.length).toBe(n - hl);
      }
    }
  });
});

describe('emitTcp', () => {
  it('round_trips_every_literal_byte_for_byte_with_the_linux_option_layout', () => {
    for (const [name, seg, src, dst] of TCP_LITERALS) {
      const out = emitted(tcpReprOf(parsed(seg, src, dst)), src, dst);
      expect(toHex(out), name).toBe(toHex(seg));
    }
  });

  it('leaves_the_checksum_to_the_link_when_asked_and_fill_tcp_checksum_restores_it', () => {
    const repr: TcpRepr = { srcPort: 80, dstPort: 40000, seq: 1, ack: 2, flags: TCP_ACK | TCP_PSH, window: 512, payload: new Uint8Array(3000).fill(7) };
    const len = tcpLen(repr);
    const full = new Uint8Array(20 + len);
    const bare = new Uint8Array(20 + len);
    for (const b of [full, bare]) {
      b.set([0x45, 0, (20 + len) >> 8, (20 + len) & 0xff, 0, 0, 0x40, 0, 64, 6, 0, 0, 198, 18, 0, 2, 198, 18, 0, 1]);
    }
    emitTcp(repr, TUNSTACK, KERNEL, full, 20);
    emitTcp(repr, TUNSTACK, KERNEL, bare, 20, { checksum: false });
    expect([bare[36], bare[37]]).toEqual([0, 0]);
    expect(toHex(bare.subarray(38))).toBe(toHex(full.subarray(38)));
    expect(fillTcpChecksum(bare)).toBe(true);
    expect(toHex(bare)).toBe(toHex(full));
    expect(parseTcp(bare.subarray(20), TUNSTACK, KERNEL).ok).toBe(true);
    // Not IPv4/TCP: left alone.
    const udp = full.slice();
    udp[9] = 17;
    expect(fillTcpChecksum(udp)).toBe(false);
    expect(fillTcpChecksum(new Uint8Array(10))).toBe(false);
  });

  it('lays_out_options_like_linux', () => {
    const layout = (options: TcpOptions): string =>
      toHex(emitted({ srcPort: 1, dstPort: 2, seq: 0, ack: 0, flags: TCP_SYN, window: 0, options }).subarray(20));
    expect(layout({ mss: 1460, sackPermitted: true, windowScale: 7 })).toBe('02 04 05 b4 01 01 04 02 01 03 03 07');
    expect(layout({ mss: 536 })).toBe('02 04 02 18');
    expect(layout({ timestamps: { tsVal: 1, tsEcr: 2 } })).toBe('01 01 08 0a 00 00 00 01 00 00 00 02');
    expect(layout({ windowScale: 0 })).toBe('01 03 03 00');
    expect(layout({ sack: [[1, 2]] })).toBe('01 01 05 0a 00 00 00 01 00 00 00 02');
    expect(layout({ sackPermitted: false, sack: [] })).toBe('');
  });

  it('computes_option_lengths', () => {
    expect(tcpOptionsLen(undefined)).toBe(0);
    expect(tcpOptionsLen({})).toBe(0);
    expect(tcpOptionsLen({ mss: 1460, sackPermitted: true, timestamps: { tsVal: 0, tsEcr: 0 }, windowScale: 7 })).toBe(20);
    expect(tcpOptionsLen({ sackPermitted: true })).toBe(4);
    expect(tcpOptionsLen({ timestamps: { tsVal: 0, tsEcr: 0 }, sack: [[1, 2], [3, 4], [5, 6]] })).toBe(40);
    const repr: TcpRepr = { srcPort: 1, dstPort: 2, seq: 0, ack: 0, flags: 0, window: 0 };
    expect(tcpLen(repr)).toBe(20);
    expect(tcpLen({ ...repr, options: { mss: 1 }, payload: new Uint8Array(7) })).toBe(31);
  });

  it('throws_range_error_when_options_exceed_40_bytes', () => {
    const repr: TcpRepr = {
      srcPort: 1, dstPort: 2, seq: 0, ack: 0, flags: TCP_ACK, window: 0,
      options: { mss: 1460, timestamps: { tsVal: 0, tsEcr: 0 }, sack: [[1, 2], [3, 4], [5, 6]] },
    };
    expect(tcpOptionsLen(repr.options)).toBe(44);
    expect(() => emitTcp(repr, 1, 2, new Uint8Array(100))).toThrow(RangeError);
    const fiveBlocks: TcpOptions = { sack: [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10]] };
    expect(() => emitTcp({ ...repr, options: fiveBlocks }, 1, 2, new Uint8Array(100))).toThrow(RangeError);
  });

  it('throws_range_error_on_other_caller_mistakes', () => {
    const repr: TcpRepr = { srcPort: 1, dstPort: 2, seq: 0, ack: 0, flags: TCP_ACK, window: 0, payload: new Uint8Array(4) };
    expect(() => emitTcp(repr, 1, 2, new Uint8Array(23))).toThrow(RangeError);
    expect(() => emitTcp(repr, 1, 2, new Uint8Array(24), 1)).toThrow(RangeError);
    expect(() => emitTcp({ ...repr, window: 65536 }, 1, 2, new Uint8Array(24))).toThrow(RangeError);
    expect(() => emitTcp({ ...repr, options: { mss: 70000 } }, 1, 2, new Uint8Array(40))).toThrow(RangeError);
    expect(() => emitTcp({ ...repr, options: { windowScale: 256 } }, 1, 2, new Uint8Array(40))).toThrow(RangeError);
  });

  it('wraps_seq_and_ack_modulo_2_32', () => {
    const s = parsed(emitted({ srcPort: 1, dstPort: 2, seq: 2 ** 32 + 5, ack: -1, flags: TCP_ACK, window: 1 }));
    expect(s.seq).toBe(5);
    expect(s.ack).toBe(0xffffffff);
  });

  it('writes_the_urgent_pointer', () => {
    const repr: TcpRepr = { srcPort: 1, dstPort: 2, seq: 0, ack: 0, flags: TCP_ACK | TCP_URG, window: 1 };
    const s = parsed(emitted({ ...repr, urgentPointer: 0xabcd, payload: new Uint8Array(3) }));
    expect(s.urgentPointer).toBe(0xabcd);
    expect(describeFlags(s.flags)).toBe('ACK,URG');
  });

  it('writes_at_an_offset_and_skips_copying_a_payload_already_in_place', () => {
    const seg = l4(KERNEL_DATA);
    const out = new Uint8Array(100).fill(0xaa);
    out.set(seg.subarray(32), 10 + 32);
    const repr = { ...tcpReprOf(parsed(seg)), payload: out.subarray(42, 42 + 27) };
    expect(emitTcp(repr, KERNEL, TUNSTACK, out, 10)).toBe(59);
    expect(toHex(out.subarray(10, 69))).toBe(toHex(seg));
    expect(out[9]).toBe(0xaa);
    expect(out[69]).toBe(0xaa);
  });

  it('round_trips_2000_random_segments', () => {
    const rng = mulberry32(9293);
    const buf = new Uint8Array(2000);
    for (let i = 0; i < 2000; i++) {
      const repr = randomRepr(rng);
      const n = emitTcp(repr, KERNEL, TUNSTACK, buf);
      const s = parsed(buf.subarray(0, n));
      const { payload, ...rest } = tcpReprOf(s);
      const { payload: wantPayload, ...wantRest } = repr;
      expect(rest).toEqual({ urgentPointer: 0, options: {}, ...wantRest, seq: repr.seq >>> 0, ack: repr.ack >>> 0 });
      expect(toHex(payload ?? new Uint8Array(0))).toBe(toHex(wantPayload ?? new Uint8Array(0)));
    }
  });
});

describe('segmentLength / describeFlags', () => {
  it('counts_syn_and_fin_in_seg_len', () => {
    const p = new Uint8Array(10);
    expect(segmentLength({ flags: TCP_SYN, payload: new Uint8Array(0) })).toBe(1);
    expect(segmentLength({ flags: TCP_SYN | TCP_ACK, payload: p })).toBe(11);
    expect(segmentLength({ flags: TCP_FIN | TCP_ACK, payload: p })).toBe(11);
    expect(segmentLength({ flags: TCP_ACK, payload: p })).toBe(10);
    expect(segmentLength({ flags: TCP_RST, payload: new Uint8Array(0) })).toBe(0);
  });

  it('prints_flags_like_tcpdump_order', () => {
    expect(describeFlags(TCP_SYN | TCP_ACK)).toBe('SYN,ACK');
    expect(describeFlags(TCP_FIN | TCP_PSH | TCP_ACK)).toBe('FIN,PSH,ACK');
    expect(describeFlags(TCP_RST)).toBe('RST');
    expect(describeFlags(0xff)).toBe('SYN,FIN,RST,PSH,ACK,URG,ECE,CWR');
    expect(describeFlags(0)).toBe('none');
  });

  it('has_the_rfc9293_flag_bits', () => {
    expect([TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK, TCP_URG, TCP_ECE, TCP_CWR]).toEqual([1, 2, 4, 8, 16, 32, 64, 128]);
    expect(TCP_HEADER_LEN).toBe(20);
  });
});

describe('parseTcp fuzzing', () => {
  function violation(bytes: Uint8Array, verifyChecksum: boolean): string | undefined {
    const r = parseTcp(bytes, KERNEL, TUNSTACK, { verifyChecksum });
    if (!r.ok) return undefined;
    const s = r.value;
    if (s.headerLength < 20 || s.headerLength > 60 || s.headerLength > bytes.length) return `headerLength ${s.headerLength}`;
    if (s.payload.length !== bytes.length - s.headerLength) return 'payload length';
    if ((s.flags & TCP_SYN) !== 0 && (s.flags & (TCP_RST | TCP_FIN)) !== 0) return 'impossible flags accepted';
    if (s.seq < 0 || s.seq > 0xffffffff || s.ack < 0 || s.ack > 0xffffffff) return 'seq/ack not uint32';
    const sack = s.options.sack;
    if (sack !== undefined && (sack.length < 1 || sack.length > 4)) return `sack blocks ${sack.length}`;
    return undefined;
  }

  it('never_throws_on_20000_mutated_segments_and_re_parses_what_it_re_emits', () => {
    const rng = mulberry32(9293_7323);
    const out = new Uint8Array(200);
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      const [, seed] = TCP_LITERALS[rng.int(TCP_LITERALS.length)]!;
      const m = rng.mutate(seed);
      if (rng.next() < 0.5 && m.length >= 20) fixL4Checksum(m, KERNEL, TUNSTACK, 6);
      for (const verify of [true, false]) {
        const v = violation(m, verify);
        if (v !== undefined) expect.fail(`${v} for ${toHex(m)}`);
      }
      const r = parseTcp(m, KERNEL, TUNSTACK, { verifyChecksum: false });
      if (!r.ok) continue;
      accepted++;
      // Re-emitting what was understood gives a segment that parses back to the same record.
      const repr = tcpReprOf(r.value);
      if (tcpOptionsLen(repr.options) > 40) continue;
      const n = emitTcp(repr, KERNEL, TUNSTACK, out);
      const back = parseTcp(out.subarray(0, n), KERNEL, TUNSTACK);
      if (!back.ok) expect.fail(`re-emitted segment rejected: ${back.error}`);
      expect(back.value.options).toEqual(r.value.options);
      expect(back.value.seq).toBe(r.value.seq);
    }
    expect(accepted).toBeGreaterThan(5000);
  });

  it('never_throws_on_20000_random_byte_strings', () => {
    const rng = mulberry32(793);
    for (let i = 0; i < 20_000; i++) {
      const b = rng.bytes(20 + rng.int(50));
      b[12] = (5 + rng.int(11)) << 4; // plausible data offsets so option parsing runs
      if (rng.next() < 0.5) b[13] &= ~TCP_SYN;
      const v = violation(b, false);
      if (v !== undefined) expect.fail(`${v} for ${toHex(b)}`);
    }
  });
});

function randomRepr(rng: Prng): TcpRepr {
  const options: TcpOptions = {};
  if (rng.next() < 0.5) options.mss = rng.int(0x10000);
  if (rng.next() < 0.5) options.windowScale = rng.int(15);
  if (rng.next() < 0.5) options.sackPermitted = true;
  if (rng.next() < 0.5) options.timestamps = { tsVal: rng.u32(), tsEcr: rng.u32() };
  const room = 40 - tcpOptionsLen(options);
  const maxBlocks = Math.min(4, Math.floor((room - 4) / 8));
  if (maxBlocks > 0 && rng.next() < 0.5) {
    options.sack = Array.from({ length: 1 + rng.int(maxBlocks) }, (): [number, number] => [rng.u32(), rng.u32()]);
  }
  const flags = rng.int(256) & ~(rng.next() < 0.5 ? TCP_SYN : TCP_RST | TCP_FIN);
  return {
    srcPort: rng.int(0x10000),
    dstPort: rng.int(0x10000),
    seq: rng.u32(),
    ack: rng.u32(),
    flags: (flags & TCP_SYN) !== 0 ? flags & ~(TCP_RST | TCP_FIN) : flags,
    window: rng.int(0x10000),
    urgentPointer: rng.int(0x10000),
    options,
    payload: rng.bytes(rng.int(100)),
  };
}
