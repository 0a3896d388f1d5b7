// Sequence-number arithmetic modulo 2^32 (RFC 9293 §3.4): the only place sequence numbers are
// compared. Every other module goes through these functions.

/** a < b in sequence space. */
export function lt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}
export function le(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}
export function gt(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}
export function ge(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}
/** a + n, wrapped to an unsigned 32-bit sequence number. */
export function add(a: number, n: number): number {
  return (a + n) >>> 0;
}
/** The distance from b forward to a (a - b), as a signed 32-bit number. */
export function sub(a: number, b: number): number {
  return (a - b) | 0;
}
/** start <= x < start + len (a window of `len` octets beginning at `start`). */
export function inWindow(x: number, start: number, len: number): boolean {
  return ((x - start) >>> 0) < len;
}
export function max(a: number, b: number): number {
  return gt(a, b) ? a : b;
}
export function min(a: number, b: number): number {
  return lt(a, b) ? a : b;
}
