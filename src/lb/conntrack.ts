// Connection tracking for nat mode, sans-IO: one entry per TCP flow, found from either side (the
// client's 5-tuple toward the VIP, or the SNAT port the backend answers to), following the flow's
// TCP state (SYN, established, FIN/RST) with a timeout per state. The table is bounded and counted.

import type { ConntrackConfig } from './config.js';
import type { Backend, Pool } from './pool.js';

// States as Linux conntrack names them (nf_conntrack_proto_tcp.c), fewer of them.
export type FlowState = 'SYN_SENT' | 'SYN_RECV' | 'ESTABLISHED' | 'FIN_WAIT' | 'TIME_WAIT' | 'CLOSE';

export interface Flow {
  readonly pool: Pool;
  readonly backend: Backend;
  readonly clientAddr: number;
  readonly clientPort: number;
  readonly vipAddr: number;
  readonly vipPort: number;
  /** tunstack's address and the source port it uses toward the backend. */
  readonly snatAddr: number;
  readonly natPort: number;
  readonly created: number;
  state: FlowState;
  finOrig: boolean;
  finReply: boolean;
  expires: number;
  packets: number;
  /** The backend answered the SYN (a passive health success is reported once). */
  answered: boolean;
  /** The backend's active count was given back (when the connection finished, before expiry). */
  released: boolean;
  /** While SYN_SENT: the SYN as sent to the backend, to send again after clearing a TIME-WAIT there. */
  syn: Uint8Array | undefined;
  synRetried: boolean;
}

export interface ConntrackCounters {
  created: number;
  expired: number;
  /** New flows refused because the table was full (or the SNAT ports ran out). */
  tableFull: number;
  portsExhausted: number;
}

/** Key of the client side: address (32 bits) and port (16 bits) fit exactly in a double. */
const clientKey = (addr: number, port: number) => addr * 65536 + port;
const vipKey = clientKey;

/** Sweeps for expired entries at most this often (ms): expiry is lazy by up to this much. */
const SWEEP_GRANULARITY = 100;

export class Conntrack {
  readonly counters: ConntrackCounters = { created: 0, expired: 0, tableFull: 0, portsExhausted: 0 };
  private readonly byClient = new Map<number, Map<number, Flow>>();
  private byPort: Array<Flow | undefined>;
  private nextPort: number;
  private count = 0;
  private nextSweep: number | undefined;
  private lastSweep = -Infinity;

  /** `firstPort`: where SNAT port allocation starts (the I/O side passes a random one, RFC 6056 §3.3.1-like). */
  constructor(
    private cfg: ConntrackConfig,
    firstPort?: number,
  ) {
    this.byPort = new Array<Flow | undefined>(65536);
    this.nextPort = firstPort !== undefined && firstPort >= cfg.ports[0] && firstPort <= cfg.ports[1] ? firstPort : cfg.ports[0];
  }

  /** New limits and timeouts (SIGHUP): existing entries keep their port and deadline until the next update. */
  reconfigure(cfg: ConntrackConfig): void {
    this.cfg = cfg;
    if (this.nextPort < cfg.ports[0] || this.nextPort > cfg.ports[1]) this.nextPort = cfg.ports[0];
  }

  get size(): number {
    return this.count;
  }

  get max(): number {
    return this.cfg.max;
  }

  get portRange(): readonly [number, number] {
    return this.cfg.ports;
  }

  /** The flow of a client segment toward a VIP. */
  lookupOrig(vipAddr: number, vipPort: number, clientAddr: number, clientPort: number): Flow | undefined {
    return this.byClient.get(vipKey(vipAddr, vipPort))?.get(clientKey(clientAddr, clientPort));
  }

  /** The flow of a backend segment addressed to SNAT port `natPort`. */
  lookupReply(natPort: number): Flow | undefined {
    return this.byPort[natPort];
  }

  /** Creates an entry in SYN_SENT; undefined when the table is full or no SNAT port is free. */
  create(
    now: number,
    f: Omit<Flow, 'natPort' | 'created' | 'state' | 'finOrig' | 'finReply' | 'expires' | 'packets' | 'answered' | 'released' | 'syn' | 'synRetried'>,
  ): Flow | undefined {
    if (this.count >= this.cfg.max) {
      this.counters.tableFull++;
      return undefined;
    }
    const port = this.allocPort();
    if (port === undefined) {
      this.counters.portsExhausted++;
      return undefined;
    }
    const flow: Flow = { ...f, natPort: port, created: now, state: 'SYN_SENT', finOrig: false, finReply: false, expires: 0, packets: 0, answered: false, released: false, syn: undefined, synRetried: false };
    this.setExpiry(flow, now);
    let m = this.byClient.get(vipKey(f.vipAddr, f.vipPort));
    if (!m) this.byClient.set(vipKey(f.vipAddr, f.vipPort), (m = new Map()));
    m.set(clientKey(f.clientAddr, f.clientPort), flow);
    this.byPort[port] = flow;
    this.count++;
    this.counters.created++;
    return flow;
  }

