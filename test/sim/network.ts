// A deterministic simulated network for sans-IO hosts: seeded impairments (latency, jitter, loss,
// duplication, reordering, corruption, bandwidth, MTU) and a virtual clock that jumps to the next event.

import { mulberry32, type Prng } from '../helpers/prng.js';
import { MinHeap } from './heap.js';

/**
 * What the network drives: the sans-IO host surface (DESIGN.md rule 1). `pollTransmit` is called
 * with the current time; a host whose `pollTransmit()` takes no argument fits as well.
 */
export interface SansIoHost {
  handlePacket(now: number, bytes: Uint8Array): void;
  pollTransmit(now: number): Uint8Array | undefined;
  pollTimeout(): number | undefined;
  handleTimeout(now: number): void;
  /** The host's IPv4 address (uint32); used to route only when more than two hosts are attached. */
  readonly address?: number;
}

/** The behaviour of one direction of a link. */
export interface LinkConfig {
  /** One-way propagation delay. Default 10. */
  latencyMs: number;
  /** Extra delay per packet, uniform in [0, jitterMs). Independent per packet, so (as with netem) it can reorder. Default 0. */
  jitterMs: number;
  /** Probability a packet is lost. Default 0. */
  lossRate: number;
  /** Probability a packet arrives twice. Default 0. */
  duplicateRate: number;
  /** Probability a packet is held back by `reorderDelayMs`, so later packets overtake it. Default 0. */
  reorderRate: number;
  /** The hold-back of a reordered packet. Default latencyMs + jitterMs + 1. */
  reorderDelayMs: number | undefined;
  /** Probability a packet has bits flipped. Default 0. */
  corruptRate: number;
  /** Distinct bits flipped in a corrupted packet. Default 1 (always caught by an Internet checksum). */
  corruptBits: number;
  /** Serialization rate; undefined = infinite (no serialization delay). */
  bandwidthBytesPerMs: number | undefined;
  /** With a bandwidth: bytes that may wait for the wire, this packet included (drop-tail); undefined = unbounded. */
  queueLimitBytes: number | undefined;
  /** Packets longer than this are dropped; undefined = no limit. */
  mtu: number | undefined;
}

export type LinkImpairments = Partial<LinkConfig>;

/** Key of a direction in `SimNetworkOptions.links`: sender name, "->", receiver name. */
export type LinkKey = `${string}->${string}`;

export interface SimNetworkOptions extends LinkImpairments {
  seed: number;
  /** Per-direction overrides, e.g. `{ 'A->B': { lossRate: 0.1 } }`, applied over the defaults above. */
  links?: { [key: LinkKey]: LinkImpairments };
  onPacket?: PacketTap;
}

export type DropReason = 'loss' | 'mtu' | 'queue';

/** What happened to a packet; `id` numbers packets in the order they were sent (network-wide, from 1). */
export type PacketFate =
  /** At send time: the packet will never arrive. */
  | { kind: 'dropped'; id: number; sentAt: number; reason: DropReason }
  /** At send time (`bytes` as sent, before any corruption): it will arrive at each of `arrivals` (two when duplicated). */
  | { kind: 'sent'; id: number; sentAt: number; arrivals: number[]; corrupted: boolean; reordered: boolean }
  /** At arrival, just before handlePacket; `bytes` are what the receiver gets (corruption included). */
  | { kind: 'delivered'; id: number; sentAt: number; at: number; copy: 0 | 1; corrupted: boolean; reordered: boolean };

export type PacketTap = (from: string, to: string, bytes: Uint8Array, fate: PacketFate) => void;

/** Counters for one direction. `reordered` counts packets held back, whether or not anything overtook them. */
export interface LinkStats {
  /** Packets offered to the link. */
  sent: number;
  /** Bytes offered to the link. */
  bytes: number;
  /** Copies handed to the receiver (a duplicated packet counts twice). */
  delivered: number;
  deliveredBytes: number;
  /** lost + tooBig + queueFull. */
  dropped: number;
  lost: number;
  tooBig: number;
  queueFull: number;
  duplicated: number;
  reordered: number;
  corrupted: number;
}

