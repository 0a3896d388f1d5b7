// IPv4 header codec: byte-literal round trips, every error path, truncation at every offset,
// and seeded fuzzing (the parser never throws).

import { describe, expect, it } from 'vitest';
import { internetChecksum } from '../../src/wire/checksum.js';
import {
  emitIpv4Header,
  IPPROTO_ICMP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IPV4_HEADER_LEN,
  ipv4ReprOf,
  parseIpv4,
  type Ipv4Header,
} from '../../src/wire/ipv4.js';
import { mulberry32 } from '../helpers/prng.js';
import { ALL_PACKETS, editIpv4, hex, KERNEL, KERNEL_SYN, PING_REPLY, PING_REQUEST, TUNSTACK, UDP_HELLO } from './fixtures.js';

function parsed(bytes: Uint8Array, verifyChecksum = true): Ipv4Header {
  const r = parseIpv4(bytes, { verifyChecksum });
  if (!r.ok) throw new Error(`expected ok, got ${r.error}`);
  return r.value;
}

function errorOf(bytes: Uint8Array, verifyChecksum = true): string | undefined {
  const r = parseIpv4(bytes, { verifyChecksum });
  return r.ok ? undefined : r.error;
}

describe('parseIpv4', () => {
  it('parses_a_linux_ping_echo_request_header', () => {
    const h = parsed(PING_REQUEST);
    expect(h).toMatchObject({
      headerLength: 20,
      dscpEcn: 0,
      totalLength: 84,
      id: 0x9c3e,
      dontFragment: true,
      moreFragments: false,
      fragmentOffset: 0,
      ttl: 64,
      protocol: IPPROTO_ICMP,
      checksum: 0x1243,
      src: KERNEL,
      dst: TUNSTACK,
    });
    expect(h.options.length).toBe(0);
    expect(h.payload.length).toBe(64);
    expect(h.payload[0]).toBe(8); // ICMP echo request
  });

  it('returns_views_not_copies', () => {
    const h = parsed(KERNEL_SYN);
    expect(h.payload.buffer).toBe(KERNEL_SYN.buffer);
    expect(h.payload.byteOffset).toBe(KERNEL_SYN.byteOffset + 20);
    expect(h.options.byteOffset).toBe(KERNEL_SYN.byteOffset + 20);
  });

  it('reads_the_protocol_of_each_literal', () => {
    expect(parsed(KERNEL_SYN).protocol).toBe(IPPROTO_TCP);
    expect(parsed(UDP_HELLO).protocol).toBe(IPPROTO_UDP);
    expect(parsed(UDP_HELLO).src >>> 0).toBe(KERNEL);
  });

  it('ignores_link_padding_after_total_length', () => {
    const padded = new Uint8Array(UDP_HELLO.length + 13).fill(0xee);
    padded.set(UDP_HELLO);
    const h = parsed(padded);
    expect(h.totalLength).toBe(33);
    expect(h.payload.length).toBe(13);
  });

  it('skips_header_options_and_verifies_the_checksum_over_them', () => {
    // IHL 6: one word of options (NOP NOP NOP EOL), then 4 bytes of payload.
    const b = editIpv4(hex('46 00 00 1c 00 01 00 00 40 fd 00 00 c6 12 00 01 c6 12 00 02 01 01 01 00 de ad be ef'), () => {});
    const h = parsed(b);
    expect(h.headerLength).toBe(24);
    expect(Array.from(h.options)).toEqual([1, 1, 1, 0]);
    expect(Array.from(h.payload)).toEqual([0xde, 0xad, 0xbe, 0xef]);
    expect(h.dontFragment).toBe(false);
    b[21] ^= 0xff; // an option byte is covered by the header checksum
    expect(errorOf(b)).toBe('bad-checksum');
  });

  it('reads_fragment_fields_in_bytes', () => {
    const b = editIpv4(UDP_HELLO, (x) => {
      x[6] = 0x20 | 0x00; // MF, DF clear, offset 0xb9 * 8 = 1480
      x[7] = 0xb9;
    });
    const h = parsed(b);
    expect(h).toMatchObject({ dontFragment: false, moreFragments: true, fragmentOffset: 1480 });
  });

  describe('errors', () => {
    it('rejects_fewer_than_20_bytes_as_truncated', () => {
      expect(errorOf(new Uint8Array(0))).toBe('truncated');
      expect(errorOf(PING_REQUEST.subarray(0, 19))).toBe('truncated');
    });

    it('rejects_a_version_other_than_4', () => {
      expect(errorOf(editIpv4(PING_REQUEST, (b) => (b[0] = 0x65)))).toBe('bad-version');
      expect(errorOf(editIpv4(PING_REQUEST, (b) => (b[0] = 0x05)))).toBe('bad-version');
    });

    it('rejects_ihl_below_5', () => {
      for (const ihl of [0, 1, 4]) {
        const b = Uint8Array.from(PING_REQUEST);
        b[0] = 0x40 | ihl;
        expect(errorOf(b)).toBe('bad-header-length');
      }
    });

    it('rejects_a_header_longer_than_the_bytes', () => {
      const b = Uint8Array.from(PING_REQUEST.subarray(0, 40));
      b[0] = 0x4f; // 60-byte header in 40 bytes
      expect(errorOf(b)).toBe('bad-header-length');
    });

    it('rejects_total_length_below_the_header_length', () => {
      expect(errorOf(editIpv4(PING_REQUEST, (b) => ((b[2] = 0), (b[3] = 19))))).toBe('bad-total-length');
      expect(errorOf(editIpv4(PING_REQUEST, (b) => ((b[2] = 0), (b[3] = 0))))).toBe('bad-total-length');
    });

    it('rejects_total_length_beyond_the_bytes_as_truncated', () => {
      expect(errorOf(editIpv4(PING_REQUEST, (b) => (b[3] = 0x55)))).toBe('truncated');
    });

    it('rejects_a_bad_header_checksum_unless_told_not_to_verify', () => {
      const b = Uint8Array.from(PING_REQUEST);
      b[11] ^= 1;
      expect(errorOf(b)).toBe('bad-checksum');
      expect(errorOf(b, false)).toBeUndefined();
      const ttl = Uint8Array.from(PING_REQUEST);
      ttl[8] = 63; // changing a field without fixing the checksum
      expect(errorOf(ttl)).toBe('bad-checksum');
    });

    it('accepts_any_header_that_sums_to_zero_with_its_checksum', () => {
      expect(internetChecksum(PING_REQUEST, 0, 20)).toBe(0);
      // Same header with a different id and a matching checksum.
      expect(errorOf(editIpv4(PING_REQUEST, (b) => (b[4] = 0x12)))).toBeUndefined();
    });

    it('rejects_the_reserved_evil_flag_bit', () => {
      expect(errorOf(editIpv4(PING_REQUEST, (b) => (b[6] |= 0x80)))).toBe('bad-fragment');
    });

    it('rejects_a_fragment_reaching_past_65535_bytes', () => {
      // Offset 0x1fff * 8 = 65528, plus 64 payload bytes: the "ping of death".
      const b = editIpv4(PING_REQUEST, (x) => ((x[6] = 0x1f), (x[7] = 0xff)));
      expect(errorOf(b)).toBe('bad-fragment');
      // 65528 + 7 = 65535 still fits.
      const fits = editIpv4(PING_REQUEST.subarray(0, 27), (x) => ((x[2] = 0), (x[3] = 27), (x[6] = 0x1f), (x[7] = 0xff)));
      expect(parsed(fits).fragmentOffset).toBe(65528);
    });
  });

  it('never_throws_and_reports_truncated_for_every_prefix_of_every_literal', () => {
    for (const [name, packet] of ALL_PACKETS) {
      for (let n = 0; n < packet.length; n++) {
        expect(errorOf(packet.subarray(0, n)), `${name}[0,${n})`).toBe('truncated');
      }
      expect(errorOf(packet), name).toBeUndefined();
    }
  });
});

