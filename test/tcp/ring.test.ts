// ByteRing: bounded append, wrap-around, peek views and copies, growth, shrink.

import { describe, expect, it } from 'vitest';
import { ByteRing } from '../../src/tcp/ring.js';
import { bytes } from './helpers.js';

describe('ByteRing', () => {
  it('appends_up_to_its_capacity', () => {
    const r = new ByteRing(100);
    expect(r.append(bytes(60))).toBe(60);
    expect(r.append(bytes(60, 60))).toBe(40);
    expect(r.append(bytes(1))).toBe(0);
    expect(r.length).toBe(100);
    expect(r.free).toBe(0);
    expect(r.take(1000)).toEqual(bytes(100));
  });

  it('wraps_around_and_peeks_across_the_boundary', () => {
    const r = new ByteRing(10_000);
    r.append(bytes(4000)); // the first allocation is 4096
    r.consume(3000);
    r.append(bytes(1000, 4000)); // wraps: 96 at the end, 904 at the start
    expect(r.length).toBe(2000);
    expect(r.peek(0, 2000)).toEqual(bytes(2000, 3000));
    expect(r.peek(1090, 20)).toEqual(bytes(20, 4090)); // across the boundary: a copy
    expect(r.peek(5, 10)).toEqual(bytes(10, 3005)); // contiguous: a view
  });

  it('grows_keeping_the_order_of_wrapped_data', () => {
    const r = new ByteRing(20_000);
    r.append(bytes(4000));
    r.consume(3500);
    r.append(bytes(3000, 4000)); // wrapped in the 4096 buffer
    r.append(bytes(5000, 7000)); // needs 8500: grows
    expect(r.length).toBe(8500);
    expect(r.take(Infinity)).toEqual(bytes(8500, 3500));
  });

  it('consumes_and_takes_from_the_front', () => {
    const r = new ByteRing(1000);
    r.append(bytes(100));
    r.consume(30);
    expect(r.take(20)).toEqual(bytes(20, 30));
    expect(r.length).toBe(50);
    r.consume(50);
    expect(r.length).toBe(0);
  });

  it('rejects_reads_beyond_its_content', () => {
    const r = new ByteRing(1000);
    r.append(bytes(10));
    expect(() => r.peek(5, 6)).toThrow(RangeError);
    expect(() => r.peek(-1, 1)).toThrow(RangeError);
    expect(() => r.consume(11)).toThrow(RangeError);
    expect(r.peek(10, 0)).toEqual(new Uint8Array(0));
  });

  it('gives_its_storage_back_only_when_empty', () => {
    const r = new ByteRing(1000);
    r.append(bytes(10));
    r.shrink();
    expect(r.take(10)).toEqual(bytes(10));
    r.shrink();
    expect(r.append(bytes(5))).toBe(5);
    expect(r.take(5)).toEqual(bytes(5));
  });
});
