// One TCP connection (a transmission control block), sans-IO: segments and `now` in through
// handleSegment/handleTimeout and the user calls; segments, deadlines and events out through
// pollTransmit/pollTimeout/pollEvent. RFC 9293 §3.10 is the spine; section numbers mark each step.

import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, type TcpRepr, type TcpSegment } from '../wire/tcp.js';
import { NewReno } from './cc/newreno.js';
import type { CongestionControl } from './cc/congestion.js';
import { ReceiveBuffer } from './receive.js';
import { RttEstimator } from './rtt.js';
import { SendBuffer } from './send.js';
import { add, ge, gt, inWindow, le, lt, sub } from './seq.js';
import { canReceive, isAllowedTransition, type TcpState } from './state.js';
import type { Endpoints, KeepAliveOptions, TcbInfo, TcbOptions, TcpErrorCode, TcpEvent } from './tcb-types.js';

export type { Endpoints, KeepAliveOptions, TcbInfo, TcbOptions, TcpErrorCode, TcpEvent } from './tcb-types.js';

const MAX_WINDOW = 0xffff; // no window scaling (yet): RFC 9293 §3.1, 16-bit window
const DEFAULT_PEER_MSS = 536; // RFC 9293 §3.7.1 (MUST-15): without the option, assume 536

export class Tcb {
  readonly localAddr: number;
  readonly localPort: number;
  readonly remoteAddr: number;
  readonly remotePort: number;
  readonly passive: boolean;
  state: TcpState = 'CLOSED';

  // --- send sequence space (RFC 9293 §3.3.1)
  /** ISS: our initial sequence number. */
  iss = 0;
  private sndUna = 0;
  private sndNxt = 0;
  /** The highest sequence number sent so far (sndNxt goes back to sndUna after a timeout). */
  private sndMax = 0;
  private sndWnd = 0;
  private sndWl1 = 0;
  private sndWl2 = 0;
  private maxSndWnd = 0;
  /** Sequence number of the first octet in the send buffer. */
  private dataStart = 0;
  private readonly sendBuf: SendBuffer;
  private finQueued = false;
  private finSeq = 0;
  private sndMss: number;

  // --- receive sequence space
  /** IRS: the peer's initial sequence number. */
  irs = 0;
  private rcvNxt = 0;
  /** Right edge of the window we advertised (never moved left: RFC 9293 §3.8.6.2.2 / MUST-34 spirit). */
  private rcvAdv = 0;
  private readonly recvBuf: ReceiveBuffer;
  /** The peer's FIN, once seen (possibly ahead of RCV.NXT). */
  private peerFinSeq: number | undefined;
  private eofDelivered = false;

  // --- timers (DESIGN.md rule 2: deadlines as data)
  private rtoAt: number | undefined;
  private delAckAt: number | undefined;
  private persistAt: number | undefined;
  private keepAliveAt: number | undefined;
  private timeWaitAt: number | undefined;

  // --- retransmission and congestion state
  private readonly rtt: RttEstimator;
  private retries = 0;
  /**
   * Since when the oldest outstanding sequence space has waited for an ACK without progress: the
   * reference for the user timeout (RFC 5482: how long "transmitted data may remain unacknowledged").
   */
  private unackedSince: number | undefined;
  private rttSeq: number | undefined;
  private rttStart = 0;
  private dupAcks = 0;
  private inRecovery = false;
  /** RFC 6582: the highest sequence number sent when recovery (or a timeout) began. */
  private recover = 0;
  private fastRetransmitPending = false;
  private cc: CongestionControl;
  private readonly ccFactory: (mss: number, initialWindow?: number) => CongestionControl;
  /** A SYN or SYN-ACK of ours timed out (RFC 5681 §3.1: then the initial window is one segment). */
  private synLost = false;
  /** The application let go of the connection (its socket is gone). */
  private orphaned = false;
  private finWait2At: number | undefined;
  private persistBackoff = 0;
  /** Zero-window probes sent since the peer last acknowledged anything (Linux: icsk_probes_out). */
  private probesUnanswered = 0;
  private keepAliveProbes = 0;
  private probePending: 'persist' | 'keepalive' | undefined;
  /** The SWS override timer expired: the next data segment may be short (RFC 1122 §4.2.3.4). */
  private swsOverride = false;

  // --- ACK generation
  private ackNow = false;
  private unackedSegments = 0;
  private rstPending: TcpRepr | undefined;

  private events: TcpEvent[] = [];
  private readonly opts: Required<Omit<TcbOptions, 'userTimeoutMs' | 'keepAlive' | 'congestionControl'>> & {
    userTimeoutMs: number | undefined;
  };
  private keepAlive: Required<KeepAliveOptions>;
  private noDelay: boolean;

  // statistics
  retransmits = 0;
  bytesSent = 0;
  bytesReceived = 0;

  constructor(ends: Endpoints, passive: boolean, opts: TcbOptions) {
    this.localAddr = ends.localAddr;
    this.localPort = ends.localPort;
    this.remoteAddr = ends.remoteAddr;
    this.remotePort = ends.remotePort;
    this.passive = passive;
    this.opts = {
      mss: opts.mss,
      recvBufferSize: Math.min(opts.recvBufferSize ?? MAX_WINDOW, MAX_WINDOW),
      sendBufferSize: opts.sendBufferSize ?? 256 * 1024,
      mslMs: opts.mslMs ?? 30_000,
      delayedAckMs: opts.delayedAckMs ?? 40,
      initialRtoMs: opts.initialRtoMs ?? 1000,
      minRtoMs: opts.minRtoMs ?? 200,
      maxRtoMs: opts.maxRtoMs ?? 120_000,
      noDelay: opts.noDelay ?? false,
      userTimeoutMs: opts.userTimeoutMs,
      maxRetransmits: opts.maxRetransmits ?? 15,
      synRetries: opts.synRetries ?? 6,
      synAckRetries: opts.synAckRetries ?? 5,
      finWait2TimeoutMs: opts.finWait2TimeoutMs ?? 60_000,
    };
    this.noDelay = this.opts.noDelay;
    this.keepAlive = { enabled: false, idleMs: 7_200_000, intervalMs: 75_000, probes: 9, ...opts.keepAlive };
    this.sndMss = Math.min(DEFAULT_PEER_MSS, opts.mss);
    this.sendBuf = new SendBuffer(this.opts.sendBufferSize);
    this.recvBuf = new ReceiveBuffer(this.opts.recvBufferSize);
    this.rtt = new RttEstimator({
      initialRtoMs: this.opts.initialRtoMs,
      minRtoMs: this.opts.minRtoMs,
      maxRtoMs: this.opts.maxRtoMs,
    });
    this.ccFactory = opts.congestionControl ?? ((m, iw) => new NewReno(m, iw));
    this.cc = this.ccFactory(this.sndMss);
  }