  /**
   * Follows the TCP state of the flow for one segment with `flags` (RFC 9293 §3.3.2's diagram,
   * seen from the middle): SYN → SYN_SENT, SYN-ACK → SYN_RECV, ACK → ESTABLISHED, a FIN from one
   * side → FIN_WAIT, FINs from both → TIME_WAIT, RST → CLOSE. Refreshes the flow's deadline.
   */
  update(now: number, flow: Flow, fromClient: boolean, flags: number): void {
    flow.packets++;
    if (flags & RST) flow.state = 'CLOSE';
    else if (flow.state === 'SYN_SENT') {
      if (!fromClient && flags & SYN && flags & ACK) {
        flow.state = 'SYN_RECV';
        flow.answered = true;
      }
    } else if (flow.state === 'SYN_RECV') {
      if (fromClient && flags & ACK && !(flags & SYN)) flow.state = 'ESTABLISHED';
    }
    if (flags & FIN && flow.state !== 'CLOSE') {
      if (fromClient) flow.finOrig = true;
      else flow.finReply = true;
      flow.state = flow.finOrig && flow.finReply ? 'TIME_WAIT' : 'FIN_WAIT';
    }
    if (flow.state !== 'SYN_SENT') flow.syn = undefined;
    this.setExpiry(flow, now);
  }

  /** Removes a flow now (e.g. a new SYN reusing the client's port after TIME_WAIT). */
  remove(flow: Flow): void {
    const m = this.byClient.get(vipKey(flow.vipAddr, flow.vipPort));
    if (m?.get(clientKey(flow.clientAddr, flow.clientPort)) === flow) {
      m.delete(clientKey(flow.clientAddr, flow.clientPort));
      if (m.size === 0) this.byClient.delete(vipKey(flow.vipAddr, flow.vipPort));
    }
    if (this.byPort[flow.natPort] === flow) this.byPort[flow.natPort] = undefined;
    this.count--;
  }

  /** The earliest time handleTimeout should run, or undefined with an empty table. */
  pollTimeout(): number | undefined {
    if (this.count === 0 || this.nextSweep === undefined) return undefined;
    return Math.max(this.nextSweep, this.lastSweep + SWEEP_GRANULARITY);
  }

  /** Removes and returns the flows whose deadline passed. */
  handleTimeout(now: number): Flow[] {
    const due = this.pollTimeout();
    if (due === undefined || now < due) return [];
    this.lastSweep = now;
    const expired: Flow[] = [];
    let next: number | undefined;
    for (const m of this.byClient.values()) {
      for (const f of m.values()) {
        if (f.expires <= now) expired.push(f);
        else if (next === undefined || f.expires < next) next = f.expires;
      }
    }
    for (const f of expired) this.remove(f);
    this.counters.expired += expired.length;
    this.nextSweep = next;
    return expired;
  }

  /** Every tracked flow (for listings). */
  *flows(): IterableIterator<Flow> {
    for (const m of this.byClient.values()) yield* m.values();
  }

  private setExpiry(flow: Flow, now: number): void {
    const t = this.cfg.timeouts;
    let d: number;
    switch (flow.state) {
      case 'SYN_SENT':
      case 'SYN_RECV':
        d = t.syn;
        break;
      case 'ESTABLISHED':
        d = t.established;
        break;
      case 'FIN_WAIT':
        d = t.fin;
        break;
      case 'TIME_WAIT':
        d = t.timeWait;
        break;
      case 'CLOSE':
        d = t.close;
        break;
    }
    flow.expires = now + d;
    if (this.nextSweep === undefined || flow.expires < this.nextSweep) this.nextSweep = flow.expires;
  }

  /** The next free SNAT port, round robin over the range so a port is reused as late as possible. */
  private allocPort(): number | undefined {
    const [lo, hi] = this.cfg.ports;
    const n = hi - lo + 1;
    for (let i = 0; i < n; i++) {
      const p = this.nextPort;
      this.nextPort = p >= hi ? lo : p + 1;
      if (this.byPort[p] === undefined) return p;
    }
    return undefined;
  }
}

const FIN = 0x01;
const SYN = 0x02;
const RST = 0x04;
const ACK = 0x10;
