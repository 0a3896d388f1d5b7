// UDP codec: a byte-literal round trip, the "no checksum" and "0 is sent as ffff" rules,
// length errors, the pseudo-header, truncation at every offset, and fuzzing.

import { describe, expect, it } from 'vitest';
import { emitUdp, parseUdp, UDP_HEADER_LEN, udpLen, type UdpDatagram } from '../../src/wire/udp.js';
import { mulberry32 } from '../helpers/prng.js';
import { fixL4Checksum, hex, KERNEL, l4, TUNSTACK, UDP_HELLO } from './fixtures.js';

const HELLO = l4(UDP_HELLO);

function parsed(bytes: Uint8Array, src = KERNEL, dst = TUNSTACK, verifyChecksum = true): UdpDatagram {
  const r = parseUdp(bytes, src, dst, { verifyChecksum });
  if (!r.ok) throw new Error(`expected ok, got ${r.error}`);
  return r.value;
}

function errorOf(bytes: Uint8Array, src = KERNEL, dst = TUNSTACK, verifyChecksum = true): string | undefined {
  const r = parseUdp(bytes, src, dst, { verifyChecksum });
  return r.ok ? undefined : r.error;
}

describe('parseUdp / emitUdp', () => {
  it('parses_a_udp_datagram_with_every_field', () => {
    const d = parsed(HELLO);
    expect(d.srcPort).toBe(40000);
    expect(d.dstPort).toBe(7);
    expect(d.length).toBe(13);
    expect(d.checksum).toBe(0x9392);
    expect(new TextDecoder().decode(d.payload)).toBe('hello');
    expect(d.payload.buffer).toBe(UDP_HELLO.buffer);
  });

  it('round_trips_the_literal_byte_for_byte', () => {
    const d = parsed(HELLO);
    const out = new Uint8Array(udpLen(d));
    expect(emitUdp(d, KERNEL, TUNSTACK, out)).toBe(13);
    expect(out).toEqual(HELLO);
  });

  it('accepts_a_zero_checksum_as_no_checksum', () => {
    const b = Uint8Array.from(HELLO);
    b[6] = 0;
    b[7] = 0;
    expect(parsed(b).checksum).toBe(0);
  });

  it('sends_a_computed_zero_checksum_as_ffff', () => {
    // Choose the 2-byte payload so that the one's complement sum is ffff (checksum 0).
    const probe = new Uint8Array(10);
    emitUdp({ srcPort: 1, dstPort: 2, payload: new Uint8Array(2) }, KERNEL, TUNSTACK, probe);
    const sum = ~((probe[6]! << 8) | probe[7]!) & 0xffff; // folded sum with a zero payload word
    const w = 0xffff - sum;
    const out = new Uint8Array(10);
    emitUdp({ srcPort: 1, dstPort: 2, payload: Uint8Array.of(w >>> 8, w & 0xff) }, KERNEL, TUNSTACK, out);
    expect(Array.from(out.subarray(6, 8))).toEqual([0xff, 0xff]);
    expect(parsed(out).checksum).toBe(0xffff); // and it verifies
  });

  it('ignores_bytes_after_the_length_field', () => {
    const b = new Uint8Array(HELLO.length + 4);
    b.set(HELLO);
    const d = parsed(b);
    expect(d.payload.length).toBe(5);
  });

  it('rejects_fewer_than_8_bytes_as_truncated', () => {
    for (let n = 0; n < 8; n++) expect(errorOf(HELLO.subarray(0, n))).toBe('truncated');
  });

  it('rejects_a_length_below_8_or_beyond_the_bytes', () => {
    for (const len of [0, 1, 7, 14, 0xffff]) {
      const b = Uint8Array.from(HELLO);
      b[4] = len >>> 8;
      b[5] = len & 0xff;
      expect(errorOf(b, KERNEL, TUNSTACK, false)).toBe('bad-length');
    }
  });

  it('accepts_an_empty_payload', () => {
    const out = new Uint8Array(8);
    emitUdp({ srcPort: 9, dstPort: 9, payload: new Uint8Array(0) }, KERNEL, TUNSTACK, out);
    expect(parsed(out).payload.length).toBe(0);
  });

  it('rejects_a_bad_checksum_unless_told_not_to_verify', () => {
    const b = Uint8Array.from(HELLO);
    b[12] ^= 0x20;
    expect(errorOf(b)).toBe('bad-checksum');
    expect(errorOf(b, KERNEL, TUNSTACK, false)).toBeUndefined();
  });

  it('covers_the_pseudo_header_addresses', () => {
    expect(errorOf(HELLO, TUNSTACK, TUNSTACK)).toBe('bad-checksum');
    // Swapping src and dst leaves the one's complement sum unchanged (it is commutative).
    expect(errorOf(HELLO, TUNSTACK, KERNEL)).toBeUndefined();
  });

  it('handles_every_prefix_without_throwing', () => {
    for (let n = 0; n < HELLO.length; n++) {
      expect(errorOf(HELLO.subarray(0, n))).toBe(n < 8 ? 'truncated' : 'bad-length');
    }
  });

  it('writes_at_an_offset_and_skips_copying_a_payload_already_in_place', () => {
    const out = new Uint8Array(20).fill(0xaa);
    out.set(hex('68 65 6c 6c 6f'), 3 + UDP_HEADER_LEN);
    const payload = out.subarray(3 + UDP_HEADER_LEN, 3 + UDP_HEADER_LEN + 5);
    expect(emitUdp({ srcPort: 40000, dstPort: 7, payload }, KERNEL, TUNSTACK, out, 3)).toBe(13);
    expect(out.subarray(3, 16)).toEqual(HELLO);
    expect(out[2]).toBe(0xaa);
    expect(out[16]).toBe(0xaa);
  });

  it('throws_range_error_on_caller_mistakes', () => {
    const repr = { srcPort: 1, dstPort: 2, payload: new Uint8Array(5) };
    expect(() => emitUdp(repr, 1, 2, new Uint8Array(12))).toThrow(RangeError);
    expect(() => emitUdp(repr, 1, 2, new Uint8Array(13), 1)).toThrow(RangeError);
    expect(() => emitUdp({ ...repr, payload: new Uint8Array(65528) }, 1, 2, new Uint8Array(70000))).toThrow(RangeError);
  });
});

