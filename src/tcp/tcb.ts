// One TCP connection (a transmission control block), sans-IO: segments and `now` in through
// handleSegment/handleTimeout and the user calls; segments, deadlines and events out through
// pollTransmit/pollTimeout/pollEvent. RFC 9293 §3.10 is the spine; section numbers mark each step.
// This class is the surface and the user calls; the variables are a `Conn` (conn.ts), operated on
// by receive.ts (segment arrives), send.ts (output), recovery.ts (ACKs, loss, RTO), timers.ts.

import { TCP_RST, type TcpRepr, type TcpSegment } from '../wire/tcp.js';
import { Conn, type TcbCounters } from './conn.js';
import { initReceive, maybeDeliverEof, otherwiseArrives, synSentArrives } from './receive.js';
import { isLost, setPipe } from './sack-recovery.js';
import {
  armPersistIfNeeded,
  initSend,
  nextSegment,
  queueFin,
  segment,
  windowToAdvertise,
  windowUpdateStep,
} from './send.js';
import { sub } from './seq.js';
import type { TcpState } from './state.js';
import type { Endpoints, KeepAliveOptions, RecoveryInfo, TcbInfo, TcbOptions, TcpEvent } from './tcb-types.js';
import { onTimeout } from './timers.js';

export type { Endpoints, KeepAliveOptions, RecoveryInfo, TcbInfo, TcbOptions, TcpErrorCode, TcpEvent } from './tcb-types.js';

export class Tcb implements TcbCounters {
  readonly localAddr: number;
  readonly localPort: number;
  readonly remoteAddr: number;
  readonly remotePort: number;
  readonly passive: boolean;

  // statistics
  retransmits = 0;
  bytesRetransmitted = 0;
  bytesSent = 0;
  bytesReceived = 0;

  /** The connection's variables, which the parts (send, receive, recovery, timers) operate on. */
  private readonly c: Conn;

  constructor(ends: Endpoints, passive: boolean, opts: TcbOptions) {
    this.localAddr = ends.localAddr;
    this.localPort = ends.localPort;
    this.remoteAddr = ends.remoteAddr;
    this.remotePort = ends.remotePort;
    this.passive = passive;
    this.c = new Conn(ends, passive, opts, this);
  }

  get state(): TcpState {
    return this.c.state;
  }

  /** ISS: our initial sequence number. */
  get iss(): number {
    return this.c.iss;
  }

  /** IRS: the peer's initial sequence number. */
  get irs(): number {
    return this.c.irs;
  }

  // =============================================================================== opening

  /** Active OPEN (RFC 9293 §3.10.1): CLOSED → SYN-SENT; the SYN goes out on the next pollTransmit. */
  openActive(now: number, iss: number): void {
    if (this.c.state !== 'CLOSED' || this.passive) throw new Error('openActive: the TCB is not a fresh active one');
    initSend(this.c, iss);
    this.c.setState('SYN-SENT');
    this.c.unackedSince = now;
    this.c.armRto(now);
  }

  /**
   * Passive open, the LISTEN part done by the endpoint (RFC 9293 §3.10.7.2): a SYN arrived for a
   * listener. RCV.NXT = SEG.SEQ+1, IRS = SEG.SEQ, ISS chosen; LISTEN → SYN-RECEIVED, SYN-ACK queued.
   */
  openPassive(now: number, iss: number, syn: TcpSegment): void {
    if (this.c.state !== 'CLOSED' || !this.passive) throw new Error('openPassive: the TCB is not a fresh passive one');
    initSend(this.c, iss);
    initReceive(this.c, now, syn);
    this.c.state = 'LISTEN'; // the listener's state this connection is born from (shown in the trace)
    this.c.setState('SYN-RECEIVED');
    this.c.unackedSince = now;
    this.c.armRto(now);
  }

  // =============================================================================== user calls