  // =============================================================================== opening

  /** Active OPEN (RFC 9293 §3.10.1): CLOSED → SYN-SENT; the SYN goes out on the next pollTransmit. */
  openActive(now: number, iss: number): void {
    if (this.state !== 'CLOSED' || this.passive) throw new Error('openActive: the TCB is not a fresh active one');
    this.initSend(iss);
    this.setState('SYN-SENT');
    this.unackedSince = now;
    this.armRto(now);
  }

  /**
   * Passive open, the LISTEN part done by the endpoint (RFC 9293 §3.10.7.2): a SYN arrived for a
   * listener. RCV.NXT = SEG.SEQ+1, IRS = SEG.SEQ, ISS chosen; LISTEN → SYN-RECEIVED, SYN-ACK queued.
   */
  openPassive(now: number, iss: number, syn: TcpSegment): void {
    if (this.state !== 'CLOSED' || !this.passive) throw new Error('openPassive: the TCB is not a fresh passive one');
    this.initSend(iss);
    this.initReceive(syn);
    this.state = 'LISTEN'; // the listener's state this connection is born from (shown in the trace)
    this.setState('SYN-RECEIVED');
    this.unackedSince = now;
    this.armRto(now);
  }

  private initSend(iss: number): void {
    this.iss = iss >>> 0;
    this.sndUna = this.iss;
    this.sndNxt = this.iss;
    this.sndMax = this.iss;
    this.recover = this.iss;
    this.dataStart = add(this.iss, 1);
  }

  private initReceive(syn: TcpSegment): void {
    this.irs = syn.seq;
    this.rcvNxt = add(syn.seq, 1);
    this.rcvAdv = add(this.rcvNxt, this.windowToAdvertise());
    // RFC 9293 §3.7.1: the send MSS is the peer's announced MSS (536 without one), never above our own.
    this.sndMss = Math.max(64, Math.min(syn.options.mss ?? DEFAULT_PEER_MSS, this.opts.mss));
    // Window scale, SACK-permitted and timestamps are declined by leaving them out of our SYN/SYN-ACK
    // (RFC 7323 §1.3 and §2.2, RFC 2018 §2): then neither side uses them.
    this.sndWnd = syn.window;
    this.maxSndWnd = syn.window;
    this.sndWl1 = syn.seq;
    // The congestion window is counted in the MSS just agreed.
    this.cc = this.ccFactory(this.sndMss);
  }

  // =============================================================================== user calls

  /** SEND (RFC 9293 §3.10.2): queues as much as fits, returns the count (0 when the buffer is full). */
  write(data: Uint8Array): number {
    if (this.finQueued) throw new Error('write after end: the connection is closing');
    if (this.state === 'CLOSED' || this.state === 'LISTEN') throw new Error(`write in state ${this.state}`);
    if (this.state === 'TIME-WAIT' || this.state === 'CLOSING' || this.state === 'LAST-ACK') {
      throw new Error(`write in state ${this.state}`);
    }
    return this.sendBuf.append(data);
  }

  /** Free space in the send buffer. */
  get writableBytes(): number {
    return this.finQueued ? 0 : this.sendBuf.free;
  }

  /** RECEIVE (RFC 9293 §3.10.3): in-order data, or undefined. Reading may open the window (an update is sent). */
  read(max?: number): Uint8Array | undefined {
    const before = this.windowToAdvertise();
    const data = this.recvBuf.read(max);
    if (data && this.state !== 'CLOSED') {
      const after = this.windowToAdvertise();
      // RFC 9293 §3.8.6.2.2: tell the peer when the window opened by at least min(buffer/2, MSS)
      // beyond what we last advertised — in particular when it had closed.
      const adv = sub(this.rcvAdv, this.rcvNxt);
      if (after - Math.max(adv, 0) >= this.windowUpdateStep() && after > before) {
        this.ackNow = true;
      }
    }
    this.maybeDeliverEof();
    return data;
  }

  /** The highest SND.NXT so far (the endpoint's TIME-WAIT reuse picks an ISS beyond it). */
  get sendNext(): number {
    return this.sndMax;
  }

  /** RCV.NXT (the endpoint's TIME-WAIT check needs it). */
  get receiveNext(): number {
    return this.rcvNxt;
  }

  get readableBytes(): number {
    return this.recvBuf.length;
  }

  /** CLOSE (RFC 9293 §3.10.4): FIN after the queued data (half-close: we can still receive). */
  close(now: number): void {
    switch (this.state) {
      case 'SYN-SENT':
        // "Delete the TCB and return 'error: closing' responses to any queued SENDs."
        this.terminate(undefined);
        return;
      case 'SYN-RECEIVED':
        // RFC 9293 §3.10.4: the FIN is "queue[d] for processing after entering ESTABLISHED state".
        // Deliberate simplification: also when nothing was sent (where the RFC allows the FIN at
        // once): it waits for the ACK of our SYN, so a retransmission never has to carry SYN and FIN
        // (bug fix: moving to FIN-WAIT-1 here sent the FIN with the SYN unacknowledged, and the
        // go-back after a timeout then read the send buffer at offset -1 and threw).
        this.queueFin();
        return;
      case 'ESTABLISHED':
        this.queueFin();
        this.setState('FIN-WAIT-1');
        break;
      case 'CLOSE-WAIT':
        this.queueFin();
        this.setState('LAST-ACK');
        break;
      default:
        return; // already closing: "error: connection closing" is not worth a throw
    }
    if (this.sndWnd === 0) this.armPersistIfNeeded(now);
  }

  private queueFin(): void {
    if (this.finQueued) return;
    this.finQueued = true;
    this.finSeq = add(this.dataStart, this.sendBuf.length);
  }

  /** ABORT (RFC 9293 §3.10.5): RST to the peer (when synchronized), CLOSED at once. */
  abort(): void {
    if (this.state === 'CLOSED') return;
    // RFC 9293 §3.10.5: a RST in SYN-RECEIVED, ESTABLISHED, FIN-WAIT-1/2 and CLOSE-WAIT only; in
    // CLOSING, LAST-ACK and TIME-WAIT just "respond with 'ok' and delete the TCB" (bug fix: a RST
    // went out there too, and could cut short the peer's TIME-WAIT — RFC 1337).
    const synchronizedOpen =
      this.state === 'SYN-RECEIVED' ||
      this.state === 'ESTABLISHED' ||
      this.state === 'FIN-WAIT-1' ||
      this.state === 'FIN-WAIT-2' ||
      this.state === 'CLOSE-WAIT';
    if (synchronizedOpen) {
      // "<SEQ=SND.NXT><CTL=RST>"
      this.rstPending = this.segment(this.sndMax, TCP_RST, undefined);
    }
    this.terminate(undefined);
  }

