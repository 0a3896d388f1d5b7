// A tiny seeded PRNG (mulberry32) for reproducible fuzz and property tests,
// with helpers for random bytes and mutations of a seed packet.

export interface Prng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Uniform uint32. */
  u32(): number;
  bytes(n: number): Uint8Array;
  /** A copy of `seed` with a few random edits (bit flips, byte sets, truncation, extension). */
  mutate(seed: Uint8Array): Uint8Array;
}

export function mulberry32(seed: number): Prng {
  let a = seed >>> 0;
  const u32 = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  const next = (): number => u32() / 0x100000000;
  const int = (n: number): number => Math.floor(next() * n);
  const bytes = (n: number): Uint8Array => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = u32() & 0xff;
    return out;
  };
  const mutate = (seedBytes: Uint8Array): Uint8Array => {
    let out = Uint8Array.from(seedBytes);
    const edits = 1 + int(4);
    for (let e = 0; e < edits; e++) {
      const kind = int(10);
      if (kind < 4 && out.length > 0) {
        out[int(out.length)] ^= 1 << int(8); // bit flip
      } else if (kind < 7 && out.length > 0) {
        out[int(out.length)] = int(256); // byte set
      } else if (kind < 8) {
        out = out.subarray(0, int(out.length + 1)); // truncate
      } else if (kind < 9) {
        const ext = new Uint8Array(out.length + 1 + int(16)); // extend with random bytes
        ext.set(out);
        for (let i = out.length; i < ext.length; i++) ext[i] = int(256);
        out = ext;
      } else if (out.length > 0) {
        out[int(out.length)] = [0, 1, 0xff, 0x80, 0x7f][int(5)] ?? 0; // boundary values
      }
    }
    return out;
  };
  return { next, int, u32, bytes, mutate };
}