  /** SEND (RFC 9293 §3.10.2): queues as much as fits, returns the count (0 when the buffer is full). */
  write(data: Uint8Array): number {
    if (this.c.finQueued) throw new Error('write after end: the connection is closing');
    if (this.c.state === 'CLOSED' || this.c.state === 'LISTEN') throw new Error(`write in state ${this.c.state}`);
    if (this.c.state === 'TIME-WAIT' || this.c.state === 'CLOSING' || this.c.state === 'LAST-ACK') {
      throw new Error(`write in state ${this.c.state}`);
    }
    return this.c.sendBuf.append(data);
  }

  /** Free space in the send buffer. */
  get writableBytes(): number {
    return this.c.finQueued ? 0 : this.c.sendBuf.free;
  }

  /** RECEIVE (RFC 9293 §3.10.3): in-order data, or undefined. Reading may open the window (an update is sent). */
  read(max?: number): Uint8Array | undefined {
    const before = windowToAdvertise(this.c);
    const data = this.c.recvBuf.read(max);
    if (data && this.c.state !== 'CLOSED') {
      const after = windowToAdvertise(this.c);
      // RFC 9293 §3.8.6.2.2: tell the peer when the window opened by at least min(buffer/2, MSS)
      // beyond what we last advertised — in particular when it had closed.
      const adv = sub(this.c.rcvAdv, this.c.rcvNxt);
      if (after - Math.max(adv, 0) >= windowUpdateStep(this.c) && after > before) {
        this.c.ackNow = true;
      }
    }
    maybeDeliverEof(this.c);
    return data;
  }

  /** The highest SND.NXT so far (the endpoint's TIME-WAIT reuse picks an ISS beyond it). */
  get sendNext(): number {
    return this.c.sndMax;
  }

  /** RCV.NXT (the endpoint's TIME-WAIT check needs it). */
  get receiveNext(): number {
    return this.c.rcvNxt;
  }

  get readableBytes(): number {
    return this.c.recvBuf.length;
  }

  /** CLOSE (RFC 9293 §3.10.4): FIN after the queued data (half-close: we can still receive). */
  close(now: number): void {
    switch (this.c.state) {
      case 'SYN-SENT':
        // "Delete the TCB and return 'error: closing' responses to any queued SENDs."
        this.c.terminate(undefined);
        return;
      case 'SYN-RECEIVED':
        // RFC 9293 §3.10.4: the FIN is "queue[d] for processing after entering ESTABLISHED state".
        // Deliberate simplification: also when nothing was sent (where the RFC allows the FIN at
        // once): it waits for the ACK of our SYN, so a retransmission never has to carry SYN and FIN
        // (bug fix: moving to FIN-WAIT-1 here sent the FIN with the SYN unacknowledged, and the
        // go-back after a timeout then read the send buffer at offset -1 and threw).
        queueFin(this.c);
        return;
      case 'ESTABLISHED':
        queueFin(this.c);
        this.c.setState('FIN-WAIT-1');
        break;
      case 'CLOSE-WAIT':
        queueFin(this.c);
        this.c.setState('LAST-ACK');
        break;
      default:
        return; // already closing: "error: connection closing" is not worth a throw
    }
    if (this.c.sndWnd === 0) armPersistIfNeeded(this.c, now);
  }

  /** ABORT (RFC 9293 §3.10.5): RST to the peer (when synchronized), CLOSED at once. */
  abort(): void {
    if (this.c.state === 'CLOSED') return;
    // RFC 9293 §3.10.5: a RST in SYN-RECEIVED, ESTABLISHED, FIN-WAIT-1/2 and CLOSE-WAIT only; in
    // CLOSING, LAST-ACK and TIME-WAIT just "respond with 'ok' and delete the TCB" (bug fix: a RST
    // went out there too, and could cut short the peer's TIME-WAIT — RFC 1337).
    const synchronizedOpen =
      this.c.state === 'SYN-RECEIVED' ||
      this.c.state === 'ESTABLISHED' ||
      this.c.state === 'FIN-WAIT-1' ||
      this.c.state === 'FIN-WAIT-2' ||
      this.c.state === 'CLOSE-WAIT';
    if (synchronizedOpen) {
      // "<SEQ=SND.NXT><CTL=RST>"
      this.c.rstPending = segment(this.c, this.c.sndMax, TCP_RST, undefined);
    }
    this.c.terminate(undefined);
  }