  setNoDelay(on: boolean): void {
    this.noDelay = on;
  }

  setKeepAlive(now: number, opts: KeepAliveOptions): void {
    this.keepAlive = { ...this.keepAlive, ...opts };
    this.keepAliveProbes = 0;
    this.keepAliveAt = this.keepAlive.enabled ? now + this.keepAlive.idleMs : undefined;
  }

  info(): TcbInfo {
    return {
      state: this.state,
      sendQueue: this.sendBuf.length,
      recvQueue: this.recvBuf.length,
      srttMs: this.rtt.srtt,
      rtoMs: this.rtt.rto,
      cwnd: this.cc.cwnd,
      ssthresh: this.cc.ssthresh,
      sndWnd: this.sndWnd,
      rcvWnd: Math.max(0, sub(this.rcvAdv, this.rcvNxt)),
      mss: this.sndMss,
      retransmits: this.retransmits,
      bytesSent: this.bytesSent,
      bytesReceived: this.bytesReceived,
    };
  }

  // =============================================================================== segment arrives

  /** RFC 9293 §3.10.7: SEGMENT ARRIVES, for every state but CLOSED and LISTEN (the endpoint's). */
  handleSegment(now: number, seg: TcpSegment): void {
    if (this.state === 'CLOSED') return;
    if (this.state === 'SYN-SENT') return this.synSentArrives(now, seg);
    if (this.keepAlive.enabled) {
      this.keepAliveProbes = 0;
      this.keepAliveAt = now + this.keepAlive.idleMs;
    }
    return this.otherwiseArrives(now, seg);
  }

  /** RFC 9293 §3.10.7.3: SYN-SENT STATE. */
  private synSentArrives(now: number, seg: TcpSegment): void {
    const f = seg.flags;
    let ackAcceptable = false;
    if (f & TCP_ACK) {
      // first, check the ACK bit: "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset (unless the
      // RST bit is set, if so drop the segment and return) <SEQ=SEG.ACK><CTL=RST>".
      if (le(seg.ack, this.iss) || gt(seg.ack, this.sndMax)) {
        if (!(f & TCP_RST)) this.rstPending = this.segment(seg.ack, TCP_RST, undefined);
        return;
      }
      ackAcceptable = le(this.sndUna, seg.ack) && le(seg.ack, this.sndMax);
    }
    if (f & TCP_RST) {
      // second, check the RST bit: with an acceptable ACK, "the user should be warned with the
      // message 'error: connection reset'" (ECONNREFUSED to a connect), enter CLOSED; else drop.
      // RFC 5961 §3.2 (RST in SYN-SENT): acceptable only if it acknowledges the SYN, as checked.
      if (ackAcceptable) this.terminate({ code: 'ECONNREFUSED', message: 'connection refused (RST)' });
      return;
    }
    if (!(f & TCP_SYN)) return; // fifth: "If neither of the SYN or RST bits is set, then drop the segment"
    // fourth, check the SYN bit.
    this.initReceive(seg);
    if (ackAcceptable) {
      this.sndWl2 = seg.ack;
      this.ackedUpTo(now, seg.ack);
    }
    if (gt(this.sndUna, this.iss)) {
      // "If SND.UNA > ISS (our SYN has been ACKed), change the connection state to ESTABLISHED,
      // form an ACK segment <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and send it."
      this.setState('ESTABLISHED');
      this.ackNow = true;
      this.push({ type: 'connected' });
      this.afterEstablished(now);
    } else {
      // Simultaneous open: "enter SYN-RECEIVED, form a SYN,ACK segment <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>".
      this.setState('SYN-RECEIVED');
      this.sndNxt = this.iss; // the SYN goes out again, now with the ACK
      this.armRto(now);
    }
    // "If there are other controls or text in the segment, then continue processing at the sixth step."
    if (seg.payload.length > 0 || seg.flags & TCP_FIN) this.processText(now, seg, add(seg.seq, 1));
  }

