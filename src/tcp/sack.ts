// The sender's SACK scoreboard (RFC 2018 §5, RFC 6675 §3–§4): the ranges above SND.UNA the peer
// reported holding, so loss recovery resends only the holes between them.

import { add, gt, le, lt, sub } from './seq.js';

/**
 * At most this many separate ranges are kept: SACK is advisory (RFC 2018 §5), so ignoring more costs
 * only efficiency, while a peer SACKing thousands of one-octet islands cannot make every ACK O(n²).
 */
const MAX_RANGES = 64;

export class Scoreboard {
  /** Sorted, disjoint [start, end) sequence ranges, all above SND.UNA. */
  private ranges: Array<[number, number]> = [];

  get size(): number {
    return this.ranges.length;
  }

  /** Octets reported held above SND.UNA. */
  get sackedBytes(): number {
    let n = 0;
    for (const [a, b] of this.ranges) n += sub(b, a);
    return n;
  }

  /** One past the highest SACKed octet, or undefined when nothing is SACKed. */
  get highest(): number | undefined {
    return this.ranges.length > 0 ? this.ranges[this.ranges.length - 1]![1] : undefined;
  }

  /**
   * Adds the blocks of one ACK. RFC 2018 §4/§5: only blocks within (SND.UNA, SND.MAX] mean
   * anything; others (old, bogus, beyond what was sent) are ignored. Returns whether anything new
   * was SACKed (RFC 6675 §2: what makes an ACK a DupAck).
   */
  update(blocks: ReadonlyArray<readonly [number, number]>, sndUna: number, sndMax: number): boolean {
    let changed = false;
    for (const [l0, r0] of blocks) {
      if (!lt(l0, r0)) continue;
      const l = lt(l0, sndUna) ? sndUna : l0;
      const r = gt(r0, sndMax) ? sndMax : r0;
      if (!lt(l, r) || le(r, sndUna)) continue;
      if (this.ranges.length >= MAX_RANGES) break;
      changed = this.add(l, r) || changed;
    }
    return changed;
  }

  /** SND.UNA moved to `sndUna`: forget what it covers. */
  advance(sndUna: number): void {
    while (this.ranges.length > 0 && le(this.ranges[0]![1], sndUna)) this.ranges.shift();
    const first = this.ranges[0];
    if (first && lt(first[0], sndUna)) first[0] = sndUna;
  }

  /** RFC 2018 §8: after a retransmission timeout the SACK information is no longer trusted. */
  clear(): void {
    this.ranges = [];
  }

  /**
   * RFC 6675 §4 NextSeg (rule 1, simplified): the first octet range at or after `from` that is not
   * SACKed but lies below some SACKed octet — a hole the peer is known to be missing. At most `max`
   * octets. Undefined when there is none.
   */
  nextHole(from: number, max: number): [number, number] | undefined {
    let at = from;
    for (const [a, b] of this.ranges) {
      if (le(b, at)) continue;
      if (lt(at, a)) return [at, lt(add(at, max), a) ? add(at, max) : a];
      at = b; // inside a SACKed range: skip past it
    }
    return undefined;
  }

  private add(l: number, r: number): boolean {
    const out: Array<[number, number]> = [];
    let nl = l;
    let nr = r;
    let changed = true;
    for (const [a, b] of this.ranges) {
      if (lt(b, nl)) out.push([a, b]);
      else if (gt(a, nr)) out.push([a, b]);
      else {
        if (le(a, nl) && le(nr, b)) changed = false; // already fully known
        if (lt(a, nl)) nl = a;
        if (gt(b, nr)) nr = b;
      }
    }
    out.push([nl, nr]);
    out.sort((x, y) => (lt(x[0], y[0]) ? -1 : 1));
    this.ranges = out;
    return changed;
  }
}