export interface RunLimits {
  /** Virtual ms this call may advance before it throws. Default 600_000 (10 minutes). */
  maxTimeMs?: number;
  /** Deliveries + timeouts + transmissions this call may process before it throws. Default 1_000_000. */
  maxEvents?: number;
}

export interface RunStats {
  events: number;
  elapsedMs: number;
}

const DEFAULT_MAX_TIME_MS = 600_000;
const DEFAULT_MAX_EVENTS = 1_000_000;

const DEFAULTS: LinkConfig = {
  latencyMs: 10,
  jitterMs: 0,
  lossRate: 0,
  duplicateRate: 0,
  reorderRate: 0,
  reorderDelayMs: undefined,
  corruptRate: 0,
  corruptBits: 1,
  bandwidthBytesPerMs: undefined,
  queueLimitBytes: undefined,
  mtu: undefined,
};

interface Endpoint {
  name: string;
  index: number;
  host: SansIoHost;
  address: number | undefined;
}

interface Direction {
  from: Endpoint;
  to: Endpoint;
  config: LinkConfig;
  /** Fate draws: a fixed number per packet, so changing one rate does not reshuffle the others. */
  rng: Prng;
  /** Bit positions for corruption. */
  bitRng: Prng;
  linkFreeAt: number;
  stats: LinkStats;
}

interface Arrival {
  time: number;
  seq: number;
  dir: Direction;
  id: number;
  sentAt: number;
  copy: 0 | 1;
  corrupted: boolean;
  reordered: boolean;
  bytes: Uint8Array;
}

interface Budget {
  events: number;
  max: number;
  call: string;
}

export class SimNetwork {
  /** Virtual time, ms. Starts at 0 and only moves forward. */
  get now(): number {
    return this._now;
  }
  /** Debugging tap: every packet's fate at send time and every delivery. */
  onPacket: PacketTap | undefined;
  /** Packets with no receiver (only with fewer than two hosts, or more than two and no address match). */
  unroutable = 0;

  private _now = 0;
  private readonly seed: number;
  private readonly base: LinkConfig;
  private readonly overrides = new Map<string, LinkImpairments>();
  private readonly endpoints: Endpoint[] = [];
  private readonly byName = new Map<string, Endpoint>();
  private readonly directions = new Map<string, Direction>();
  private readonly queue = new MinHeap<Arrival>((a, b) => a.time < b.time || (a.time === b.time && a.seq < b.seq));
  private nextSeq = 0;
  private nextId = 0;
  private hash = FNV_OFFSET;

  constructor(opts: SimNetworkOptions) {
    if (!Number.isInteger(opts.seed)) throw new RangeError(`SimNetwork: seed must be an integer, got ${opts.seed}`);
    this.seed = opts.seed >>> 0;
    const { seed: _seed, links, onPacket, ...rest } = opts;
    this.base = merge(DEFAULTS, rest, 'defaults');
    for (const [key, patch] of Object.entries(links ?? {})) {
      if (!/^.+->.+$/.test(key)) throw new RangeError(`SimNetwork: link key "${key}" is not "from->to"`);
      merge(this.base, patch, key); // validate now
      this.overrides.set(key, { ...patch });
    }
    this.onPacket = onPacket;
  }

  /** Adds a host. With two hosts, whatever one sends goes to the other; with more, by IPv4 destination. */
  attach(host: SansIoHost, name: string, address: number | undefined = host.address): void {
    if (this.byName.has(name)) throw new Error(`SimNetwork.attach: a host named "${name}" is already attached`);
    if (name.length === 0 || name.includes('->')) throw new RangeError(`SimNetwork.attach: bad host name "${name}"`);
    const ep: Endpoint = { name, index: this.endpoints.length, host, address: address === undefined ? undefined : address >>> 0 };
    this.endpoints.push(ep);
    this.byName.set(name, ep);
  }