  /** RFC 9293 §3.10.7.4: the synchronized states (and SYN-RECEIVED). */
  private otherwiseArrives(now: number, seg: TcpSegment): void {
    if (
      this.state === 'SYN-RECEIVED' &&
      !this.passive &&
      (seg.flags & (TCP_SYN | TCP_ACK | TCP_RST)) === (TCP_SYN | TCP_ACK) &&
      seg.seq === this.irs &&
      seg.ack === this.sndMax
    ) {
      // Simultaneous open, RFC 9293 Figure 8 line 6: the peer's own SYN-ACK <SEQ=IRS><ACK=ISS+1>
      // completes our side. By the letter of the first step its SYN lies left of the window and the
      // segment would only draw an ACK, leaving us in SYN-RECEIVED until a retransmission (bug fix).
      // Like Linux (tcp_validate_incoming), take it as the ACK it carries: the SYN was seen already.
      seg = { ...seg, seq: add(seg.seq, 1), flags: seg.flags & ~TCP_SYN };
    }
    const f = seg.flags;
    const segLen = seg.payload.length + (f & TCP_SYN ? 1 : 0) + (f & TCP_FIN ? 1 : 0);
    const rcvWnd = Math.max(0, sub(this.rcvAdv, this.rcvNxt));

    // first, check sequence number: the four cases of the acceptability test.
    let acceptable: boolean;
    if (segLen === 0) {
      acceptable = rcvWnd === 0 ? seg.seq === this.rcvNxt : inWindow(seg.seq, this.rcvNxt, rcvWnd);
    } else {
      acceptable =
        rcvWnd > 0 &&
        (inWindow(seg.seq, this.rcvNxt, rcvWnd) || inWindow(add(seg.seq, segLen - 1), this.rcvNxt, rcvWnd));
    }
    // RFC 9293 §3.10.7.4: with a zero window, an ACK/RST-only segment at RCV.NXT is still processed
    // ("valid ACKs, URGs, and RSTs" must be), and so is the control part of a segment carrying text.
    if (!acceptable && rcvWnd === 0 && seg.seq === this.rcvNxt) acceptable = true;
    if (!acceptable) {
      // "If an incoming segment is not acceptable, an acknowledgment should be sent in reply
      // (unless the RST bit is set, if so drop the segment and return)".
      if (!(f & TCP_RST)) this.ackNow = true;
      if (this.state === 'TIME-WAIT' && !(f & TCP_RST)) this.timeWaitAt = now + 2 * this.opts.mslMs;
      return;
    }

    // second, check the RST bit — RFC 5961 §3.2: reset only on an exact match with RCV.NXT;
    // any other in-window RST draws a challenge ACK.
    if (f & TCP_RST) {
      if (seg.seq !== this.rcvNxt) {
        this.ackNow = true;
        return;
      }
      switch (this.state) {
        case 'SYN-RECEIVED':
          // "If this connection was initiated with a passive OPEN, then return this connection to the
          // LISTEN state" — for us, the embryonic connection just goes; an active one was refused.
          this.terminate(this.passive ? undefined : { code: 'ECONNREFUSED', message: 'connection refused (RST)' });
          return;
        case 'ESTABLISHED':
        case 'FIN-WAIT-1':
        case 'FIN-WAIT-2':
        case 'CLOSE-WAIT':
          this.terminate({ code: 'ECONNRESET', message: 'connection reset by peer' });
          return;
        default:
          // CLOSING, LAST-ACK, TIME-WAIT: "enter the CLOSED state, delete the TCB, and return".
          this.terminate(undefined);
          return;
      }
    }

    // fourth, check the SYN bit — RFC 5961 §4.2 (RFC 9293 §3.10.7.4): in a synchronized state any SYN
    // draws a challenge ACK. In SYN-RECEIVED of a passive open: "return this connection to LISTEN".
    if (f & TCP_SYN) {
      if (this.state === 'SYN-RECEIVED' && this.passive) {
        this.terminate(undefined);
        return;
      }
      this.ackNow = true;
      return;
    }

    // fifth, check the ACK field: "if the ACK bit is off, drop the segment and return".
    if (!(f & TCP_ACK)) return;
    if (this.state === 'SYN-RECEIVED') {
      // "If SND.UNA < SEG.ACK =< SND.NXT, then enter ESTABLISHED state ... If the segment
      // acknowledgment is not acceptable, form a reset segment <SEQ=SEG.ACK><CTL=RST>".
      if (lt(this.sndUna, seg.ack) && le(seg.ack, this.sndMax)) {
        this.sndWnd = seg.window;
        this.maxSndWnd = Math.max(this.maxSndWnd, seg.window);
        this.sndWl1 = seg.seq;
        this.sndWl2 = seg.ack;
        if (this.finQueued) {
          // close() in SYN-RECEIVED: the queued FIN can go now (RFC 9293 §3.10.4).
          this.setState('FIN-WAIT-1');
        } else {
          this.setState('ESTABLISHED');
          this.push({ type: 'connected' });
        }
        this.afterEstablished(now);
      } else {
        this.rstPending = this.segment(seg.ack, TCP_RST, undefined);
        return;
      }
    }
    // RFC 5961 §5.2: the ACK is acceptable when (SND.UNA - MAX.SND.WND) =< SEG.ACK =< SND.NXT;
    // otherwise drop it, and send an ACK when it acknowledges something not yet sent.
    if (gt(seg.ack, this.sndMax)) {
      this.ackNow = true;
      return;
    }
    if (lt(seg.ack, add(this.sndUna, -Math.max(this.maxSndWnd, 1)))) {
      this.ackNow = true;
      return;
    }
    this.processAck(now, seg);
    if (this.state === 'CLOSED') return;

    // sixth, the URG bit: urgent data is treated as ordinary data (RFC 6093 §4: applications SHOULD
    // NOT use it; deliberate simplification: no out-of-band signalling).

    // seventh and eighth: segment text and FIN.
    this.processText(now, seg, seg.seq);
  }

  /** The ACK processing of the fifth step for ESTABLISHED and the closing states. */
  private processAck(now: number, seg: TcpSegment): void {
    const ack = seg.ack;
    const outstanding = sub(this.sndMax, this.sndUna);
    if (lt(this.sndUna, ack)) {
      // "If SND.UNA < SEG.ACK =< SND.NXT, then set SND.UNA <- SEG.ACK."
      // RFC 5681 §3.1: cwnd grows with the *data* acknowledged (bug fix: the ACK of our SYN counted
      // as one octet, so a passive open started with IW + 1).
      const acked = this.ackedUpTo(now, ack);
      this.onNewAck(now, ack, acked);
    } else if (
      ack === this.sndUna &&
      seg.payload.length === 0 &&
      !(seg.flags & (TCP_SYN | TCP_FIN)) &&
      seg.window === this.sndWnd &&
      outstanding > 0
    ) {
      // RFC 5681 §2 (DUPLICATE ACKNOWLEDGMENT): no data, no SYN/FIN, same ACK and window, data outstanding.
      this.onDupAck(now);
    }
    // "If SND.UNA =< SEG.ACK =< SND.NXT, the send window should be updated. If (SND.WL1 < SEG.SEQ
    // or (SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK)), set SND.WND <- SEG.WND, SND.WL1 <- SEG.SEQ,
    // and SND.WL2 <- SEG.ACK."
    if (le(this.sndUna, ack) && (lt(this.sndWl1, seg.seq) || (this.sndWl1 === seg.seq && le(this.sndWl2, ack)))) {
      this.sndWnd = seg.window;
      this.sndWl1 = seg.seq;
      this.sndWl2 = ack;
      this.maxSndWnd = Math.max(this.maxSndWnd, seg.window);
      if (seg.window > 0) {
        this.persistAt = undefined;
        this.persistBackoff = 0;
      }
    }
    this.probesUnanswered = 0;
    if (this.sndWnd === 0) {
      // RFC 1122 §4.2.2.17: "As long as the receiving TCP continues to send acknowledgments in
      // response to the probe segments, the sending TCP MUST allow the connection to stay open" —
      // so an answer with a closed window restarts the retransmission count too.
      this.retries = 0;
      this.armPersistIfNeeded(now);
    }

    const finAcked = this.finQueued && gt(this.sndUna, this.finSeq);
    switch (this.state) {
      case 'FIN-WAIT-1':
        // "In addition to the processing for the ESTABLISHED state, if the FIN segment is now
        // acknowledged, then enter FIN-WAIT-2 and continue processing in that state."
        if (finAcked) {
          this.setState('FIN-WAIT-2');
          if (this.orphaned) this.finWait2At = now + this.opts.finWait2TimeoutMs;
        }
        break;
      case 'CLOSING':
        // "if the ACK acknowledges our FIN, then enter the TIME-WAIT state, otherwise ignore the segment."
        if (finAcked) this.enterTimeWait(now);
        break;
      case 'LAST-ACK':
        // "The only thing that can arrive in this state is an acknowledgment of our FIN. If our FIN is
        // now acknowledged, delete the TCB, enter the CLOSED state, and return."
        if (finAcked) this.terminate(undefined);
        break;
      case 'TIME-WAIT':
        // "The only thing that can arrive in this state is a retransmission of the remote FIN" (eighth step).
        break;
      default:
        break;
    }
  }

