// Incremental Internet checksum update (RFC 1624): when a 16-bit word m of a checksummed block
// changes to m', the new checksum is HC' = ~(~HC + ~m + m') (RFC 1624 §3, eqn. 3), which, unlike
// RFC 1141's eqn. 2, never yields the wrong zero (0xffff instead of 0x0000 or back).

/** Running form: `~HC` as an unfolded one's-complement sum, to which changes are added. */
export function csumOpen(hc: number): number {
  return ~hc & 0xffff;
}

/** Adds the change of one 16-bit word from `oldWord` to `newWord` (RFC 1624 eqn. 3: + ~m + m'). */
export function csumAdd16(acc: number, oldWord: number, newWord: number): number {
  return acc + (~oldWord & 0xffff) + (newWord & 0xffff);
}

/** Adds the change of a 32-bit value (an IPv4 address) as its two 16-bit words. */
export function csumAdd32(acc: number, oldValue: number, newValue: number): number {
  return csumAdd16(csumAdd16(acc, oldValue >>> 16, newValue >>> 16), oldValue & 0xffff, newValue & 0xffff);
}

/** Folds the carries and complements: the new checksum field (RFC 1624 eqn. 3's outer ~). */
export function csumClose(acc: number): number {
  while (acc > 0xffff) acc = (acc & 0xffff) + (acc >>> 16);
  return ~acc & 0xffff;
}
