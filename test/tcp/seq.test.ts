// Sequence-number arithmetic mod 2^32 (RFC 9293 §3.4): comparisons across the wrap.

import { describe, expect, it } from 'vitest';
import { add, ge, gt, inWindow, le, lt, max, min, sub } from '../../src/tcp/seq.js';

describe('seq', () => {
  it('compares_plainly_away_from_the_wrap', () => {
    expect(lt(1, 2)).toBe(true);
    expect(le(2, 2)).toBe(true);
    expect(gt(3, 2)).toBe(true);
    expect(ge(2, 3)).toBe(false);
  });

  it('compares_across_the_wrap', () => {
    // 0xfffffff0 is "before" 0x10: 0x20 octets apart, not 2^32 - 0x20.
    expect(lt(0xffff_fff0, 0x10)).toBe(true);
    expect(gt(0x10, 0xffff_fff0)).toBe(true);
    expect(le(0xffff_ffff, 0)).toBe(true);
    expect(ge(0, 0xffff_ffff)).toBe(true);
  });

  it('adds_and_subtracts_with_wrap', () => {
    expect(add(0xffff_ffff, 1)).toBe(0);
    expect(add(0xffff_ff00, 0x200)).toBe(0x100);
    expect(add(5, -10)).toBe(0xffff_fffb);
    expect(sub(0x10, 0xffff_fff0)).toBe(0x20);
    expect(sub(0xffff_fff0, 0x10)).toBe(-0x20);
  });

  it('tests_window_membership_including_across_the_wrap', () => {
    expect(inWindow(100, 100, 10)).toBe(true);
    expect(inWindow(109, 100, 10)).toBe(true);
    expect(inWindow(110, 100, 10)).toBe(false);
    expect(inWindow(99, 100, 10)).toBe(false);
    expect(inWindow(3, 0xffff_fffe, 10)).toBe(true);
    expect(inWindow(0xffff_fffd, 0xffff_fffe, 10)).toBe(false);
    expect(inWindow(100, 100, 0)).toBe(false); // an empty window holds nothing
  });

  it('takes_max_and_min_in_sequence_space', () => {
    expect(max(0xffff_fff0, 0x10)).toBe(0x10);
    expect(min(0xffff_fff0, 0x10)).toBe(0xffff_fff0);
  });

  it('treats_numbers_2_to_the_31_apart_consistently', () => {
    // Exactly half the space apart: (a - b) | 0 is -2^31 either way, so a < b and b < a both hold —
    // the comparison is undefined there; windows never get near it (at most 2^30 with scaling).
    expect(lt(0, 0x8000_0000)).toBe(true);
    expect(lt(0x8000_0000, 0)).toBe(true);
  });
});