  /** SND.UNA advances to `ack`: drop acknowledged data, account for SYN and FIN. Returns the data octets acknowledged. */
  private ackedUpTo(now: number, ack: number): number {
    const dataEnd = add(this.dataStart, this.sendBuf.length);
    // Data octets acknowledged: those between dataStart and min(ack, dataEnd).
    const upTo = lt(ack, dataEnd) ? ack : dataEnd;
    const n = sub(upTo, this.dataStart);
    if (n > 0) {
      this.sendBuf.consume(n);
      this.dataStart = upTo;
      this.push({ type: 'writable' });
    }
    this.sndUna = ack;
    if (lt(this.sndNxt, this.sndUna)) this.sndNxt = this.sndUna;
    // Karn (RFC 6298 §3): only an ACK covering a segment timed on its first transmission is a sample.
    if (this.rttSeq !== undefined && ge(ack, this.rttSeq)) {
      this.rtt.sample(Math.max(0, now - this.rttStart));
      this.rttSeq = undefined;
    }
    this.retries = 0;
    // Progress: the user timeout counts again from now for what is still outstanding.
    this.unackedSince = this.sndUna === this.sndMax ? undefined : now;
    // RFC 6298 §5.2/5.3: all data acknowledged → stop the timer; else restart it. The backoff stays
    // until a new RTT sample (RFC 6298 §5 and Karn's algorithm: "the backed-off RTO" is kept for the
    // next segment; bug fix: it was reset here whenever everything was acknowledged).
    this.rtoAt = this.sndUna === this.sndMax ? undefined : this.rtoDeadline(now);
    return n > 0 ? n : 0;
  }

  private onNewAck(now: number, ack: number, acked: number): void {
    const inFlight = sub(this.sndMax, this.sndUna);
    if (this.inRecovery) {
      if (ge(ack, this.recover)) {
        // RFC 6582 §3.2 step 3 (full acknowledgment): leave fast recovery.
        this.inRecovery = false;
        this.dupAcks = 0;
        this.cc.onRecoveryEnd(now, inFlight);
      } else {
        // RFC 6582 §3.2 step 5 (partial acknowledgment): retransmit the first unacknowledged
        // segment, deflate the window; the timer was restarted in ackedUpTo.
        this.fastRetransmitPending = true;
        this.cc.onPartialAck(now, acked);
      }
      return;
    }
    this.dupAcks = 0;
    this.cc.onAck(now, acked, undefined, inFlight);
  }

  private onDupAck(now: number): void {
    if (this.inRecovery) {
      this.cc.onDupAckInRecovery(now);
      return;
    }
    this.dupAcks++;
    // RFC 5681 §3.2 / RFC 6582 §3.2 step 2: on the third duplicate ACK, if the cumulative ACK covers
    // more than `recover` (so this is not a loss from before an earlier recovery), fast retransmit.
    // `recover` holds SND.MAX, one past RFC 6582's "highest sequence number transmitted", so "covers
    // more than recover" is SND.UNA >= recover (bug fix: `>` refused a fast retransmit for a loss
    // right after a recovery that ended with an ACK of exactly `recover`).
    if (this.dupAcks === 3 && ge(this.sndUna, this.recover)) {
      this.inRecovery = true;
      this.recover = this.sndMax;
      this.fastRetransmitPending = true;
      this.cc.onFastRetransmit(now, sub(this.sndMax, this.sndUna));
    }
  }

  /** Seventh (segment text) and eighth (FIN) steps. `seq` is the sequence number of the first text octet. */
  private processText(now: number, seg: TcpSegment, seq: number): void {
    let payload = seg.payload;
    let start = seq;
    if (payload.length > 0) {
      if (!canReceive(this.state)) {
        // CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT: "This should not occur since a FIN has been
        // received from the remote side. Ignore the segment text."
        payload = payload.subarray(payload.length);
      } else {
        // Trim what is before RCV.NXT (already received) and beyond the window.
        const before = sub(this.rcvNxt, start);
        if (before > 0) {
          payload = payload.subarray(Math.min(before, payload.length));
          start = this.rcvNxt;
        }
        const room = Math.max(0, sub(this.rcvAdv, start));
        if (payload.length > room) payload = payload.subarray(0, room);
      }
    }
    if (payload.length > 0) {
      const offset = sub(start, this.rcvNxt);
      const hadHoles = this.recvBuf.hasOutOfOrder;
      const advanced = this.recvBuf.insert(offset, payload);
      if (advanced > 0) {
        this.rcvNxt = add(this.rcvNxt, advanced);
        this.bytesReceived += advanced;
        this.push({ type: 'readable' });
        // RFC 5681 §4.2: ACK at least every second full-sized segment; immediately when the segment
        // fills (part of) a hole. Otherwise delay (RFC 1122 §4.2.3.2), bounded by the timer.
        this.unackedSegments++;
        if (hadHoles || this.unackedSegments >= 2 || sub(this.rcvAdv, this.rcvNxt) < this.opts.mss) {
          this.ackNow = true;
        } else if (this.delAckAt === undefined) {
          this.delAckAt = now + this.opts.delayedAckMs;
        }
      } else {
        // RFC 5681 §4.2: "A TCP receiver SHOULD send an immediate duplicate ACK when an out-of-order
        // segment arrives" (that is what drives the peer's fast retransmit).
        this.ackNow = true;
      }
    } else if (seg.payload.length > 0) {
      // Entirely old data (a retransmission): acknowledge at once so the peer stops resending.
      this.ackNow = true;
    }

    // eighth, check the FIN bit.
    if (seg.flags & TCP_FIN) {
      const finSeq = add(seq, seg.payload.length);
      if (this.state === 'TIME-WAIT') {
        // "TIME-WAIT STATE: Remain in the TIME-WAIT state. Restart the 2 MSL time-wait timeout."
        this.ackNow = true;
        this.timeWaitAt = now + 2 * this.opts.mslMs;
        return;
      }
      if (canReceive(this.state) || this.state === 'SYN-RECEIVED') {
        if (le(finSeq, add(this.rcvAdv, 0)) || finSeq === this.rcvNxt) this.peerFinSeq = finSeq;
        // A FIN beyond RCV.NXT is an out-of-order segment: "A TCP receiver SHOULD send an immediate
        // duplicate ACK" (RFC 5681 §4.2; bug fix: a bare out-of-order FIN was held silently).
        if (finSeq !== this.rcvNxt) this.ackNow = true;
      } else {
        this.ackNow = true; // a retransmitted FIN in CLOSE-WAIT/CLOSING/LAST-ACK: acknowledge it again
      }
    }
    this.maybeConsumeFin(now);
  }

