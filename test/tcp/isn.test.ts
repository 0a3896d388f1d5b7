// RFC 6528 initial sequence numbers: ISN = M + F(4-tuple, secret), M a 4 µs clock.

import { describe, expect, it } from 'vitest';
import { rfc6528Isn } from '../../src/tcp/isn.js';
import { sub } from '../../src/tcp/seq.js';

const KEY = new Uint8Array(16).map((_, i) => i * 7 + 1);
const T = { localAddr: 0xc6120002, localPort: 80, remoteAddr: 0xc6120001, remotePort: 40000 };

describe('rfc6528Isn', () => {
  it('is_deterministic_for_a_fixed_key', () => {
    expect(rfc6528Isn(KEY)(1234, T)).toBe(rfc6528Isn(KEY)(1234, T));
  });

  it('differs_per_four_tuple', () => {
    const isn = rfc6528Isn(KEY);
    const seen = new Set([
      isn(0, T),
      isn(0, { ...T, remotePort: 40001 }),
      isn(0, { ...T, localPort: 81 }),
      isn(0, { ...T, remoteAddr: 0xc6120003 }),
      isn(0, { ...T, localAddr: 0xc6120004 }),
    ]);
    expect(seen.size).toBe(5);
  });

  it('differs_per_key', () => {
    expect(rfc6528Isn(KEY)(0, T)).not.toBe(rfc6528Isn(new Uint8Array(16))(0, T));
  });

  it('advances_with_time_by_one_every_4_microseconds', () => {
    const isn = rfc6528Isn(KEY);
    // RFC 6528 §3: M "is incremented once every 4 microseconds": 250 per millisecond.
    expect(sub(isn(1000, T), isn(0, T))).toBe(250_000);
    expect(sub(isn(1, T), isn(0, T))).toBe(250);
  });

  it('wraps_mod_2_to_the_32', () => {
    const isn = rfc6528Isn(KEY);
    const wrapMs = 2 ** 32 / 250; // ~4.77 hours
    expect(isn(wrapMs, T)).toBe(isn(0, T));
    expect(Number.isInteger(isn(123.456, T)) && isn(123.456, T) >= 0 && isn(123.456, T) < 2 ** 32).toBe(true);
  });

  it('rejects_a_short_key', () => {
    expect(() => rfc6528Isn(new Uint8Array(8))).toThrow(RangeError);
  });
});
