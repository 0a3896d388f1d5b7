// The variables of one TCP connection (RFC 9293 §3.3.1 and what the later RFCs add), shared by the
// parts that operate on them (send.ts, receive.ts, recovery.ts, timers.ts), plus the few operations
// every part needs: state changes, events, RTO deadlines. `Tcb` (tcb.ts) is the public face.

import type { TcpRepr } from '../wire/tcp.js';
import type { CongestionControl } from './cc/congestion.js';
import { NewReno } from './cc/newreno.js';
import { ReceiveBuffer } from './receive.js';
import { RttEstimator } from './rtt.js';
import { DEFAULT_PEER_MSS, MAX_WINDOW, SendBuffer } from './send.js';
import { isAllowedTransition, type TcpState } from './state.js';
import type { Endpoints, KeepAliveOptions, TcbOptions, TcpErrorCode, TcpEvent } from './tcb-types.js';
import { Deadlines } from './timers.js';
import { Scoreboard } from './sack.js';
import { TokenBucket } from '../ip/rate-limit.js';

/** RFC 5961 §7 ("an ACK throttling mechanism"): per connection, like Linux's per-socket limit. */
const CHALLENGE_ACKS_PER_SECOND = 10;

/** TcbOptions with the defaults filled in. */
export type ResolvedTcbOptions = Required<Omit<TcbOptions, 'userTimeoutMs' | 'keepAlive' | 'congestionControl'>> & {
  userTimeoutMs: number | undefined;
};

/** The statistics the Tcb shows as public fields (the Tcb passes itself). */
export interface TcbCounters {
  retransmits: number;
  bytesRetransmitted: number;
  bytesSent: number;
  bytesReceived: number;
}

/** What every connection opened with one TcbOptions object shares: resolved once, never mutated. */
interface SharedOptions {
  opts: Readonly<ResolvedTcbOptions>;
  ourWscale: number;
  keepAlive: Readonly<Required<KeepAliveOptions>>;
  rtt: { initialRtoMs: number; minRtoMs: number; maxRtoMs: number };
  ccFactory: (mss: number, initialWindow?: number) => CongestionControl;
}

const newReno = (mss: number, iw?: number): CongestionControl => new NewReno(mss, iw);
const sharedCache = new WeakMap<TcbOptions, SharedOptions>();

function sharedOptions(opts: TcbOptions): SharedOptions {
  const hit = sharedCache.get(opts);
  if (hit !== undefined) return hit;
  const resolved: ResolvedTcbOptions = {
    mss: opts.mss,
    recvBufferSize: opts.windowScaling ? (opts.recvBufferSize ?? MAX_WINDOW) : Math.min(opts.recvBufferSize ?? MAX_WINDOW, MAX_WINDOW),
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
    windowScaling: opts.windowScaling ?? false,
    timestamps: opts.timestamps ?? false,
    sack: opts.sack ?? false,
    gsoMaxSize: opts.gsoMaxSize ?? 0,
  };
  // RFC 7323 §2.3: the shift is at most 14; pick the smallest that lets 16 bits cover the buffer.
  let shift = 0;
  while (shift < 14 && resolved.recvBufferSize / 2 ** shift > MAX_WINDOW) shift++;
  const shared: SharedOptions = {
    opts: resolved,
    ourWscale: shift,
    keepAlive: { enabled: false, idleMs: 7_200_000, intervalMs: 75_000, probes: 9, ...opts.keepAlive },
    rtt: { initialRtoMs: resolved.initialRtoMs, minRtoMs: resolved.minRtoMs, maxRtoMs: resolved.maxRtoMs },
    ccFactory: opts.congestionControl ?? newReno,
  };
  sharedCache.set(opts, shared);
  return shared;
}

/** The options a peer offered in its SYN, before one arrives (shared: replaced, never mutated). */
const NOTHING_OFFERED: Conn['peerOffered'] = { wscale: undefined, ts: undefined, sack: false };

export class Conn {
  readonly localPort: number;
  readonly remotePort: number;
  readonly passive: boolean;
  state: TcpState = 'CLOSED';