  /** The peer's FIN counts once everything before it arrived (RFC 9293 §3.10.7.4 eighth). */
  private maybeConsumeFin(now: number): void {
    if (this.peerFinSeq === undefined || this.peerFinSeq !== this.rcvNxt) return;
    if (!(canReceive(this.state) || this.state === 'SYN-RECEIVED')) return;
    // "advance RCV.NXT over the FIN, and send an acknowledgment for the FIN."
    this.rcvNxt = add(this.rcvNxt, 1);
    this.rcvAdv = add(this.rcvAdv, 1);
    this.ackNow = true;
    this.peerFinSeq = undefined;
    switch (this.state) {
      case 'SYN-RECEIVED':
      case 'ESTABLISHED':
        this.setState('CLOSE-WAIT');
        break;
      case 'FIN-WAIT-1':
        // "If our FIN has been ACKed (perhaps in this segment), then enter TIME-WAIT ...;
        // otherwise, enter the CLOSING state."
        if (this.finQueued && gt(this.sndUna, this.finSeq)) this.enterTimeWait(now);
        else this.setState('CLOSING');
        break;
      case 'FIN-WAIT-2':
        this.enterTimeWait(now);
        break;
      default:
        break;
    }
    this.peerClosed = true;
    this.maybeDeliverEof();
  }

  private peerClosed = false;

  private maybeDeliverEof(): void {
    if (this.peerClosed && !this.eofDelivered && this.recvBuf.length === 0) {
      this.eofDelivered = true;
      this.push({ type: 'eof' });
    }
  }

  private afterEstablished(now: number): void {
    if (this.keepAlive.enabled) this.keepAliveAt = now + this.keepAlive.idleMs;
    // RFC 5681 §3.1: "if the SYN or SYN/ACK is lost, the initial window used by a sender after a
    // correctly transmitted SYN MUST be one segment".
    if (this.synLost) this.cc = this.ccFactory(this.sndMss, this.sndMss);
    // RFC 6298 §5.7 (bug fix: data started with the 1 s RTO after a SYN or SYN-ACK timed out).
    this.rtt.reinitializeAfterSynTimeout();
  }

  /**
   * The application is done with this connection (its socket was destroyed or released while the
   * close handshake goes on). From now on FIN-WAIT-2 is bounded by finWait2TimeoutMs.
   */
  orphan(now: number): void {
    this.orphaned = true;
    if (this.state === 'FIN-WAIT-2' && this.finWait2At === undefined) this.finWait2At = now + this.opts.finWait2TimeoutMs;
  }

  private enterTimeWait(now: number): void {
    this.finWait2At = undefined;
    this.setState('TIME-WAIT');
    // RFC 9293 §3.10.7.4: "Start the time-wait timer, turn off the other timers."
    this.timeWaitAt = now + 2 * this.opts.mslMs;
    this.rtoAt = undefined;
    this.persistAt = undefined;
    this.keepAliveAt = undefined;
    this.delAckAt = undefined;
    // A TIME-WAIT entry keeps no buffers (the peer's data may still wait to be read, and stays).
    this.sendBuf.shrink();
    this.recvBuf.shrink();
  }

  // =============================================================================== timers

  /** The earliest deadline, or undefined. */
  pollTimeout(): number | undefined {
    let t: number | undefined;
    for (const d of [this.rtoAt, this.delAckAt, this.persistAt, this.keepAliveAt, this.timeWaitAt, this.finWait2At]) {
      if (d !== undefined && (t === undefined || d < t)) t = d;
    }
    return t;
  }

  handleTimeout(now: number): void {
    if (this.timeWaitAt !== undefined && now >= this.timeWaitAt) {
      // RFC 9293 §3.10.8: "If the time-wait timeout expires on a connection, delete the TCB, enter CLOSED."
      this.timeWaitAt = undefined;
      this.terminate(undefined);
      return;
    }
    if (this.finWait2At !== undefined && now >= this.finWait2At) {
      // The orphan's peer never sent its FIN: forget the connection quietly (Linux tcp_fin_timeout).
      this.finWait2At = undefined;
      if (this.state === 'FIN-WAIT-2') {
        this.terminate(undefined);
        return;
      }
    }
    if (this.rtoAt !== undefined && now >= this.rtoAt) this.onRetransmitTimeout(now);
    if (this.state === 'CLOSED') return;
    if (this.delAckAt !== undefined && now >= this.delAckAt) {
      this.delAckAt = undefined;
      this.ackNow = true;
    }
    if (this.persistAt !== undefined && now >= this.persistAt) {
      this.persistAt = undefined;
      if (this.sndWnd === 0 && this.hasUnsent()) {
        // RFC 9293 §3.8.6.1 / RFC 1122 §4.2.2.17: probe the zero window, backing off exponentially.
        // A peer that answers none of maxRetransmits probes is gone (as Linux's tcp_probe_timer).
        if (this.probesUnanswered >= this.opts.maxRetransmits) {
          this.fail('ETIMEDOUT', 'connection timed out (zero-window probes unanswered)');
          return;
        }
        this.probesUnanswered++;
        this.probePending = 'persist';
        this.persistBackoff++;
        this.persistAt = now + Math.min(this.opts.maxRtoMs, this.rtt.rto * 2 ** this.persistBackoff);
      } else if (this.hasUnsent() && this.sndUna === this.sndMax) {
        // A small window, nothing in flight, and sender SWS avoidance holding the data back: RFC 1122
        // §4.2.3.4 (d), "the override timeout occurs" — send what the window allows (Linux's
        // tcp_write_wakeup does the same). Bug fix: without it a receiver that keeps offering less
        // than half its largest window and less than an MSS was never sent anything again.
        this.swsOverride = true;
      }
    }
    if (this.keepAliveAt !== undefined && now >= this.keepAliveAt) {
      if (this.keepAliveProbes >= this.keepAlive.probes) {
        this.fail('ETIMEDOUT', 'connection timed out (keep-alive probes unanswered)');
        return;
      }
      // RFC 1122 §4.2.3.6: a keep-alive probe <SEQ=SND.UNA-1> with no data draws an ACK.
      if (this.sndUna === this.sndMax) {
        this.probePending = 'keepalive';
        this.keepAliveProbes++;
      }
      this.keepAliveAt = now + this.keepAlive.intervalMs;
    }
  }