describe('parseUdp fuzzing', () => {
  function violation(bytes: Uint8Array, verifyChecksum: boolean): string | undefined {
    const r = parseUdp(bytes, KERNEL, TUNSTACK, { verifyChecksum });
    if (!r.ok) return undefined;
    const d = r.value;
    if (d.length < 8 || d.length > bytes.length) return `length ${d.length}`;
    if (d.payload.length !== d.length - 8) return 'payload length';
    return undefined;
  }

  it('never_throws_on_20000_mutated_datagrams_and_re_emits_them_once_their_checksum_is_repaired', () => {
    const rng = mulberry32(768);
    const out = new Uint8Array(256);
    let reEmitted = 0;
    for (let i = 0; i < 20_000; i++) {
      const m = rng.mutate(HELLO);
      for (const verify of [true, false]) {
        const v = violation(m, verify);
        if (v !== undefined) expect.fail(`${v} for ${Array.from(m).join(',')}`);
      }
      const len = m.length >= 8 ? (m[4]! << 8) | m[5]! : 0;
      if (len >= 8 && len <= m.length) {
        const exact = fixL4Checksum(m.slice(0, len), KERNEL, TUNSTACK, 17);
        const r = parseUdp(exact, KERNEL, TUNSTACK);
        if (!r.ok) expect.fail(`rejected a repaired datagram: ${r.error}`);
        const n = emitUdp(r.value, KERNEL, TUNSTACK, out);
        // A computed checksum of 0 is sent as ffff; both verify.
        const same = Array.from(out.subarray(0, n)).join(',') === Array.from(exact).join(',');
        if (!same && !(exact[6] === 0 && exact[7] === 0 && out[6] === 0xff && out[7] === 0xff)) {
          expect.fail(`re-emit differs for ${Array.from(exact).join(',')}`);
        }
        reEmitted++;
      }
    }
    expect(reEmitted).toBeGreaterThan(1000);
  });

  it('never_throws_on_20000_random_byte_strings', () => {
    const rng = mulberry32(7680);
    for (let i = 0; i < 20_000; i++) {
      const b = rng.bytes(rng.int(32));
      expect(violation(b, false)).toBeUndefined();
      violation(b, true);
    }
  });
});
