// The TCP endpoint, sans-IO: the connection table (keyed by the remote address and both ports),
// listeners with a bounded backlog, active opens with ephemeral ports, the timer heap over all
// TCBs, and the replies to segments that reach no connection.

import type { Ipv4Header } from '../wire/ipv4.js';
import { TCP_ACK, TCP_RST, TCP_SYN, type TcpRepr, type TcpSegment } from '../wire/tcp.js';
import { resetForClosedPort } from './closed.js';
import { rfc6528Isn, type IsnGenerator } from './isn.js';
import { add, gt } from './seq.js';
import { Tcb, type TcbOptions, type TcpEvent } from './tcb.js';
import { TimerHeap } from './timer-heap.js';

export interface TcpEndpointOptions {
  /** Our address (uint32). */
  address: number;
  /** MSS we announce: MTU - 40. */
  mss: number;
  /** Defaults for every new connection (mss is filled in). */
  tcb?: Omit<TcbOptions, 'mss'>;
  isn?: IsnGenerator;
  /**
   * Secret for the default RFC 6528 ISN generator (16+ bytes). The Stack passes random bytes; when
   * absent the endpoint draws them itself (crypto.getRandomValues: not a clock, not I/O).
   */
  isnKey?: Uint8Array;
  /** First ephemeral port to try (the Stack passes a random one; tests a fixed one). */
  ephemeralStart?: number;
}

export interface Listener {
  readonly port: number;
  readonly backlog: number;
  /** Connections in SYN-RECEIVED (not yet handed to the application). */
  embryonic: number;
  /** SYNs dropped because the backlog was full. */
  overflows: number;
}

export type EndpointEvent =
  | { kind: 'connection'; tcb: Tcb; event: TcpEvent }
  /** A passive connection reached ESTABLISHED: the application's to take. */
  | { kind: 'accept'; listener: Listener; tcb: Tcb };

export interface EndpointCounters {
  activeOpens: number;
  passiveOpens: number;
  synDroppedBacklog: number;
  resetsSent: number;
  timeWaitReused: number;
  /** Exceptions from a connection's processing (a tunstack bug): the connection was reset, the stack went on. */
  internalErrors: number;
  /** Retransmitted segments and data octets of connections already gone (see retransmissionTotals). */
  closedRetransmits: number;
  closedBytesRetransmitted: number;
}

/** IANA's dynamic port range (RFC 6335 §6), as Linux's ip_local_port_range is not. */
const EPHEMERAL_LOW = 49152;
const EPHEMERAL_HIGH = 65535;

/** The connection table: remote address → (remote port << 16 | local port) → TCB; our address is fixed. */
class ConnTable {
  private readonly byAddr = new Map<number, Map<number, Tcb>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(remoteAddr: number, remotePort: number, localPort: number): Tcb | undefined {
    return this.byAddr.get(remoteAddr)?.get(((remotePort << 16) | localPort) >>> 0);
  }

  set(tcb: Tcb): void {
    let m = this.byAddr.get(tcb.remoteAddr);
    if (!m) this.byAddr.set(tcb.remoteAddr, (m = new Map()));
    const k = ((tcb.remotePort << 16) | tcb.localPort) >>> 0;
    if (!m.has(k)) this.count++;
    m.set(k, tcb);
  }

  delete(tcb: Tcb): void {
    const m = this.byAddr.get(tcb.remoteAddr);
    const k = ((tcb.remotePort << 16) | tcb.localPort) >>> 0;
    if (m?.get(k) !== tcb) return;
    m.delete(k);
    this.count--;
    if (m.size === 0) this.byAddr.delete(tcb.remoteAddr);
  }

  *values(): IterableIterator<Tcb> {
    for (const m of this.byAddr.values()) yield* m.values();
  }
}