  private onRetransmitTimeout(now: number): void {
    this.rtoAt = undefined;
    if (this.sndUna === this.sndMax && !(this.state === 'SYN-SENT' || this.state === 'SYN-RECEIVED')) return;
    this.retries++;
    const handshaking = this.state === 'SYN-SENT' || this.state === 'SYN-RECEIVED';
    if (handshaking) this.synLost = true;
    const limit = this.state === 'SYN-SENT' ? this.opts.synRetries : this.state === 'SYN-RECEIVED' ? this.opts.synAckRetries : this.opts.maxRetransmits;
    // RFC 9293 §3.8.5 / RFC 5482: measured from when the outstanding data was sent (or last made
    // progress) — bug fix: it was measured from the first retransmission, one RTO late or more.
    const userTimedOut =
      this.opts.userTimeoutMs !== undefined &&
      this.unackedSince !== undefined &&
      now - this.unackedSince >= this.opts.userTimeoutMs;
    if (this.retries > limit || userTimedOut) {
      if (this.state === 'SYN-RECEIVED' && this.passive) {
        this.terminate(undefined); // an embryonic connection that never completed: just forget it
      } else {
        this.fail('ETIMEDOUT', 'connection timed out');
      }
      return;
    }
    // RFC 6298 §5.4–5.6: retransmit the earliest unacknowledged segment, back off, restart the timer.
    this.rtt.backoff();
    this.rttSeq = undefined; // Karn: no sample from anything sent before the timeout
    if (!handshaking) {
      // RFC 5681 §3.1 and RFC 6582 §4 (after a timeout: recover = highest sent; leave recovery).
      this.cc.onRto(now, sub(this.sndMax, this.sndUna));
      this.recover = this.sndMax;
      this.inRecovery = false;
      this.dupAcks = 0;
    }
    // Go back: everything from SND.UNA is sent again as the window allows.
    this.sndNxt = this.sndUna;
    this.rtoAt = this.rtoDeadline(now);
    // A window that closed with data in flight (the peer "shrank" it, or dropped what was beyond
    // it): nothing may be resent, so the expiry sends a zero-window probe instead, which the peer
    // must answer (RFC 9293 §3.8.6.1). Bug fix: nothing at all was sent, no answer could come, and
    // the connection timed out after maxRetransmits although the peer was alive.
    if (this.sndWnd === 0 && !handshaking) this.probePending = 'persist';
  }

  private fail(code: TcpErrorCode, message: string): void {
    if (this.state !== 'SYN-SENT') this.rstPending = this.segment(this.sndMax, TCP_RST | TCP_ACK, undefined);
    this.terminate({ code, message });
  }

  private armRto(now: number): void {
    if (this.rtoAt === undefined) this.rtoAt = this.rtoDeadline(now);
  }

  /** now + RTO, but never past the user timeout, so that it is enforced on time (as Linux does). */
  private rtoDeadline(now: number): number {
    const at = now + this.rtt.rto;
    const limit = this.opts.userTimeoutMs;
    if (limit === undefined || this.unackedSince === undefined) return at;
    return Math.min(at, Math.max(now, this.unackedSince + limit));
  }

  /**
   * The persist timer: unsent data held back — by a zero window, or by sender SWS avoidance with a
   * small one — while nothing is in flight (so no retransmission timer will wake us up).
   */
  private armPersistIfNeeded(now: number): void {
    if (this.hasUnsent() && this.sndUna === this.sndMax && this.persistAt === undefined) {
      this.persistAt = now + this.rtt.rto;
    }
  }

  private hasUnsent(): boolean {
    const dataEnd = add(this.dataStart, this.sendBuf.length);
    return lt(this.sndNxt, dataEnd) || (this.finQueued && le(this.sndNxt, this.finSeq));
  }

  // =============================================================================== output

  /** The next segment to send, or undefined. Call until undefined after every input. */
  pollTransmit(now: number): TcpRepr | undefined {
    if (this.rstPending) {
      const r = this.rstPending;
      this.rstPending = undefined;
      return r;
    }
    if (this.state === 'CLOSED' || this.state === 'LISTEN') return undefined;

    // SYN or SYN-ACK (first transmission, a retransmission, or the SYN-ACK of a simultaneous open).
    if ((this.state === 'SYN-SENT' || this.state === 'SYN-RECEIVED') && this.sndNxt === this.iss) {
      const synAck = this.state === 'SYN-RECEIVED';
      this.sndNxt = add(this.iss, 1);
      if (gt(this.sndNxt, this.sndMax)) this.sndMax = this.sndNxt;
      this.armRto(now);
      // RFC 9293 §3.7.1: announce our MSS (MTU - 40) in the SYN.
      const seg = this.segment(this.iss, synAck ? TCP_SYN | TCP_ACK : TCP_SYN, undefined, { mss: this.opts.mss });
      if (this.retries === 0 && this.rttSeq === undefined) {
        this.rttSeq = this.sndNxt;
        this.rttStart = now;
      }
      return this.sent(seg);
    }
    if (this.state === 'SYN-SENT') return undefined;

    if (this.fastRetransmitPending) {
      this.fastRetransmitPending = false;
      const seg = this.retransmitFirst(now);
      if (seg) return this.sent(seg);
    }

    const data = this.nextDataSegment(now);
    if (data) return this.sent(data);

    if (this.probePending) {
      this.probePending = undefined;
      // Deliberate deviation (RFC 9293 §3.8.6.1 suggests one octet of new data): like Linux, the
      // zero-window and keep-alive probes are empty segments with SEQ = SND.UNA - 1, outside the
      // peer's window, which the peer must answer with an ACK carrying its current window.
      return this.sent(this.segment(add(this.sndUna, -1), TCP_ACK, undefined));
    }

    // A pure ACK carries the highest sequence number sent (SND.NXT before any go-back after a timeout):
    // an older one would fall left of the peer's window and be dropped, ACK field and all.
    if (this.ackNow) return this.sent(this.segment(this.sndMax, TCP_ACK, undefined));
    return undefined;
  }

