// FaultLink: wraps any Link and impairs the TCP segments crossing it — loss, delay, reordering,
// duplication — from a seeded PRNG, like `tc qdisc … netem` but inside tunstack (DESIGN.md rule 9:
// fault injection wraps a Link; the core knows nothing of it). Delays use real timers: this is the
// I/O side of the stack, not the sans-IO core.

import type { BatchReceiver, Link } from './link.js';
import { fillTcpChecksum } from '../wire/tcp.js';
import { splitTcpSuperSegment, tcpSegmentCount } from './tcp-gso-split.js';

export interface Impairment {
  /** Probability that a packet is dropped. */
  loss?: number;
  /** Delay added to every packet (ms). */
  delayMs?: number;
  /** netem's reorder: this fraction of packets skips the delay and so overtakes the others. */
  reorder?: number;
  /** Probability that a packet is delivered twice. */
  duplicate?: number;
}

export interface FaultLinkOptions {
  /** Impairment of packets tunstack receives (kernel → tunstack). */
  inbound?: Impairment;
  /** Impairment of packets tunstack sends (tunstack → kernel). */
  outbound?: Impairment;
  seed?: number;
}

export interface FaultCounters {
  dropped: number;
  delayed: number;
  reordered: number;
  duplicated: number;
  /** Super-segments cut into their TCP segments in software because their segments met different fates. */
  split: number;
}

/** Parses "loss=2%,delay=5ms,reorder=10%,duplicate=1%" (the CLI's --impair). */
export function parseImpairment(text: string): Impairment {
  const out: Impairment = {};
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^(loss|delay|reorder|duplicate)=(\d+(?:\.\d+)?)(%|ms)?$/.exec(part);
    if (!m) throw new Error(`bad impairment "${part}": use loss=2%,delay=5ms,reorder=10%,duplicate=1%`);
    const v = Number(m[2]);
    if (m[1] === 'delay') {
      if (m[3] === '%') throw new Error(`delay is in ms, not %: "${part}"`);
      out.delayMs = v;
    } else {
      if (m[3] === 'ms') throw new Error(`${m[1]} is a percentage: "${part}"`);
      const p = v / 100;
      if (p > 1) throw new Error(`${m[1]} above 100%: "${part}"`);
      if (m[1] === 'loss') out.loss = p;
      else if (m[1] === 'reorder') out.reorder = p;
      else out.duplicate = p;
    }
  }
  return out;
}

/** A segment's fate, drawn in this order: loss, then duplication, then per copy whether it skips the delay. */
const DROP = 0;
const NOW = 1;
const LATER = 2;
/** Duplicated: DUP | (first copy later ? 1 : 0) | (second copy later ? 2 : 0). */
const DUP = 4;

export class FaultLink implements Link {
  readonly counters: FaultCounters = { dropped: 0, delayed: 0, reordered: 0, duplicated: 0, split: 0 };
  private receiver: BatchReceiver | undefined;
  private rng: () => number;
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;
  /** Scratch for one packet's segment fates (grown as needed). */
  private fates: number[] = [];

  constructor(
    private readonly inner: Link,
    private readonly opts: FaultLinkOptions,
  ) {
    this.rng = mulberry32(opts.seed ?? 1);
    inner.setReceiver((packets, gso, partial) => {
      // A test tool, not a fast path: partial checksums are filled in, so copies and cut segments carry real ones.
      if (partial !== undefined) for (let i = 0; i < packets.length; i++) if (partial[i] === true) fillTcpChecksum(packets[i]!);
      this.pass(packets, gso ?? this.inboundGso(packets), this.opts.inbound, (batch, sizes) => this.receiver?.(batch, sizes));
    });
  }

  get name(): string {
    return this.inner.name;
  }

  get mtu(): number {
    return this.inner.mtu;
  }

  setReceiver(receiver: BatchReceiver): void {
    this.receiver = receiver;
  }

  get tsoMaxSize(): number | undefined {
    return this.inner.tsoMaxSize;
  }

  send(packets: readonly Uint8Array[], gso?: readonly number[]): void {
    this.pass(packets, gso, this.opts.outbound, (batch, sizes) => (sizes ? this.inner.send(batch, sizes) : this.inner.send(batch)));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await this.inner.close();
  }