  /** Changes one direction's impairments from now on (packets already in flight keep their fate). */
  configure(from: string, to: string, patch: LinkImpairments): void {
    this.endpoint(from, 'configure');
    this.endpoint(to, 'configure');
    const key = `${from}->${to}`;
    const merged = { ...this.overrides.get(key), ...patch };
    const config = merge(this.base, merged, key);
    this.overrides.set(key, merged);
    const dir = this.directions.get(key);
    if (dir) dir.config = config;
  }

  /** The live counters of one direction. */
  stats(from: string, to: string): LinkStats {
    return this.direction(this.endpoint(from, 'stats'), this.endpoint(to, 'stats')).stats;
  }

  /** Counters summed over every direction. */
  totals(): LinkStats {
    const t = emptyStats();
    for (const d of this.directions.values()) {
      for (const k of Object.keys(t) as (keyof LinkStats)[]) t[k] += d.stats[k];
    }
    return t;
  }

  /** Packets scheduled to arrive (duplicates count twice). */
  get inFlight(): number {
    return this.queue.size;
  }

  /** FNV-1a over every send, drop, delivery (with bytes) and timeout so far: equal traces, equal hashes. */
  get traceHash(): string {
    return this.hash.toString(16).padStart(8, '0');
  }

  /** Puts `bytes` on the wire now, as if host `from` had transmitted it (subject to the same impairments). */
  send(from: string, bytes: Uint8Array): void {
    this.checkLinks();
    this.transmit(this.endpoint(from, 'send'), bytes);
  }

  /**
   * Runs until `pred()` holds (checked after every batch of events, and first before any).
   * Throws when the network goes idle with `pred` false, or when `maxTimeMs` / `maxEvents` is exceeded.
   */
  runUntil(pred: () => boolean, limits: RunLimits = {}): RunStats {
    this.checkLinks();
    const start = this._now;
    const maxTimeMs = limits.maxTimeMs ?? DEFAULT_MAX_TIME_MS;
    const limit = start + maxTimeMs;
    const budget: Budget = { events: 0, max: limits.maxEvents ?? DEFAULT_MAX_EVENTS, call: 'runUntil' };
    for (;;) {
      this.flush(budget);
      if (pred()) return { events: budget.events, elapsedMs: this._now - start };
      // The predicate may have acted on the hosts (written data, closed): send that at this instant.
      this.flush(budget);
      const next = this.nextEventTime();
      if (next === undefined) {
        throw new Error(
          `SimNetwork.runUntil: condition not met and the network is idle (no packets in flight, no host deadline) ` +
            `at t=${this._now} ms, after ${budget.events} events`,
        );
      }
      if (next > limit) {
        this._now = limit;
        throw new Error(
          `SimNetwork.runUntil: condition not met within maxTimeMs=${maxTimeMs} ms of virtual time ` +
            `(t=${this._now} ms, ${budget.events} events; ${this.describe()})`,
        );
      }
      this.step(Math.max(next, this._now), budget);
    }
  }

  /** Runs every event due within the next `ms` virtual ms, then sets the clock to now + ms. */
  runFor(ms: number, limits: Pick<RunLimits, 'maxEvents'> = {}): RunStats {
    if (!(ms >= 0) || !Number.isFinite(ms)) throw new RangeError(`SimNetwork.runFor: ${ms} is not a duration`);
    this.checkLinks();
    const start = this._now;
    const end = start + ms;
    const budget: Budget = { events: 0, max: limits.maxEvents ?? DEFAULT_MAX_EVENTS, call: 'runFor' };
    for (;;) {
      this.flush(budget);
      const next = this.nextEventTime();
      if (next === undefined || next > end) break;
      this.step(Math.max(next, this._now), budget);
    }
    this._now = end;
    return { events: budget.events, elapsedMs: ms };
  }

