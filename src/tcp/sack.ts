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

  /**
   * Whether the peer evidently discarded data it SACKed (RFC 2018 §8 "reneging"): a cumulative ACK
   * `ack` that stops at or inside a range it reported holding (a receiver holding that range would
   * have acknowledged past it). Linux's tcp_check_sack_reneging makes the same test.
   */
  reneged(ack: number): boolean {
    for (const [a, b] of this.ranges) {
      if (lt(ack, a)) return false;
      if (lt(ack, b)) return true;
    }
    return false;
  }

  /** Forget everything: the peer reneged, or SACK information is no longer trusted after a timeout. */
  clear(): void {
    this.ranges = [];
  }

  /**
   * The first octet range at or after `from` that is not SACKed but lies below some SACKed octet
   * (RFC 6675 §4 NextSeg (1.b): "less than the highest octet covered by any received SACK"): a hole
   * the peer reports missing. At most `max` octets, never running into the next SACKed range.
   * Undefined when there is none.
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

  /**
   * Like nextHole, but the unSACKed space above the highest SACKed octet (up to `end`, SND.MAX)
   * counts too: the next octets at or after `from` the peer has not reported holding.
   */
  nextUnsacked(from: number, max: number, end: number): [number, number] | undefined {
    const hole = this.nextHole(from, max);
    if (hole) return hole;
    const high = this.highest;
    const at = high !== undefined && lt(from, high) ? high : from;
    if (!lt(at, end)) return undefined;
    return [at, lt(add(at, max), end) ? add(at, max) : end];
  }

  /**
   * The hole that holds the highest unSACKed octet below `end` (SND.MAX), as [holeStart, top): `top`
   * is one past that octet (RFC 6675 §4 NextSeg rule (4)). Undefined when everything from `from`
   * (SND.UNA) to `end` is SACKed.
   */
  highestUnsacked(from: number, end: number): [number, number] | undefined {
    let top = end;
    for (let i = this.ranges.length - 1; i >= 0; i--) {
      const [a, b] = this.ranges[i]!;
      if (lt(b, top)) return [b, top]; // the space [b, top) is unSACKed
      if (lt(a, top)) top = a; // [a, top) is SACKed: the highest unSACKed octet is below a
    }
    return lt(from, top) ? [from, top] : undefined;
  }

  /** SACKed octets in [from, to). */
  sackedIn(from: number, to: number): number {
    let n = 0;
    for (const [a, b] of this.ranges) {
      const l = lt(a, from) ? from : a;
      const r = gt(b, to) ? to : b;
      if (lt(l, r)) n += sub(r, l);
    }
    return n;
  }

  /**
   * What the peer SACKed above `seq` (the octets with greater sequence numbers), as octets and as
   * "discontiguous SACKed sequences" (RFC 6675 §4 IsLost). The scoreboard keeps octet ranges, not
   * the segments that filled them, so a range counts as ceil(length / smss) segments: one per
   * separate block, one per full-sized segment within a block (see lostEdge).
   */
  sackedAbove(seq: number, smss: number): { bytes: number; segments: number } {
    let bytes = 0;
    let segments = 0;
    const from = add(seq, 1);
    for (const [a, b] of this.ranges) {
      if (le(b, from)) continue;
      const n = sub(b, lt(a, from) ? from : a);
      bytes += n;
      segments += Math.ceil(n / smss);
    }
    return { bytes, segments };
  }

  /**
   * RFC 6675 §4 IsLost over the whole scoreboard: the start of the highest SACKed range such that
   * what lies from it upwards meets the loss threshold (`dupThresh` segments, or more than
   * (dupThresh - 1) * smss octets). Every unSACKed octet below the returned sequence number is lost;
   * none at or above it is (the SACKed data above an unSACKed octet only shrinks as it rises).
   * Undefined when no unSACKed octet is lost.
   */
  lostEdge(smss: number, dupThresh: number): number | undefined {
    let bytes = 0;
    let segments = 0;
    for (let i = this.ranges.length - 1; i >= 0; i--) {
      const [a, b] = this.ranges[i]!;
      const n = sub(b, a);
      bytes += n;
      segments += Math.ceil(n / smss);
      if (segments >= dupThresh || bytes > (dupThresh - 1) * smss) return a;
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