export class TcpEndpoint {
  readonly address: number;
  readonly counters: EndpointCounters = {
    activeOpens: 0,
    passiveOpens: 0,
    synDroppedBacklog: 0,
    resetsSent: 0,
    timeWaitReused: 0,
    internalErrors: 0,
    closedRetransmits: 0,
    closedBytesRetransmitted: 0,
  };
  /** The last internal error's message, for diagnosis. */
  lastInternalError: string | undefined;
  private readonly mss: number;
  private readonly tcbDefaults: Omit<TcbOptions, 'mss'>;
  /** The options of every TCB opened without options of its own: one object, so they share its resolved form. */
  private readonly defaultTcbOptions: TcbOptions;
  private readonly isn: IsnGenerator;
  private readonly table = new ConnTable();
  private readonly listeners = new Map<number, Listener>();
  private readonly parent = new Map<Tcb, Listener>();
  private readonly timers = new TimerHeap<Tcb>();
  private dirty = new Set<Tcb>();
  private readonly out: Array<{ dst: number; repr: TcpRepr }> = [];
  private outHead = 0;
  private readonly events: EndpointEvent[] = [];
  private nextEphemeral: number;

  constructor(opts: TcpEndpointOptions) {
    this.address = opts.address >>> 0;
    this.mss = opts.mss;
    this.tcbDefaults = opts.tcb ?? {};
    this.defaultTcbOptions = { ...this.tcbDefaults, mss: this.mss };
    this.isn = opts.isn ?? rfc6528Isn(opts.isnKey ?? globalThis.crypto.getRandomValues(new Uint8Array(16)));
    this.nextEphemeral =
      opts.ephemeralStart ?? EPHEMERAL_LOW + (globalThis.crypto.getRandomValues(new Uint16Array(1))[0]! % (EPHEMERAL_HIGH - EPHEMERAL_LOW + 1));
  }

  // ---------------------------------------------------------------------------- the application's side