  // --- the event loop ---

  /** Drains every host's transmit queue at the current time, in attach order. */
  private flush(budget: Budget): void {
    for (const ep of this.endpoints) {
      for (;;) {
        const p = ep.host.pollTransmit(this._now);
        if (p === undefined) break;
        this.count(budget);
        this.transmit(ep, p);
      }
    }
  }

  private nextEventTime(): number | undefined {
    let next = this.queue.peek()?.time;
    for (const ep of this.endpoints) {
      const d = ep.host.pollTimeout();
      if (d !== undefined && (next === undefined || d < next)) next = d;
    }
    return next;
  }

  /** Moves the clock to `t`, delivers every arrival due, then runs every expired host deadline. */
  private step(t: number, budget: Budget): void {
    this._now = t;
    for (let a = this.queue.peek(); a !== undefined && a.time <= t; a = this.queue.peek()) {
      this.queue.pop();
      this.count(budget);
      this.deliver(a);
    }
    for (const ep of this.endpoints) {
      const d = ep.host.pollTimeout();
      if (d !== undefined && d <= t) {
        this.count(budget);
        this.mixNumbers(4, ep.index, t);
        ep.host.handleTimeout(t);
      }
    }
  }

  private count(budget: Budget): void {
    if (++budget.events > budget.max) {
      throw new Error(
        `SimNetwork.${budget.call}: maxEvents=${budget.max} exceeded at t=${this._now} ms (${this.describe()})`,
      );
    }
  }

  private transmit(from: Endpoint, original: Uint8Array): void {
    const id = ++this.nextId;
    const sentAt = this._now;
    // Hosts may reuse their transmit buffers: the wire carries a copy.
    const bytes = original.slice();
    const to = this.route(from, bytes);
    if (to === undefined) {
      this.unroutable++;
      this.mixNumbers(0, from.index, id, sentAt);
      return;
    }
    const dir = this.direction(from, to);
    const c = dir.config;
    const s = dir.stats;
    s.sent++;
    s.bytes += bytes.length;
    // A fixed number of draws per packet, whatever the rates.
    const uLoss = dir.rng.next();
    const uCorrupt = dir.rng.next();
    const uDup = dir.rng.next();
    const uReorder = dir.rng.next();
    const uJitter = dir.rng.next();
    const uJitterDup = dir.rng.next();

    if (c.mtu !== undefined && bytes.length > c.mtu) return this.drop(dir, bytes, id, sentAt, 'mtu');
    let txDone = sentAt;
    if (c.bandwidthBytesPerMs !== undefined) {
      const startTx = Math.max(sentAt, dir.linkFreeAt);
      const backlog = (startTx - sentAt) * c.bandwidthBytesPerMs;
      if (c.queueLimitBytes !== undefined && backlog + bytes.length > c.queueLimitBytes) {
        return this.drop(dir, bytes, id, sentAt, 'queue');
      }
      txDone = startTx + bytes.length / c.bandwidthBytesPerMs;
      dir.linkFreeAt = txDone;
    }
    // Lost on the wire, after it took its share of the bandwidth.
    if (uLoss < c.lossRate) return this.drop(dir, bytes, id, sentAt, 'loss');

    const corrupted = uCorrupt < c.corruptRate;
    const duplicated = uDup < c.duplicateRate;
    const reordered = uReorder < c.reorderRate;
    let wire = bytes;
    if (corrupted) {
      wire = bytes.slice();
      flipBits(wire, c.corruptBits, dir.bitRng);
      s.corrupted++;
    }
    const extra = reordered ? (c.reorderDelayMs ?? c.latencyMs + c.jitterMs + 1) : 0;
    if (reordered) s.reordered++;
    const base = txDone + c.latencyMs + extra;
    const arrivals = [base + uJitter * c.jitterMs];
    if (duplicated) {
      s.duplicated++;
      arrivals.push(base + uJitterDup * c.jitterMs);
    }
    this.mixNumbers(1, from.index, to.index, id, sentAt, ...arrivals);
    this.mixBytes(wire);
    this.onPacket?.(from.name, to.name, bytes, { kind: 'sent', id, sentAt, arrivals, corrupted, reordered });
    arrivals.forEach((time, i) => {
      const copy: 0 | 1 = i === 0 ? 0 : 1;
      this.queue.push({
        time,
        seq: this.nextSeq++,
        dir,
        id,
        sentAt,
        copy,
        corrupted,
        reordered,
        bytes: copy === 0 ? wire : wire.slice(),
      });
    });
  }

