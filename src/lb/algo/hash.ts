// Small deterministic hashes and a seeded PRNG for the balancing algorithms: 32-bit FNV-1a over
// strings, a murmur3 finalizer to mix integers, and mulberry32 for p2c's random choices.

/** FNV-1a (32 bit) over the UTF-16 code units of `s`, then a murmur3 fmix for avalanche. */
export function hashString(s: string, seed = 0): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h);
}

/** murmur3's 32-bit finalizer: every input bit affects every output bit. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Mixes two uint32 values into one hash (order matters). */
export function hash2(a: number, b: number): number {
  return fmix32((fmix32(a >>> 0) ^ Math.imul(b >>> 0, 0x9e3779b1)) >>> 0);
}

/** A seeded uniform source: next() in [0, 1). */
export interface Random {
  next(): number;
}

/** mulberry32: tiny, seeded, good enough for load-balancing choices (not cryptographic). */
export function mulberry32(seed: number): Random {
  let a = seed >>> 0;
  return {
    next(): number {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 0x100000000;
    },
  };
}
