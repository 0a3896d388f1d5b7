// Reassembly (RFC 9293 §3.10.7.4 seventh: out-of-order segments "may be held for later
// processing"): out of order, overlaps, duplicates, and a randomized property check.

import { describe, expect, it } from 'vitest';
import { ReceiveBuffer } from '../../src/tcp/receive.js';
import { mulberry32 } from '../helpers/prng.js';
import { bytes } from './helpers.js';

function drain(b: ReceiveBuffer): number[] {
  const out: number[] = [];
  for (let d = b.read(); d !== undefined; d = b.read()) out.push(...d);
  return out;
}

describe('ReceiveBuffer', () => {
  it('takes_in_order_data_and_reports_the_advance', () => {
    const b = new ReceiveBuffer(1000);
    expect(b.insert(0, bytes(100))).toBe(100);
    expect(b.length).toBe(100);
    expect(b.free).toBe(900);
    expect(b.read(40)).toEqual(bytes(40));
    expect(drain(b)).toEqual(Array.from(bytes(60, 40)));
    expect(b.read()).toBeUndefined();
  });

  it('holds_out_of_order_data_until_the_gap_is_filled', () => {
    const b = new ReceiveBuffer(1000);
    expect(b.insert(200, bytes(100, 200))).toBe(0);
    expect(b.insert(100, bytes(100, 100))).toBe(0);
    expect(b.hasOutOfOrder).toBe(true);
    expect(b.outOfOrderBytes).toBe(200);
    expect(b.blocks()).toEqual([[100, 300]]);
    expect(b.length).toBe(0);
    expect(b.insert(0, bytes(100))).toBe(300);
    expect(b.hasOutOfOrder).toBe(false);
    expect(b.outOfOrderBytes).toBe(0);
    expect(drain(b)).toEqual(Array.from(bytes(300)));
  });

  it('keeps_held_blocks_relative_to_the_new_rcv_nxt', () => {
    const b = new ReceiveBuffer(1000);
    b.insert(300, bytes(50, 300));
    expect(b.insert(0, bytes(100))).toBe(100);
    expect(b.blocks()).toEqual([[200, 250]]);
    expect(b.insert(0, bytes(200, 100))).toBe(250);
    expect(drain(b)).toEqual(Array.from(bytes(350)));
  });

  it('merges_overlapping_out_of_order_segments_without_duplicating_octets', () => {
    const b = new ReceiveBuffer(1000);
    b.insert(100, bytes(50, 100)); // [100,150)
    b.insert(200, bytes(50, 200)); // [200,250)
    b.insert(120, bytes(110, 120)); // [120,230) overlaps both
    expect(b.blocks()).toEqual([[100, 250]]);
    expect(b.outOfOrderBytes).toBe(150);
    b.insert(90, bytes(200, 90)); // [90,290) covers everything held and more
    expect(b.outOfOrderBytes).toBe(200);
    expect(b.insert(0, bytes(95))).toBe(290);
    expect(drain(b)).toEqual(Array.from(bytes(290)));
  });

  it('ignores_exact_duplicates_of_held_data', () => {
    const b = new ReceiveBuffer(1000);
    b.insert(100, bytes(100, 100));
    b.insert(100, bytes(100, 100));
    b.insert(150, bytes(20, 150));
    expect(b.outOfOrderBytes).toBe(100);
    expect(b.blocks()).toEqual([[100, 200]]);
  });

  it('keeps_the_first_copy_of_overlapping_octets', () => {
    // Overlaps should carry the same octets; when they do not, the first arrival wins (as Linux).
    const b = new ReceiveBuffer(1000);
    b.insert(10, new Uint8Array(10).fill(1));
    b.insert(5, new Uint8Array(20).fill(2));
    b.insert(0, new Uint8Array(5).fill(3));
    expect(drain(b)).toEqual([...Array(5).fill(3), ...Array(5).fill(2), ...Array(10).fill(1), ...Array(5).fill(2)]);
  });

  it('never_takes_more_than_its_capacity_in_order', () => {
    const b = new ReceiveBuffer(100);
    expect(b.insert(0, bytes(150))).toBe(100);
    expect(b.free).toBe(0);
    // The 50 that did not fit are held (no accepted octet is lost), and surface after a read.
    expect(b.outOfOrderBytes).toBe(50);
    b.read(100);
    expect(b.insert(0, new Uint8Array(0))).toBe(0);
  });

  it('reassembles_random_overlapping_duplicated_segments_exactly', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const rng = mulberry32(seed);
      const total = 2000 + rng.int(3000);
      const src = rng.bytes(total);
      const b = new ReceiveBuffer(8192);
      let rcvNxt = 0;
      // Random pieces (with repeats), delivered in random order, as offsets relative to RCV.NXT.
      const pieces: Array<[number, number]> = [];
      for (let i = 0; i < 200; i++) {
        const start = rng.int(total);
        pieces.push([start, Math.min(total, start + 1 + rng.int(400))]);
      }
      pieces.push([0, total]); // make sure everything is covered eventually
      for (const [s, e] of pieces) {
        const from = Math.max(s, rcvNxt); // the TCB trims what is before RCV.NXT
        if (from >= e) continue;
        rcvNxt += b.insert(from - rcvNxt, src.subarray(from, e));
      }
      expect(rcvNxt).toBe(total);
      expect(Uint8Array.from(drain(b))).toEqual(src);
      expect(b.hasOutOfOrder).toBe(false);
    }
  });
});