  /** The data (and FIN) the window, Nagle and SWS avoidance allow next. */
  private nextDataSegment(now: number): TcpRepr | undefined {
    if (this.state === 'SYN-RECEIVED') return undefined; // no data or FIN before our SYN is acknowledged
    const dataEnd = add(this.dataStart, this.sendBuf.length);
    const avail = Math.max(0, sub(dataEnd, this.sndNxt));
    const finNext = this.finQueued && this.sndNxt === this.finSeq && avail === 0;
    if (avail === 0 && !finNext) return undefined;

    const wnd = Math.min(this.sndWnd, this.cc.cwnd);
    const usable = sub(add(this.sndUna, wnd), this.sndNxt);
    const retransmitting = lt(this.sndNxt, this.sndMax);
    let len = Math.min(this.sndMss, avail, Math.max(0, usable));

    if (avail > 0 && len === 0) {
      // Nothing fits: the persist timer covers a zero window (armed when the window closed).
      this.armPersistIfNeeded(now);
      return undefined;
    }
    if (len > 0 && len < this.sndMss && !retransmitting) {
      const inFlight = sub(this.sndMax, this.sndUna) > 0;
      const all = len === avail;
      // RFC 9293 §3.7.4 (Nagle, RFC 896): while data is unacknowledged, hold back a less-than-full
      // segment. RFC 9293 §3.8.6.2.1 (sender SWS avoidance): send a short segment only when it is
      // everything we have (and Nagle allows) or at least half the largest window the peer offered.
      const nagleOk = all && (this.noDelay || !inFlight);
      const swsOk = len >= Math.floor(this.maxSndWnd / 2) && this.maxSndWnd > 0;
      if (!nagleOk && !swsOk && !this.swsOverride) {
        if (!inFlight) this.armPersistIfNeeded(now);
        return undefined;
      }
    }
    let flags = TCP_ACK;
    const seq = this.sndNxt;
    const payload = len > 0 ? this.sendBuf.peek(sub(seq, this.dataStart), len) : undefined;
    if (len > 0 && len === avail) flags |= TCP_PSH;
    let consumed = len;
    if (this.finQueued && add(seq, len) === this.finSeq) {
      flags |= TCP_FIN;
      consumed += 1;
    } else if (len === 0) {
      return undefined;
    }
    if (!retransmitting && this.rttSeq === undefined && len > 0) {
      this.rttSeq = add(seq, len);
      this.rttStart = now;
    }
    if (retransmitting) this.retransmits++;
    if (len > 0) this.swsOverride = false;
    this.sndNxt = add(this.sndNxt, consumed);
    if (gt(this.sndNxt, this.sndMax)) this.sndMax = this.sndNxt;
    this.bytesSent += retransmitting ? 0 : len;
    this.unackedSince ??= now;
    if (this.rtoAt === undefined) this.rtoAt = this.rtoDeadline(now);
    return this.segment(seq, flags, payload);
  }

  /** Fast retransmit / partial ACK: the first unacknowledged segment, SND.NXT untouched. */
  private retransmitFirst(now: number): TcpRepr | undefined {
    const dataEnd = add(this.dataStart, this.sendBuf.length);
    const avail = Math.max(0, sub(dataEnd, this.sndUna));
    const len = Math.min(this.sndMss, avail, Math.max(0, sub(this.sndMax, this.sndUna)));
    let flags = TCP_ACK;
    let seqLen = len;
    if (this.finQueued && add(this.sndUna, len) === this.finSeq && gt(this.sndMax, this.finSeq)) {
      flags |= TCP_FIN;
      seqLen++;
    }
    if (seqLen === 0) return undefined;
    this.retransmits++;
    this.rttSeq = undefined; // Karn
    this.rtoAt = this.rtoDeadline(now);
    const payload = len > 0 ? this.sendBuf.peek(sub(this.sndUna, this.dataStart), len) : undefined;
    return this.segment(this.sndUna, flags, payload);
  }

  /** Bookkeeping for every segment that carries an ACK: the pending ACK is satisfied. */
  private sent(seg: TcpRepr): TcpRepr {
    if (seg.flags & TCP_ACK) {
      this.ackNow = false;
      this.delAckAt = undefined;
      this.unackedSegments = 0;
    }
    return seg;
  }

  private segment(
    seq: number,
    flags: number,
    payload: Uint8Array | undefined,
    options?: { mss: number },
  ): TcpRepr {
    const withAck = (flags & TCP_ACK) !== 0;
    let window = 0;
    if (!(flags & TCP_RST)) {
      window = this.advertise();
    }
    return {
      srcPort: this.localPort,
      dstPort: this.remotePort,
      seq,
      ack: withAck ? this.rcvNxt : 0,
      flags,
      window,
      ...(options ? { options } : {}),
      ...(payload ? { payload } : {}),
    };
  }

  /** The receive window to put in a segment: SWS avoidance on the receiver side, never shrinking. */
  private advertise(): number {
    const candidate = add(this.rcvNxt, this.windowToAdvertise());
    // RFC 9293 §3.8.6.2.2: move the right edge only by at least min(buffer/2, MSS) — from a closed
    // window too: that is the very case receiver SWS avoidance is for (bug fix: any opening of a
    // zero window was advertised, e.g. 1 octet in the reply to a zero-window probe). The first
    // advertisement opens the whole buffer, which is always at least that step.
    const step = this.windowUpdateStep();
    if (gt(candidate, this.rcvAdv) && sub(candidate, this.rcvAdv) >= step) {
      this.rcvAdv = candidate;
    }
    return Math.max(0, Math.min(MAX_WINDOW, sub(this.rcvAdv, this.rcvNxt)));
  }

  /**
   * RFC 9293 §3.8.6.2.2: the right edge moves by at least min(Fr*RCV.BUFF, Eff.snd.MSS), Fr = 1/2;
   * the MSS the peer may send us is (at most) the one we announced.
   */
  private windowUpdateStep(): number {
    return Math.min(Math.floor(this.opts.recvBufferSize / 2), this.opts.mss);
  }

  private windowToAdvertise(): number {
    return Math.min(MAX_WINDOW, this.recvBuf.free);
  }

  // =============================================================================== events

  pollEvent(): TcpEvent | undefined {
    return this.events.shift();
  }

  get hasEvents(): boolean {
    return this.events.length > 0;
  }

  private push(e: TcpEvent): void {
    this.events.push(e);
  }

  /** Every state change goes through here (DESIGN.md rule 4) and becomes a trace event. */
  private setState(to: TcpState): void {
    const from = this.state;
    if (from === to) return;
    if (!isAllowedTransition(from, to)) throw new Error(`TCP bug: transition ${from} → ${to} is not in the state diagram`);
    this.state = to;
    this.push({ type: 'state', from, to });
  }

  private terminate(error: { code: TcpErrorCode; message: string } | undefined): void {
    if (this.state === 'CLOSED') return;
    if (error) this.push({ type: 'error', ...error });
    this.setState('CLOSED');
    this.rtoAt = this.delAckAt = this.persistAt = this.keepAliveAt = this.timeWaitAt = this.finWait2At = undefined;
    this.sendBuf.shrink();
    this.push({ type: 'closed' });
  }
}