describe('emitIpv4Header', () => {
  it('round_trips_every_literal_header_byte_for_byte', () => {
    for (const [name, packet] of ALL_PACKETS) {
      const h = parsed(packet);
      const out = new Uint8Array(h.totalLength);
      expect(emitIpv4Header(ipv4ReprOf(h), out)).toBe(IPV4_HEADER_LEN);
      out.set(h.payload, IPV4_HEADER_LEN);
      expect(out, name).toEqual(packet);
    }
  });

  it('emits_the_ping_reply_header_from_a_minimal_repr_with_defaults', () => {
    // Defaults: ttl 64, id 0, DF set, no MF, offset 0, TOS 0.
    const out = new Uint8Array(20);
    emitIpv4Header({ src: TUNSTACK, dst: KERNEL, protocol: IPPROTO_ICMP, payloadLength: 64 }, out);
    expect(out).toEqual(PING_REPLY.subarray(0, 20));
  });

  it('writes_at_an_offset_and_leaves_the_rest_alone', () => {
    const out = new Uint8Array(30).fill(0xaa);
    emitIpv4Header({ src: TUNSTACK, dst: KERNEL, protocol: IPPROTO_ICMP, payloadLength: 64 }, out, 5);
    expect(out.subarray(5, 25)).toEqual(PING_REPLY.subarray(0, 20));
    expect(out[4]).toBe(0xaa);
    expect(out[25]).toBe(0xaa);
  });

  it('writes_fragment_fields_and_tos', () => {
    const out = new Uint8Array(28);
    const fields = { dontFragment: false, moreFragments: true, fragmentOffset: 2960, dscpEcn: 0xb8, ttl: 1, id: 0xbeef };
    emitIpv4Header({ src: 1, dst: 2, protocol: 17, payloadLength: 8, ...fields }, out);
    expect(parsed(out)).toMatchObject(fields);
  });

  it('throws_range_error_on_caller_mistakes', () => {
    const repr = { src: 1, dst: 2, protocol: 6, payloadLength: 0 };
    expect(() => emitIpv4Header(repr, new Uint8Array(19))).toThrow(RangeError);
    expect(() => emitIpv4Header(repr, new Uint8Array(20), 1)).toThrow(RangeError);
    expect(() => emitIpv4Header({ ...repr, payloadLength: 65516 }, new Uint8Array(20))).toThrow(RangeError);
    expect(() => emitIpv4Header({ ...repr, fragmentOffset: 100 }, new Uint8Array(20))).toThrow(RangeError);
    expect(() => emitIpv4Header({ ...repr, ttl: 256 }, new Uint8Array(20))).toThrow(RangeError);
    expect(emitIpv4Header({ ...repr, payloadLength: 65515 }, new Uint8Array(20))).toBe(20);
  });
});