  /**
   * Segment sizes for inbound packets from a link that does not say them: a TCP packet larger than
   * the MTU is a GRO super-segment of MTU-sized segments (payload: MTU minus its IPv4 and TCP headers).
   */
  private inboundGso(packets: readonly Uint8Array[]): number[] | undefined {
    if (!this.opts.inbound) return undefined;
    const mtu = this.inner.mtu;
    let sizes: number[] | undefined;
    for (let i = 0; i < packets.length; i++) {
      const p = packets[i]!;
      if (p.length <= mtu || p.length < 40 || p[0]! >> 4 !== 4 || p[9] !== 6) continue;
      const ihl = (p[0]! & 0x0f) * 4;
      if (p.length < ihl + 20) continue;
      const size = mtu - ihl - (p[ihl + 12]! >> 4) * 4;
      if (size <= 0) continue;
      sizes ??= new Array<number>(packets.length).fill(0);
      sizes[i] = size;
    }
    return sizes;
  }

  /**
   * Impairs each TCP segment a packet stands for. A super-segment (gso[i] > 0) whose segments all
   * draw the same plain fate (delivered once, all delayed or all not) goes on whole, with its GSO size;
   * otherwise it is cut into its segments (splitTcpSuperSegment) and each meets its own fate.
   */
  private pass(
    packets: readonly Uint8Array[],
    gso: readonly number[] | undefined,
    imp: Impairment | undefined,
    deliver: (batch: Uint8Array[], gso: number[] | undefined) => void,
  ): void {
    if (this.closed) return;
    if (!imp) {
      deliver(packets as Uint8Array[], gso as number[] | undefined);
      return;
    }
    const now: Uint8Array[] = [];
    const later: Uint8Array[] = [];
    const nowGso: number[] = [];
    const laterGso: number[] = [];
    let anyGso = false;
    const c = this.counters;
    const push = (p: Uint8Array, g: number, isLater: boolean, fresh: boolean): void => {
      if (g > 0) anyGso = true;
      if (isLater) {
        later.push(fresh ? p : p.slice()); // the caller's buffers are only ours during this call
        laterGso.push(g);
      } else {
        now.push(p);
        nowGso.push(g);
      }
    };
    for (let i = 0; i < packets.length; i++) {
      const p = packets[i]!;
      const g = gso?.[i] ?? 0;
      const n = g > 0 ? tcpSegmentCount(p, g) : 1;
      const fates = this.draw(imp, n);
      let uniform = true;
      for (let k = 1; k < n && uniform; k++) uniform = fates[k] === fates[0];
      if (uniform) {
        this.deliverFate(fates[0]!, p, g, false, imp, push);
        continue;
      }
      const segs = splitTcpSuperSegment(p, g);
      if (segs === undefined || segs.length !== n) {
        // Not a packet the splitter can cut (it counted as one segment then): its first fate decides.
        this.deliverFate(fates[0]!, p, g, false, imp, push);
        continue;
      }
      c.split++;
      for (let k = 0; k < n; k++) this.deliverFate(fates[k]!, segs[k]!, 0, true, imp, push);
    }
    if (now.length > 0) deliver(now, anyGso ? nowGso : undefined);
    if (later.length > 0) {
      const sizes = anyGso ? laterGso : undefined;
      const t = setTimeout(() => {
        this.timers.delete(t);
        if (!this.closed) deliver(later, sizes);
      }, imp.delayMs);
      this.timers.add(t);
    }
  }

  /** Draws the fates of n segments into this.fates (counting them) and returns it. */
  private draw(imp: Impairment, n: number): number[] {
    const fates = this.fates;
    const c = this.counters;
    const skipsDelay = (): boolean => {
      if (!imp.delayMs) return true;
      const reordered = imp.reorder !== undefined && imp.reorder > 0 && this.rng() < imp.reorder;
      if (reordered) c.reordered++;
      else c.delayed++;
      return reordered;
    };
    for (let k = 0; k < n; k++) {
      if (imp.loss && this.rng() < imp.loss) {
        c.dropped++;
        fates[k] = DROP;
        continue;
      }
      if (imp.duplicate && this.rng() < imp.duplicate) {
        c.duplicated++;
        fates[k] = DUP | (skipsDelay() ? 0 : 1) | (skipsDelay() ? 0 : 2);
        continue;
      }
      fates[k] = skipsDelay() ? NOW : LATER;
    }
    return fates;
  }

  private deliverFate(
    fate: number,
    p: Uint8Array,
    g: number,
    fresh: boolean,
    imp: Impairment,
    push: (p: Uint8Array, g: number, isLater: boolean, fresh: boolean) => void,
  ): void {
    if (fate === DROP) return;
    if (fate === NOW || fate === LATER) {
      push(p, g, fate === LATER && Boolean(imp.delayMs), fresh);
      return;
    }
    push(p, g, (fate & 1) !== 0, fresh);
    push(p, g, (fate & 2) !== 0, fresh); // a fresh buffer may be delivered twice: it is ours
  }
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
