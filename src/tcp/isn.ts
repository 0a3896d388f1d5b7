// Initial sequence numbers per RFC 6528: ISN = M + F(localip, localport, remoteip, remoteport, secretkey),
// M a 4-microsecond timer, F a keyed hash (SHA-256 here, truncated to 32 bits).

import { sha256 } from '@noble/hashes/sha2.js';

export interface FourTuple {
  localAddr: number;
  localPort: number;
  remoteAddr: number;
  remotePort: number;
}

export type IsnGenerator = (now: number, tuple: FourTuple) => number;

/**
 * RFC 6528 §3. `key` is the secret (at least 16 random bytes, fixed for the life of the stack);
 * `now` in milliseconds drives M, which "is incremented once every 4 microseconds".
 */
export function rfc6528Isn(key: Uint8Array): IsnGenerator {
  if (key.length < 16) throw new RangeError('ISN key must be at least 16 bytes');
  const input = new Uint8Array(12 + key.length);
  const view = new DataView(input.buffer);
  input.set(key, 12);
  return (now, t) => {
    view.setUint32(0, t.localAddr >>> 0);
    view.setUint16(4, t.localPort);
    view.setUint32(6, t.remoteAddr >>> 0);
    view.setUint16(10, t.remotePort);
    const h = sha256(input);
    const f = ((h[0]! << 24) | (h[1]! << 16) | (h[2]! << 8) | h[3]!) >>> 0;
    const m = Math.floor(now * 250) >>> 0; // ms → 4 µs ticks, mod 2^32
    return (m + f) >>> 0;
  };
}