describe('parseIpv4 fuzzing', () => {
  /** Parses (which must not throw) and returns a broken invariant of an ok result, if any. */
  function violation(bytes: Uint8Array, verifyChecksum: boolean): string | undefined {
    const r = parseIpv4(bytes, { verifyChecksum });
    if (!r.ok) return undefined;
    const h = r.value;
    if (h.headerLength < 20 || h.headerLength > 60) return `headerLength ${h.headerLength}`;
    if (h.totalLength > bytes.length) return `totalLength ${h.totalLength} > ${bytes.length}`;
    if (h.payload.length !== h.totalLength - h.headerLength) return 'payload length';
    if (h.options.length !== h.headerLength - 20) return 'options length';
    if (h.fragmentOffset + h.payload.length > 65535) return 'fragment past 65535';
    return undefined;
  }

  function checkInvariants(bytes: Uint8Array, verifyChecksum: boolean): void {
    const v = violation(bytes, verifyChecksum);
    if (v !== undefined) expect.fail(`${v} for ${Array.from(bytes).join(',')}`);
  }

  it('never_throws_on_20000_mutated_packets_with_and_without_checksum_verification', () => {
    const rng = mulberry32(791);
    for (let i = 0; i < 20_000; i++) {
      const seed = ALL_PACKETS[rng.int(ALL_PACKETS.length)]![1];
      const m = rng.mutate(seed);
      checkInvariants(m, true);
      checkInvariants(m, false);
    }
  });

  it('never_throws_on_20000_random_byte_strings', () => {
    const rng = mulberry32(7910);
    for (let i = 0; i < 20_000; i++) {
      const b = rng.bytes(rng.int(80));
      if (b.length > 0 && rng.next() < 0.5) b[0] = 0x45; // get past the version check often
      checkInvariants(b, false);
      checkInvariants(b, true);
    }
  });
});