  setNoDelay(on: boolean): void {
    this.c.noDelay = on;
  }

  setKeepAlive(now: number, opts: KeepAliveOptions): void {
    this.c.keepAlive = { ...this.c.keepAlive, ...opts };
    this.c.keepAliveProbes = 0;
    this.c.timers.keepAlive = this.c.keepAlive.enabled ? now + this.c.keepAlive.idleMs : undefined;
  }

  /**
   * The application is done with this connection (its socket was destroyed or released while the
   * close handshake goes on). From now on FIN-WAIT-2 is bounded by finWait2TimeoutMs.
   */
  orphan(now: number): void {
    const c = this.c;
    c.orphaned = true;
    if (c.state === 'FIN-WAIT-2' && c.timers.finWait2 === undefined) c.timers.finWait2 = now + c.opts.finWait2TimeoutMs;
  }

  info(): TcbInfo {
    return {
      state: this.c.state,
      sendQueue: this.c.sendBuf.length,
      recvQueue: this.c.recvBuf.length,
      srttMs: this.c.rtt.srtt,
      rtoMs: this.c.rtt.rto,
      cwnd: this.c.cc.cwnd,
      ssthresh: this.c.cc.ssthresh,
      sndWnd: this.c.sndWnd,
      rcvWnd: Math.max(0, sub(this.c.rcvAdv, this.c.rcvNxt)),
      mss: this.c.sndMss,
      retransmits: this.retransmits,
      bytesRetransmitted: this.bytesRetransmitted,
      bytesSent: this.bytesSent,
      bytesReceived: this.bytesReceived,
    };
  }

  /**
   * The loss-recovery variables (RFC 6675 §2 names; sequence numbers one past the octet the RFC
   * names, as SND.NXT is), for tests and diagnostics. `pipe` is SetPipe() now (SACK in use only).
   */
  recoveryInfo(): RecoveryInfo {
    const c = this.c;
    return {
      inRecovery: c.inRecovery,
      recoveryPoint: c.recover,
      highRxt: c.highRxt,
      rescueRxt: c.rescueRxt,
      dupAcks: c.dupAcks,
      sackedRanges: c.scoreboard.size,
      pipe: c.sackOk ? setPipe(c) : undefined,
    };
  }

  /** RFC 6675 §4 IsLost(seq) on the current scoreboard (false without SACK). */
  isLost(seq: number): boolean {
    return this.c.sackOk && isLost(this.c, seq >>> 0);
  }

  // =============================================================================== segment arrives

  /** RFC 9293 §3.10.7: SEGMENT ARRIVES, for every state but CLOSED and LISTEN (the endpoint's). */
  handleSegment(now: number, seg: TcpSegment): void {
    this.c.now = now;
    if (this.c.state === 'CLOSED') return;
    if (this.c.state === 'SYN-SENT') return synSentArrives(this.c, now, seg);
    if (this.c.keepAlive.enabled) {
      this.c.keepAliveProbes = 0;
      this.c.timers.keepAlive = now + this.c.keepAlive.idleMs;
    }
    return otherwiseArrives(this.c, now, seg);
  }

  // =============================================================================== timers

  /** The earliest deadline, or undefined. */
  pollTimeout(): number | undefined {
    return this.c.timers.earliest();
  }

  /** Runs whatever deadlines are due at `now`. */
  handleTimeout(now: number): void {
    this.c.now = now;
    onTimeout(this.c, now);
  }

  // =============================================================================== output

  /** The next segment to send, or undefined. Call until undefined after every input. */
  pollTransmit(now: number): TcpRepr | undefined {
    this.c.now = now;
    return nextSegment(this.c, now);
  }

  // =============================================================================== events

  pollEvent(): TcpEvent | undefined {
    const events = this.c.events;
    const e = events.shift();
    // Drained: let go of the queue's backing store (shift keeps it), which an idle connection would hold.
    if (e !== undefined && events.length === 0) events.length = 0;
    return e;
  }

  get hasEvents(): boolean {
    return this.c.events.length > 0;
  }
}
