// RFC 1071 Internet checksum: known values, odd lengths, chaining, the pseudo-header,
// and agreement with a slow reference implementation on random data.

import { describe, expect, it } from 'vitest';
import { foldChecksum, internetChecksum, onesSum, pseudoHeaderSum } from '../../src/wire/checksum.js';
import { mulberry32 } from '../helpers/prng.js';
import { hex, KERNEL, TUNSTACK } from './fixtures.js';

/** Textbook one's complement sum, folding after every word. */
function referenceChecksum(b: Uint8Array, start: number, end: number, acc = 0): number {
  let s = acc;
  for (let i = start; i < end; i += 2) {
    s += (b[i]! << 8) | (i + 1 < end ? b[i + 1]! : 0);
    s = (s & 0xffff) + Math.floor(s / 0x10000);
  }
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return ~s & 0xffff;
}

describe('onesSum / foldChecksum', () => {
  it('matches_the_rfc1071_section3_numerical_example', () => {
    // RFC 1071 §3: bytes 00 01 f2 03 f4 f5 f6 f7 sum to 2ddf0, which folds to ddf2.
    const b = hex('00 01 f2 03 f4 f5 f6 f7');
    expect(onesSum(b, 0, b.length)).toBe(0x2ddf0);
    expect(foldChecksum(onesSum(b, 0, b.length))).toBe(~0xddf2 & 0xffff);
    expect(internetChecksum(b)).toBe(0x220d);
  });

  it('computes_the_classic_ipv4_header_example_b861', () => {
    const header = hex('45 00 00 73 00 00 40 00 40 11 00 00 c0 a8 00 01 c0 a8 00 c7');
    expect(internetChecksum(header)).toBe(0xb861);
    header[10] = 0xb8;
    header[11] = 0x61;
    // Verification convention: the sum over everything including the field folds to 0.
    expect(internetChecksum(header)).toBe(0);
  });

  it('pads_an_odd_trailing_byte_with_zero_on_the_right', () => {
    expect(onesSum(hex('01'), 0, 1)).toBe(0x0100);
    expect(onesSum(hex('12 34 56'), 0, 3)).toBe(0x1234 + 0x5600);
    expect(internetChecksum(hex('12 34 56'))).toBe(~(0x1234 + 0x5600) & 0xffff);
  });

  it('sums_only_the_given_range', () => {
    const b = hex('ff ff 00 01 00 02 ff ff');
    expect(onesSum(b, 2, 6)).toBe(3);
    expect(internetChecksum(b, 2, 6)).toBe(0xfffc);
    expect(onesSum(b, 3, 3)).toBe(0);
  });

  it('chains_accumulators_across_even_split_points', () => {
    const rng = mulberry32(1071);
    const b = rng.bytes(999);
    const whole = foldChecksum(onesSum(b, 0, b.length));
    for (const split of [0, 2, 100, 512, 998]) {
      expect(foldChecksum(onesSum(b, split, b.length, onesSum(b, 0, split)))).toBe(whole);
    }
  });

  it('gives_ffff_for_all_zero_data_and_0_for_all_ones', () => {
    expect(internetChecksum(new Uint8Array(10))).toBe(0xffff);
    expect(internetChecksum(new Uint8Array(10).fill(0xff))).toBe(0);
    expect(foldChecksum(0)).toBe(0xffff);
  });

  it('folds_huge_accumulators_without_losing_precision', () => {
    // 2^48 ≡ 1 (mod 0xffff), so its checksum equals that of a sum of 1.
    expect(foldChecksum(2 ** 48)).toBe(foldChecksum(1));
    expect(foldChecksum(0xffff * 12345)).toBe(0);
    // A reused accumulator stays a safe integer however large the input grows.
    let acc = 0;
    const ones = new Uint8Array(1 << 16).fill(0xff);
    for (let i = 0; i < 64; i++) acc = onesSum(ones, 0, ones.length, acc);
    expect(Number.isSafeInteger(acc)).toBe(true);
    expect(foldChecksum(acc)).toBe(0);
  });

  it('agrees_with_a_reference_implementation_on_random_ranges', () => {
    const rng = mulberry32(42);
    const big = rng.bytes(200_000); // crosses the 64 KiB inner-chunk boundary several times
    expect(internetChecksum(big)).toBe(referenceChecksum(big, 0, big.length));
    for (let t = 0; t < 500; t++) {
      const start = rng.int(2000);
      const end = start + rng.int(3000);
      expect(internetChecksum(big, start, end)).toBe(referenceChecksum(big, start, end));
    }
  });

  it('clamps_end_to_the_buffer_length', () => {
    const b = hex('12 34 56');
    expect(onesSum(b, 0, 100)).toBe(onesSum(b, 0, 3));
  });
});

describe('pseudoHeaderSum', () => {
  it('equals_the_sum_of_the_12_byte_rfc9293_pseudo_header', () => {
    // RFC 9293 §3.1: src(4) dst(4) zero(1) PTCL(1) TCP length(2).
    const ph = hex('c6 12 00 01 c6 12 00 02 00 06 00 3c');
    expect(foldChecksum(pseudoHeaderSum(KERNEL, TUNSTACK, 6, 60))).toBe(internetChecksum(ph));
    const udp = hex('ff ff ff ff 00 00 00 00 00 11 ff ff');
    expect(foldChecksum(pseudoHeaderSum(0xffffffff, 0, 17, 0xffff))).toBe(internetChecksum(udp));
  });

  it('is_usable_as_a_starting_accumulator', () => {
    const seg = hex('9c 40 00 07 00 0d 00 00 68 65 6c 6c 6f');
    const ph = hex('c6 12 00 01 c6 12 00 02 00 11 00 0d');
    const joined = new Uint8Array(ph.length + seg.length);
    joined.set(ph);
    joined.set(seg, ph.length);
    expect(foldChecksum(onesSum(seg, 0, seg.length, pseudoHeaderSum(KERNEL, TUNSTACK, 17, 13)))).toBe(
      internetChecksum(joined),
    );
    // ... and that value is exactly the checksum in the real UDP_HELLO literal.
    expect(internetChecksum(joined)).toBe(0x9392);
  });
});