  // --- send sequence space (RFC 9293 §3.3.1)
  /** ISS: our initial sequence number. */
  iss = 0;
  sndUna = 0;
  sndNxt = 0;
  /** The highest sequence number sent so far (sndNxt goes back to sndUna after a timeout). */
  sndMax = 0;
  sndWnd = 0;
  sndWl1 = 0;
  sndWl2 = 0;
  maxSndWnd = 0;
  /** Sequence number of the first octet in the send buffer. */
  dataStart = 0;
  readonly sendBuf: SendBuffer;
  finQueued = false;
  finSeq = 0;
  sndMss: number;

  // --- receive sequence space
  /** IRS: the peer's initial sequence number. */
  irs = 0;
  rcvNxt = 0;
  /** Right edge of the window we advertised (never moved left: RFC 9293 §3.8.6.2.2 / MUST-34 spirit). */
  rcvAdv = 0;
  readonly recvBuf: ReceiveBuffer;

  // --- RFC 7323 and RFC 2018, settled by the SYN exchange
  /** Shift applied to the windows the peer sends us (Snd.Wind.Shift). */
  sndWscale = 0;
  /** Shift applied to the windows we send (Rcv.Wind.Shift): what our SYN offered, if in effect. */
  rcvWscale = 0;
  /** The shift our SYN or SYN-ACK offers: the smallest that lets the window cover the buffer. */
  readonly ourWscale: number;
  /** Timestamps in effect on this connection (both SYNs carried TSopt). */
  tsOk = false;
  /** RFC 7323 §4.3 TS.Recent, when it was set, and Last.ACK.sent. */
  tsRecent = 0;
  tsRecentAt = 0;
  lastAckSent = 0;
  /** What the peer SACKed above SND.UNA (RFC 6675 scoreboard), and one past the highest octet resent in this recovery (HighRxt). */
  readonly scoreboard = new Scoreboard();
  highRxt = 0;
  /** RFC 6675 RescueRxt (one past): the rescue retransmission of NextSeg rule (4) is due once SND.UNA passes it. */
  rescueRxt = 0;
  /** Octets of a rescue retransmission sent since the last ACK, which SetPipe cannot see (RFC 6675 §5 (C.4)). */
  rescueInPipe = 0;
  /** New data sent by Limited Transmit (RFC 6675 §5 step (3)) since the last cumulative ACK: not FlightSize (RFC 5681). */
  limitedTransmitBytes = 0;
  /** The start of the most recent out-of-order segment held (RFC 2018 §4: its block goes first). */
  lastHeldSeq = 0;
  /** The `now` of the current call into the TCB (handleSegment, handleTimeout, pollTransmit, user calls). */
  now = 0;
  /** Segments PAWS rejected (RFC 7323 §5). */
  pawsRejected = 0;
  /** Added to our millisecond clock in TSval (RFC 7323 §5.4: a per-connection offset). */
  tsOffset = 0;
  /** The peer allows SACK blocks from us (its SYN carried SACK-permitted, and we offered it). */
  sackOk = false;
  /** The peer offered these in its SYN (a passive open answers in kind). */
  peerOffered: Readonly<{ wscale: number | undefined; ts: { tsVal: number } | undefined; sack: boolean }> = NOTHING_OFFERED;
  /** The peer's FIN, once seen (possibly ahead of RCV.NXT). */
  peerFinSeq: number | undefined;
  /** The peer's FIN was consumed (RCV.NXT advanced over it). */
  peerClosed = false;
  eofDelivered = false;

  // --- timers (DESIGN.md rule 2: deadlines as data)
  readonly timers = new Deadlines();

  // --- retransmission and congestion state
  readonly rtt: RttEstimator;
  retries = 0;
  /**
   * Since when the oldest outstanding sequence space has waited for an ACK without progress: the
   * reference for the user timeout (RFC 5482: how long "transmitted data may remain unacknowledged").
   */
  unackedSince: number | undefined;
  rttSeq: number | undefined;
  rttStart = 0;
  dupAcks = 0;
  inRecovery = false;
  /** RFC 6582: the highest sequence number sent when recovery (or a timeout) began. */
  recover = 0;
  fastRetransmitPending = false;
  cc: CongestionControl;
  readonly ccFactory: (mss: number, initialWindow?: number) => CongestionControl;
  /** A SYN or SYN-ACK of ours timed out (RFC 5681 §3.1: then the initial window is one segment). */
  synLost = false;
  /** The application let go of the connection (its socket is gone). */
  orphaned = false;
  persistBackoff = 0;
  /** Zero-window probes sent since the peer last acknowledged anything (Linux: icsk_probes_out). */
  probesUnanswered = 0;
  keepAliveProbes = 0;
  probePending: 'persist' | 'keepalive' | undefined;
  /** The SWS override timer expired: the next data segment may be short (RFC 1122 §4.2.3.4). */
  swsOverride = false;

