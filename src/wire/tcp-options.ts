// TCP options codec (RFC 9293 §3.1 and §3.2): MSS (RFC 6691), window scale and timestamps
// (RFC 7323), SACK-permitted and SACK blocks (RFC 2018); written in the order Linux uses.

import { readU32, writeU32 } from './bytes.js';

export const TCPOPT_EOL = 0;
export const TCPOPT_NOP = 1;
export const TCPOPT_MSS = 2;
export const TCPOPT_WINDOW_SCALE = 3;
export const TCPOPT_SACK_PERMITTED = 4;
export const TCPOPT_SACK = 5;
export const TCPOPT_TIMESTAMPS = 8;

/** RFC 9293 §3.1: the data offset is 4 bits of 32-bit words, so options take at most 60 - 20 bytes. */
export const TCP_MAX_OPTIONS_LEN = 40;

export interface TcpOptions {
  /** Kind 2, length 4. */
  mss?: number;
  /** Kind 3, length 3: the raw shift as received (RFC 7323 §2.3 clamping to 14 is the TCP layer's job). */
  windowScale?: number;
  /** Kind 4, length 2. */
  sackPermitted?: boolean;
  /** Kind 5, length 2+8n (n 1..4). */
  sack?: Array<[left: number, right: number]>;
  /** Kind 8, length 10. */
  timestamps?: { tsVal: number; tsEcr: number };
}

/**
 * Parses the options in b[start, end) (the bytes between the fixed header and the data offset).
 * Returns undefined when an option length is illegal (< 2 or past the end): RFC 9293 §3.1
 * MUST-7 "be prepared to handle an illegal option length (e.g., zero)" — the caller drops the
 * segment. (Deviation from Linux, which stops parsing options there but keeps the segment.)
 * Never throws.
 */
export function parseTcpOptions(b: Uint8Array, start: number, end: number): TcpOptions | undefined {
  const opts: TcpOptions = {};
  let i = start;
  while (i < end) {
    const kind = b[i];
    // RFC 9293 §3.2: "End of Option List ... used at the end of all options".
    if (kind === TCPOPT_EOL) break;
    // RFC 9293 §3.2: "No-Operation ... may be used between options".
    if (kind === TCPOPT_NOP) {
      i++;
      continue;
    }
    // RFC 9293 §3.2: every other option has "a byte of option-kind, a byte of option-length
    // ... The option-length counts the two bytes of option-kind and option-length".
    if (i + 1 >= end) return undefined;
    const len = b[i + 1];
    if (len < 2 || i + len > end) return undefined;
    // A known option with the wrong length is skipped by its length and ignored (as Linux
    // tcp_parse_options does); RFC 9293 §3.1 MUST-6: unknown options are skipped too.
    switch (kind) {
      case TCPOPT_MSS:
        // RFC 9293 §3.2 / RFC 6691: Maximum Segment Size, kind 2, length 4, 16-bit value.
        if (len === 4) opts.mss = (b[i + 2] << 8) | b[i + 3];
        break;
      case TCPOPT_WINDOW_SCALE:
        // RFC 7323 §2.2: kind 3, length 3, shift.cnt.
        if (len === 3) opts.windowScale = b[i + 2];
        break;
      case TCPOPT_SACK_PERMITTED:
        // RFC 2018 §2: kind 4, length 2.
        if (len === 2) opts.sackPermitted = true;
        break;
      case TCPOPT_SACK: {
        // RFC 2018 §3: kind 5, length 8*n+2, n blocks of Left Edge / Right Edge.
        if (len < 10 || (len - 2) % 8 !== 0) break;
        const blocks: Array<[number, number]> = [];
        for (let j = i + 2; j < i + len; j += 8) blocks.push([readU32(b, j), readU32(b, j + 4)]);
        opts.sack = blocks;
        break;
      }
      case TCPOPT_TIMESTAMPS:
        // RFC 7323 §3.2: kind 8, length 10, TSval and TSecr.
        if (len === 10) opts.timestamps = { tsVal: readU32(b, i + 2), tsEcr: readU32(b, i + 6) };
        break;
      default:
        break;
    }
    i += len;
  }
  return opts;
}