  private drop(dir: Direction, bytes: Uint8Array, id: number, sentAt: number, reason: DropReason): void {
    const s = dir.stats;
    s.dropped++;
    if (reason === 'loss') s.lost++;
    else if (reason === 'mtu') s.tooBig++;
    else s.queueFull++;
    this.mixNumbers(2, dir.from.index, dir.to.index, id, sentAt, reason === 'loss' ? 0 : reason === 'mtu' ? 1 : 2);
    this.onPacket?.(dir.from.name, dir.to.name, bytes, { kind: 'dropped', id, sentAt, reason });
  }

  private deliver(a: Arrival): void {
    const { dir } = a;
    dir.stats.delivered++;
    dir.stats.deliveredBytes += a.bytes.length;
    this.mixNumbers(3, dir.from.index, dir.to.index, a.id, a.copy, this._now);
    this.onPacket?.(dir.from.name, dir.to.name, a.bytes, {
      kind: 'delivered',
      id: a.id,
      sentAt: a.sentAt,
      at: this._now,
      copy: a.copy,
      corrupted: a.corrupted,
      reordered: a.reordered,
    });
    dir.to.host.handlePacket(this._now, a.bytes);
  }

  // --- plumbing ---

  private route(from: Endpoint, bytes: Uint8Array): Endpoint | undefined {
    if (this.endpoints.length === 2) return this.endpoints[from.index === 0 ? 1 : 0];
    if (bytes.length < 20) return undefined;
    const dst = ((bytes[16] << 24) | (bytes[17] << 16) | (bytes[18] << 8) | bytes[19]) >>> 0;
    return this.endpoints.find((ep) => ep !== from && ep.address === dst);
  }

  private endpoint(name: string, call: string): Endpoint {
    const ep = this.byName.get(name);
    if (!ep) throw new Error(`SimNetwork.${call}: no host named "${name}" (attached: ${[...this.byName.keys()].join(', ') || 'none'})`);
    return ep;
  }

  private direction(from: Endpoint, to: Endpoint): Direction {
    const key = `${from.name}->${to.name}`;
    let dir = this.directions.get(key);
    if (!dir) {
      const dirSeed = (this.seed ^ fnv1aString(key)) >>> 0;
      dir = {
        from,
        to,
        config: merge(this.base, this.overrides.get(key) ?? {}, key),
        rng: mulberry32(dirSeed),
        bitRng: mulberry32((dirSeed ^ 0x9e3779b9) >>> 0),
        linkFreeAt: 0,
        stats: emptyStats(),
      };
      this.directions.set(key, dir);
    }
    return dir;
  }

  /** Catches a typo in `links` keys once the hosts are attached. */
  private checkLinks(): void {
    for (const key of this.overrides.keys()) {
      const [from, to] = key.split('->');
      if (!this.byName.has(from ?? '') || !this.byName.has(to ?? '')) {
        throw new Error(`SimNetwork: link "${key}" names a host that is not attached (attached: ${[...this.byName.keys()].join(', ')})`);
      }
    }
  }