  /** LISTEN on a port (RFC 9293 §3.10.1 passive OPEN). */
  listen(port: number, backlog = 128): Listener {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`listen: bad port ${port}`);
    if (this.listeners.has(port)) throw Object.assign(new Error(`port ${port} is already listening`), { code: 'EADDRINUSE' });
    const l: Listener = { port, backlog: Math.max(1, backlog), embryonic: 0, overflows: 0 };
    this.listeners.set(port, l);
    return l;
  }

  unlisten(port: number): void {
    this.listeners.delete(port);
  }

  /** Active OPEN (RFC 9293 §3.10.1): a new TCB in SYN-SENT; the SYN leaves on the next poll. */
  connect(now: number, remoteAddr: number, remotePort: number, opts: Partial<TcbOptions> & { localPort?: number } = {}): Tcb {
    const localPort = opts.localPort ?? this.pickEphemeral(remoteAddr, remotePort);
    if (this.table.get(remoteAddr >>> 0, remotePort, localPort)) throw Object.assign(new Error(`connection to that peer from port ${localPort} exists`), { code: 'EADDRINUSE' });
    const tcb = new Tcb(
      { localAddr: this.address, localPort, remoteAddr: remoteAddr >>> 0, remotePort },
      false,
      hasTcbOptions(opts) ? { ...this.tcbDefaults, ...withoutLocalPort(opts), mss: this.mss } : this.defaultTcbOptions,
    );
    this.table.set(tcb);
    tcb.openActive(now, this.isn(now, this.tuple(tcb)));
    this.counters.activeOpens++;
    this.touch(tcb);
    return tcb;
  }

  /** Marks a TCB as having new work (after a user call); the next flush polls it. */
  touch(tcb: Tcb): void {
    this.dirty.add(tcb);
  }

  connections(): Tcb[] {
    return [...this.table.values()];
  }

  get size(): number {
    return this.table.size;
  }

  listenerCount(): number {
    return this.listeners.size;
  }

  // ---------------------------------------------------------------------------- the wire's side

  /**
   * A valid segment addressed to us. Returns false when no connection or listener wants it, so
   * the IP layer sends the closed-port reply (RFC 9293 §3.10.7.1).
   */
  handleSegment(now: number, ip: Ipv4Header, seg: TcpSegment): boolean {
    const tcb = this.table.get(ip.src, seg.srcPort, seg.dstPort);
    if (tcb) {
      // RFC 9293 §3.10.7.4 (TIME-WAIT) with RFC 1122 §4.2.2.13 / RFC 6191: a new SYN whose sequence
      // number is beyond the old connection's may reopen it; the TIME-WAIT entry gives way.
      const listener = this.listeners.get(seg.dstPort);
      if (
        tcb.state === 'TIME-WAIT' &&
        listener &&
        (seg.flags & (TCP_SYN | TCP_ACK | TCP_RST)) === TCP_SYN &&
        gt(seg.seq, tcb.receiveNext)
      ) {
        this.counters.timeWaitReused++;
        // RFC 1122 §4.2.2.13 (a): the new connection's ISN must be "larger than the largest sequence
        // number it used on the previous connection incarnation" — Linux's choice, old SND.NXT +
        // 65535 + 2 (tcp_timewait_state_process). Bug fix: a fresh ISN could fall inside the old space.
        const iss = add(tcb.sendNext, 65535 + 2);
        // The old TCB ends the ordinary way (abort in TIME-WAIT sends nothing, RFC 9293 §3.10.5), so
        // its 'closed' event reaches whoever holds it (bug fix: it vanished without one).
        tcb.abort();
        for (let e = tcb.pollEvent(); e !== undefined; e = tcb.pollEvent()) this.onEvent(tcb, e);
        this.remove(tcb);
        return this.listenArrives(now, ip, seg, listener, iss);
      }
      this.guard(tcb, () => tcb.handleSegment(now, seg));
      this.touch(tcb);
      return true;
    }
    const listener = this.listeners.get(seg.dstPort);
    if (listener) return this.listenArrives(now, ip, seg, listener);
    return false;
  }

  /** RFC 9293 §3.10.7.2: LISTEN STATE. */
  private listenArrives(now: number, ip: Ipv4Header, seg: TcpSegment, listener: Listener, iss?: number): boolean {
    // "first, check for a RST: An incoming RST should be ignored."
    if (seg.flags & TCP_RST) return true;
    // "second, check for an ACK: ... form a reset <SEQ=SEG.ACK><CTL=RST>" (what the closed-port reply does too).
    if (seg.flags & TCP_ACK) {
      const rst = resetForClosedPort(seg);
      if (rst) this.emit(ip.src, rst);
      return true;
    }
    // "third, check for a SYN"
    if (!(seg.flags & TCP_SYN)) return true; // "fourth, other control or text: drop it"
    if (listener.embryonic >= listener.backlog) {
      // The SYN queue is full: drop silently, the peer retransmits (like Linux without syncookies).
      listener.overflows++;
      this.counters.synDroppedBacklog++;
      return true;
    }
    const tcb = new Tcb(
      { localAddr: this.address, localPort: seg.dstPort, remoteAddr: ip.src, remotePort: seg.srcPort },
      true,
      this.defaultTcbOptions,
    );
    this.table.set(tcb);
    this.parent.set(tcb, listener);
    listener.embryonic++;
    tcb.openPassive(now, iss ?? this.isn(now, this.tuple(tcb)), seg);
    this.counters.passiveOpens++;
    this.touch(tcb);
    return true;
  }

  /** Runs every TCB timer due at `now`. */
  handleTimeout(now: number): void {
    for (let t = this.timers.popDue(now); t !== undefined; t = this.timers.popDue(now)) {
      this.guard(t, () => t.handleTimeout(now));
      this.touch(t);
    }
  }

  /** The earliest deadline of any connection. Call after flush(). */
  pollTimeout(): number | undefined {
    return this.timers.peekTime();
  }

  /**
   * Polls every TCB with new work: collects its segments and events, reschedules its timer, and
   * forgets it once CLOSED. Then pollTransmit/pollEvent hand the results out.
   */
  flush(now: number): void {
    const work = this.dirty;
    this.dirty = new Set();
    for (const tcb of work) {
      this.guard(tcb, () => {
        for (let r = tcb.pollTransmit(now); r !== undefined; r = tcb.pollTransmit(now)) {
          if (r.flags & TCP_RST) this.counters.resetsSent++;
          this.emit(tcb.remoteAddr, r);
        }
      });
      for (let e = tcb.pollEvent(); e !== undefined; e = tcb.pollEvent()) this.onEvent(tcb, e);
      if (tcb.state === 'CLOSED') this.remove(tcb);
      else this.timers.schedule(tcb, tcb.pollTimeout());
    }
  }

  /**
   * Runs one connection's processing so that a bug in it (an exception) costs that connection, not
   * the process: it is reset and counted (DESIGN.md: untrusted bytes never crash the process).
   */
  private guard(tcb: Tcb, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.counters.internalErrors++;
      this.lastInternalError = e instanceof Error ? e.message : String(e);
      try {
        tcb.abort();
      } catch {
        // already inconsistent: dropping it from the table below is all that is left
      }
      if (tcb.state !== 'CLOSED') this.remove(tcb);
    }
  }

  pollTransmit(): { dst: number; repr: TcpRepr } | undefined {
    if (this.outHead >= this.out.length) {
      this.out.length = 0;
      this.outHead = 0;
      return undefined;
    }
    return this.out[this.outHead++];
  }

  pollEvent(): EndpointEvent | undefined {
    return this.events.shift();
  }

  private onEvent(tcb: Tcb, event: TcpEvent): void {
    this.events.push({ kind: 'connection', tcb, event });
    const listener = this.parent.get(tcb);
    if (!listener) return;
    if (event.type === 'connected') {
      // Handed to the application: it no longer counts against the SYN backlog.
      listener.embryonic--;
      this.parent.delete(tcb);
      this.events.push({ kind: 'accept', listener, tcb });
    } else if (event.type === 'closed') {
      listener.embryonic--;
      this.parent.delete(tcb);
    }
  }

  /** Retransmissions over the endpoint's life: connections gone plus those still in the table. */
  retransmissionTotals(): { segments: number; bytes: number } {
    let segments = this.counters.closedRetransmits;
    let bytes = this.counters.closedBytesRetransmitted;
    for (const t of this.table.values()) {
      segments += t.retransmits;
      bytes += t.bytesRetransmitted;
    }
    return { segments, bytes };
  }

  private remove(tcb: Tcb): void {
    if (this.table.get(tcb.remoteAddr, tcb.remotePort, tcb.localPort) === tcb) {
      this.counters.closedRetransmits += tcb.retransmits;
      this.counters.closedBytesRetransmitted += tcb.bytesRetransmitted;
    }
    this.table.delete(tcb);
    const listener = this.parent.get(tcb);
    if (listener) {
      listener.embryonic--;
      this.parent.delete(tcb);
    }
    this.timers.schedule(tcb, undefined);
    this.dirty.delete(tcb);
  }

  private emit(dst: number, repr: TcpRepr): void {
    this.out.push({ dst, repr });
  }

  private tuple(tcb: Tcb) {
    return { localAddr: this.address, localPort: tcb.localPort, remoteAddr: tcb.remoteAddr, remotePort: tcb.remotePort };
  }

  /** An ephemeral port with no connection to this peer (RFC 6056 §3.3.1-like: sequential from a random start). */
  private pickEphemeral(remoteAddr: number, remotePort: number): number {
    const span = EPHEMERAL_HIGH - EPHEMERAL_LOW + 1;
    for (let i = 0; i < span; i++) {
      const port = EPHEMERAL_LOW + ((this.nextEphemeral - EPHEMERAL_LOW + i) % span);
      if (!this.table.get(remoteAddr >>> 0, remotePort, port) && !this.listeners.has(port)) {
        this.nextEphemeral = port + 1 > EPHEMERAL_HIGH ? EPHEMERAL_LOW : port + 1;
        return port;
      }
    }
    throw Object.assign(new Error('no free ephemeral port for that peer'), { code: 'EADDRNOTAVAIL' });
  }
}

/** Whether connect() was given TCB options beyond the local port. */
function hasTcbOptions(opts: Partial<TcbOptions> & { localPort?: number }): boolean {
  for (const k in opts) if (k !== 'localPort' && opts[k as keyof typeof opts] !== undefined) return true;
  return false;
}

function withoutLocalPort(opts: Partial<TcbOptions> & { localPort?: number }): Partial<TcbOptions> {
  const { localPort: _localPort, ...rest } = opts;
  return rest;
}