/**
 * Bytes emitTcpOptions writes for `opts` (always a multiple of 4). It may exceed
 * TCP_MAX_OPTIONS_LEN, in which case emitting throws: callers sizing SACK blocks check it.
 */
export function tcpOptionsLen(opts: TcpOptions | undefined): number {
  if (opts === undefined) return 0;
  let n = 0;
  if (opts.mss !== undefined) n += 4;
  if (opts.timestamps !== undefined) n += 12;
  else if (opts.sackPermitted === true) n += 4;
  if (opts.windowScale !== undefined) n += 4;
  if (opts.sack !== undefined && opts.sack.length > 0) n += 4 + 8 * opts.sack.length;
  return n;
}

/**
 * Writes `opts` at `offset` in Linux's order and padding (tcp_options_write): MSS; timestamps
 * led by SACK-permitted when both are present, else by NOP NOP; SACK-permitted alone as
 * NOP NOP 4 2; NOP + window scale; NOP NOP + SACK blocks. Returns the bytes written.
 * Throws RangeError when they exceed 40 bytes or the buffer, or a value is out of range.
 */
export function emitTcpOptions(opts: TcpOptions | undefined, buf: Uint8Array, offset: number): number {
  const len = tcpOptionsLen(opts);
  if (opts === undefined || len === 0) return 0;
  if (len > TCP_MAX_OPTIONS_LEN) {
    throw new RangeError(`emitTcp: options need ${len} bytes, at most ${TCP_MAX_OPTIONS_LEN} fit`);
  }
  if (offset < 0 || offset + len > buf.length) {
    throw new RangeError(`emitTcp: need ${len} option bytes at offset ${offset}, buffer has ${buf.length}`);
  }
  let i = offset;
  if (opts.mss !== undefined) {
    if (opts.mss < 0 || opts.mss > 0xffff) throw new RangeError(`emitTcp: mss ${opts.mss} out of range`);
    buf[i] = TCPOPT_MSS;
    buf[i + 1] = 4;
    buf[i + 2] = opts.mss >>> 8;
    buf[i + 3] = opts.mss;
    i += 4;
  }
  if (opts.timestamps !== undefined) {
    if (opts.sackPermitted === true) {
      buf[i] = TCPOPT_SACK_PERMITTED;
      buf[i + 1] = 2;
    } else {
      buf[i] = TCPOPT_NOP;
      buf[i + 1] = TCPOPT_NOP;
    }
    buf[i + 2] = TCPOPT_TIMESTAMPS;
    buf[i + 3] = 10;
    writeU32(buf, i + 4, opts.timestamps.tsVal);
    writeU32(buf, i + 8, opts.timestamps.tsEcr);
    i += 12;
  } else if (opts.sackPermitted === true) {
    buf[i] = TCPOPT_NOP;
    buf[i + 1] = TCPOPT_NOP;
    buf[i + 2] = TCPOPT_SACK_PERMITTED;
    buf[i + 3] = 2;
    i += 4;
  }
  if (opts.windowScale !== undefined) {
    const ws = opts.windowScale;
    if (ws < 0 || ws > 0xff) throw new RangeError(`emitTcp: window scale ${ws} out of range`);
    buf[i] = TCPOPT_NOP;
    buf[i + 1] = TCPOPT_WINDOW_SCALE;
    buf[i + 2] = 3;
    buf[i + 3] = ws;
    i += 4;
  }
  if (opts.sack !== undefined && opts.sack.length > 0) {
    buf[i] = TCPOPT_NOP;
    buf[i + 1] = TCPOPT_NOP;
    buf[i + 2] = TCPOPT_SACK;
    buf[i + 3] = 2 + 8 * opts.sack.length;
    i += 4;
    for (const [left, right] of opts.sack) {
      writeU32(buf, i, left);
      writeU32(buf, i + 4, right);
      i += 8;
    }
  }
  return i - offset;
}