  private describe(): string {
    const deadlines = this.endpoints.map((ep) => `${ep.name} deadline ${ep.host.pollTimeout() ?? 'none'}`).join(', ');
    return `${this.queue.size} packets in flight, next arrival ${this.queue.peek()?.time ?? 'none'}; ${deadlines}`;
  }

  private mixNumbers(...xs: number[]): void {
    for (const x of xs) {
      F64[0] = x;
      this.mixBytes(F64_BYTES);
    }
  }

  private mixBytes(b: Uint8Array): void {
    let h = this.hash;
    for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i], FNV_PRIME) >>> 0;
    // Length too, so concatenations differ.
    h = Math.imul(h ^ (b.length & 0xff), FNV_PRIME) >>> 0;
    this.hash = h;
  }
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const F64 = new Float64Array(1);
const F64_BYTES = new Uint8Array(F64.buffer);

function fnv1aString(s: string): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), FNV_PRIME) >>> 0;
  return h;
}

function flipBits(b: Uint8Array, n: number, rng: Prng): void {
  const bits = b.length * 8;
  if (bits === 0) return;
  const picked = new Set<number>();
  while (picked.size < Math.min(n, bits)) picked.add(rng.int(bits));
  for (const bit of picked) b[bit >>> 3] ^= 0x80 >>> (bit & 7);
}

function emptyStats(): LinkStats {
  return {
    sent: 0,
    bytes: 0,
    delivered: 0,
    deliveredBytes: 0,
    dropped: 0,
    lost: 0,
    tooBig: 0,
    queueFull: 0,
    duplicated: 0,
    reordered: 0,
    corrupted: 0,
  };
}

/**
 * `base` with `patch` applied; throws RangeError on bad values. An explicit `undefined` resets an optional
 * field (mtu, bandwidthBytesPerMs, queueLimitBytes, reorderDelayMs) to "none" and is ignored elsewhere.
 */
function merge(base: LinkConfig, patch: LinkImpairments, where: string): LinkConfig {
  const c: LinkConfig = { ...base };
  const w = c as Record<keyof LinkConfig, number | undefined>;
  for (const [k, v] of Object.entries(patch) as [keyof LinkConfig, number | undefined][]) {
    if (!(k in DEFAULTS)) throw new RangeError(`SimNetwork (${where}): unknown impairment "${k}"`);
    if (v !== undefined || DEFAULTS[k] === undefined) w[k] = v;
  }
  const bad = (what: string): never => {
    throw new RangeError(`SimNetwork (${where}): ${what}`);
  };
  for (const k of ['lossRate', 'duplicateRate', 'reorderRate', 'corruptRate'] as const) {
    if (!(c[k] >= 0 && c[k] <= 1)) bad(`${k} must be in [0, 1], got ${c[k]}`);
  }
  for (const k of ['latencyMs', 'jitterMs'] as const) {
    if (!(c[k] >= 0) || !Number.isFinite(c[k])) bad(`${k} must be a finite number >= 0, got ${c[k]}`);
  }
  if (c.reorderDelayMs !== undefined && (!(c.reorderDelayMs >= 0) || !Number.isFinite(c.reorderDelayMs))) {
    bad(`reorderDelayMs must be a finite number >= 0, got ${c.reorderDelayMs}`);
  }
  if (!Number.isInteger(c.corruptBits) || c.corruptBits < 1) bad(`corruptBits must be an integer >= 1, got ${c.corruptBits}`);
  if (c.bandwidthBytesPerMs !== undefined && !(c.bandwidthBytesPerMs > 0)) {
    bad(`bandwidthBytesPerMs must be > 0, got ${c.bandwidthBytesPerMs}`);
  }
  if (c.queueLimitBytes !== undefined && !(c.queueLimitBytes >= 0)) bad(`queueLimitBytes must be >= 0, got ${c.queueLimitBytes}`);
  if (c.mtu !== undefined && !(Number.isInteger(c.mtu) && c.mtu > 0)) bad(`mtu must be a positive integer, got ${c.mtu}`);
  return c;
}
