// The Internet checksum (RFC 1071): 16-bit one's complement sum over big-endian words,
// plus the TCP/UDP pseudo-header. Allocation-free; accumulators are plain (unfolded) numbers.

/** Words summed per inner chunk: 0x8000 * 0xffff < 2^31, so the local sum stays a small integer. */
const CHUNK_WORDS = 0x8000;

/** Above this an accumulator is folded back so it stays a safe integer however often it is reused. */
const FOLD_THRESHOLD = 0x10000000000; // 2^40

/**
 * Adds the bytes [start, end) of `buf` to `acc` as 16-bit big-endian words (RFC 1071 §1 (1):
 * "Adjacent octets to be checksummed are paired to form 16-bit integers"). An odd trailing byte
 * is padded with a zero byte on the right (RFC 9293 §3.1: "the last octet is padded on the
 * right with zeros to form a 16-bit word"). The result is unfolded; pass it to foldChecksum.
 */
export function onesSum(buf: Uint8Array, start: number, end: number, acc = 0): number {
  if (end > buf.length) end = buf.length;
  let i = start;
  const evenEnd = end - ((end - start) & 1);
  while (i < evenEnd) {
    const chunkEnd = Math.min(evenEnd, i + 2 * CHUNK_WORDS);
    let s = 0;
    // RFC 1071 §2 (B) "Deferred carries": add the words, fold the carries once at the end.
    for (; i < chunkEnd; i += 2) s += (buf[i] << 8) | buf[i + 1];
    acc += s;
  }
  if (i < end) acc += buf[i] << 8;
  if (acc > FOLD_THRESHOLD) acc = (acc % 0x10000) + Math.floor(acc / 0x10000);
  return acc;
}

/**
 * Folds the carries of an accumulator into 16 bits and takes the one's complement
 * (RFC 1071 §4.1: "Fold 32-bit sum to 16 bits" then "checksum = ~sum"): the value for a
 * checksum field. Over data that includes a correct checksum field the result is 0.
 */
export function foldChecksum(acc: number): number {
  while (acc > 0xffff) acc = (acc % 0x10000) + Math.floor(acc / 0x10000);
  return ~acc & 0xffff;
}

/** The checksum of buf[start, end) (default: the whole buffer). */
export function internetChecksum(buf: Uint8Array, start = 0, end = buf.length): number {
  return foldChecksum(onesSum(buf, start, end));
}

/**
 * The IPv4 pseudo-header as an accumulator (RFC 9293 §3.1 "the TCP checksum also covers a
 * pseudo-header": source address, destination address, zero, protocol, TCP length; RFC 768
 * likewise for UDP). `length` is the transport header plus data in bytes.
 */
export function pseudoHeaderSum(src: number, dst: number, protocol: number, length: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + (protocol & 0xff) + length;
}
