// FaultLink: wraps any Link and impairs the packets crossing it — loss, delay, reordering,
// duplication — from a seeded PRNG, like `tc qdisc … netem` but inside tunstack (DESIGN.md rule 9:
// fault injection wraps a Link; the core knows nothing of it). Delays use real timers: this is the
// I/O side of the stack, not the sans-IO core.

import type { BatchReceiver, Link } from './link.js';

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

export class FaultLink implements Link {
  readonly counters: FaultCounters = { dropped: 0, delayed: 0, reordered: 0, duplicated: 0 };
  private receiver: BatchReceiver | undefined;
  private rng: () => number;
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(
    private readonly inner: Link,
    private readonly opts: FaultLinkOptions,
  ) {
    this.rng = mulberry32(opts.seed ?? 1);
    inner.setReceiver((packets) => this.pass(packets, this.opts.inbound, (batch) => this.receiver?.(batch)));
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
    if (gso && gso.some((g) => g > 0)) {
      // Keep each super-segment's GSO size with it through the impairments.
      const sizes = new Map<Uint8Array, number>();
      packets.forEach((p, i) => sizes.set(p, gso[i] ?? 0));
      this.pass(packets, this.opts.outbound, (batch, origins) =>
        this.inner.send(batch, batch.map((_, i) => sizes.get(origins[i]!) ?? 0)),
      );
      return;
    }
    this.pass(packets, this.opts.outbound, (batch) => this.inner.send(batch));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await this.inner.close();
  }

  private pass(
    packets: readonly Uint8Array[],
    imp: Impairment | undefined,
    deliver: (batch: Uint8Array[], origins: Uint8Array[]) => void,
  ): void {
    if (this.closed) return;
    if (!imp) {
      deliver(packets as Uint8Array[], packets as Uint8Array[]);
      return;
    }
    const now: Uint8Array[] = [];
    const later: Uint8Array[] = [];
    const nowFrom: Uint8Array[] = [];
    const laterFrom: Uint8Array[] = [];
    for (const p of packets) {
      if (imp.loss && this.rng() < imp.loss) {
        this.counters.dropped++;
        continue;
      }
      const copies = imp.duplicate && this.rng() < imp.duplicate ? 2 : 1;
      if (copies === 2) this.counters.duplicated++;
      for (let i = 0; i < copies; i++) {
        if (imp.delayMs && !(imp.reorder && this.rng() < imp.reorder)) {
          later.push(p.slice()); // the receiver's views are only valid during this call
          laterFrom.push(p);
          this.counters.delayed++;
        } else {
          if (imp.delayMs) this.counters.reordered++;
          now.push(p);
          nowFrom.push(p);
        }
      }
    }
    if (now.length > 0) deliver(now, nowFrom);
    if (later.length > 0) {
      const t = setTimeout(() => {
        this.timers.delete(t);
        if (!this.closed) deliver(later, laterFrom);
      }, imp.delayMs);
      this.timers.add(t);
    }
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
