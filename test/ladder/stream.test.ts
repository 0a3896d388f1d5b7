// The per-direction stream reassembler: in-order delivery, holes filled later, overlapping and
// repeated bytes delivered once, bytes before the start ignored, and its bounds on what it holds.

import { describe, expect, it } from 'vitest';
import { StreamReassembler } from '../../src/ladder/stream.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const str = (parts: Uint8Array[]): string => parts.map((p) => new TextDecoder().decode(p)).join('|');

describe('StreamReassembler', () => {
  it('delivers_in_order_bytes_at_once_and_out_of_order_ones_when_the_hole_fills', () => {
    const r = new StreamReassembler();
    expect(str(r.push(0, bytes('abc')))).toBe('abc');
    expect(str(r.push(6, bytes('ghi')))).toBe('');
    expect(str(r.push(9, bytes('jk')))).toBe('');
    expect(r.missing()).toBe(3);
    expect(str(r.push(3, bytes('def')))).toBe('def|ghi|jk');
    expect(r.delivered).toBe(11);
    expect(r.missing()).toBe(0);
  });

  it('delivers_overlapping_and_repeated_bytes_once', () => {
    const r = new StreamReassembler();
    r.push(0, bytes('abcd'));
    expect(str(r.push(2, bytes('cdef')))).toBe('ef');
    expect(str(r.push(0, bytes('abcdef')))).toBe('');
    expect(str(r.push(10, bytes('klm')))).toBe('');
    expect(str(r.push(8, bytes('ijklmn')))).toBe('');
    expect(str(r.push(6, bytes('gh')))).toBe('gh|ijklmn');
    expect(str(r.push(-3, bytes('xyzabcdefghijklmnop')))).toBe('op');
  });

  it('gives_up_on_a_direction_with_too_many_holes_and_remembers_what_was_missing', () => {
    const r = new StreamReassembler();
    for (let i = 0; i < 16384; i++) r.push(2 * i + 1, bytes('x'));
    expect(r.broken).toBe(false);
    r.push(40000, bytes('y'));
    expect(r.broken).toBe(true);
    expect(r.missing()).toBe(16384);
    expect(r.push(0, bytes('a'))).toEqual([]);
  });
});