  // --- ACK generation
  ackNow = false;
  unackedSegments = 0;
  rstPending: TcpRepr | undefined;
  /** RFC 5961 §7: challenge ACKs are throttled (created on the first one). */
  private challengeBucket: TokenBucket | undefined;
  challengeAcksSuppressed = 0;

  readonly events: TcpEvent[] = [];
  readonly opts: Readonly<ResolvedTcbOptions>;
  keepAlive: Readonly<Required<KeepAliveOptions>>;
  noDelay: boolean;

  constructor(
    ends: Endpoints,
    passive: boolean,
    opts: TcbOptions,
    /** Where retransmits/bytesSent/bytesReceived are counted (the Tcb's public fields). */
    readonly counters: TcbCounters,
  ) {
    this.localPort = ends.localPort;
    this.remotePort = ends.remotePort;
    this.passive = passive;
    // Connections opened with the same options object share its resolved form (heap per idle connection).
    const shared = sharedOptions(opts);
    this.opts = shared.opts;
    this.ourWscale = shared.ourWscale;
    this.noDelay = this.opts.noDelay;
    this.keepAlive = shared.keepAlive;
    this.sndMss = Math.min(DEFAULT_PEER_MSS, opts.mss);
    this.sendBuf = new SendBuffer(this.opts.sendBufferSize);
    this.recvBuf = new ReceiveBuffer(this.opts.recvBufferSize);
    this.rtt = new RttEstimator(shared.rtt);
    this.ccFactory = shared.ccFactory;
    this.cc = this.ccFactory(this.sndMss);
  }

  /**
   * A challenge ACK (RFC 5961 §3.2, §4.2, §5.2): sent unless the per-connection budget is spent, so a
   * blind attacker cannot make us flood the peer (RFC 5961 §7 SHOULD; 10 per second here).
   */
  challengeAck(now: number): void {
    this.challengeBucket ??= new TokenBucket(CHALLENGE_ACKS_PER_SECOND, CHALLENGE_ACKS_PER_SECOND);
    if (this.challengeBucket.take(now)) this.ackNow = true;
    else this.challengeAcksSuppressed++;
  }

  /** The data octets a full segment from us carries: the send MSS less the options every segment has (RFC 6691 §3). */
  get segmentSize(): number {
    return this.sndMss - (this.tsOk ? 12 : 0);
  }

  /** Our timestamp clock: milliseconds plus the connection's offset (RFC 7323 §5.4), mod 2^32. */
  tsNow(now: number): number {
    return (Math.floor(now) + this.tsOffset) >>> 0;
  }

  emit(e: TcpEvent): void {
    this.events.push(e);
  }

  /** Every state change goes through here (DESIGN.md rule 4) and becomes a trace event. */
  setState(to: TcpState): void {
    const from = this.state;
    if (from === to) return;
    if (!isAllowedTransition(from, to)) throw new Error(`TCP bug: transition ${from} → ${to} is not in the state diagram`);
    this.state = to;
    // The SYN's options matter only until the handshake is done (the SYN-ACK and its retransmissions).
    if (to === 'ESTABLISHED') this.peerOffered = NOTHING_OFFERED;
    this.emit({ type: 'state', from, to });
  }

  terminate(error: { code: TcpErrorCode; message: string } | undefined): void {
    if (this.state === 'CLOSED') return;
    if (error) this.emit({ type: 'error', ...error });
    this.setState('CLOSED');
    this.timers.clear();
    this.sendBuf.shrink();
    this.emit({ type: 'closed' });
  }

  armRto(now: number): void {
    if (this.timers.rto === undefined) this.timers.rto = this.rtoDeadline(now);
  }

  /** now + RTO, but never past the user timeout, so that it is enforced on time (as Linux does). */
  rtoDeadline(now: number): number {
    const at = now + this.rtt.rto;
    const limit = this.opts.userTimeoutMs;
    if (limit === undefined || this.unackedSince === undefined) return at;
    return Math.min(at, Math.max(now, this.unackedSince + limit));
  }
}
