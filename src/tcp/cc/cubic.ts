// CUBIC congestion control (RFC 9438): the cubic window increase function and its Reno-friendly
// region in congestion avoidance, β_cubic = 0.7 multiplicative decrease, fast convergence, timeout.
// Slow start and the fast-recovery window arithmetic are NewReno's (RFC 5681, RFC 6582), which
// RFC 9438 §4.2 keeps ("It does not make any changes to the TCP Fast Recovery and Fast Retransmit").
//
// Units: `cwnd` and `ssthresh` are bytes (integers) at the interface, as for NewReno; the cubic
// math is done in segments (floating point), as the RFC writes it, and `t` in seconds.
//
// Choices the RFC leaves open, and deviations (each is flagged again where it is implemented):
// - Slow start is RFC 5681's (RFC 9438 §4.10 allows it: "MAY use the Reno TCP slow start"); no
//   HyStart++ (it needs per-round RTT samples, which the TCB does not pass yet).
// - The reduction uses cwnd, not FlightSize (§4.6: "Some implementations of CUBIC currently use
//   cwnd instead of flight_size"); as that paragraph then requires ("MUST use other measures to
//   prevent cwnd from growing when the volume of bytes in flight is smaller than cwnd"), cwnd grows
//   only while the sender is cwnd-limited, and `t` does not run while it is not (§4.2, §5.8), nor
//   (when RTT samples are given) across an idle period.
//   `opts.cwndValidation: false` turns that off for callers that cannot supply `inFlight`.
// - Fast recovery keeps NewReno's window inflation (cwnd = ssthresh + 3*SMSS, +SMSS per further
//   duplicate, deflation on partial ACKs) because the TCB sends only what cwnd allows during
//   recovery; the exit is RFC 6582 §3.2 step 6 option (1), the same as NewReno.
// - Without RTT samples the target is W_cubic(t) instead of W_cubic(t + RTT) (one RTT behind).
// - cwnd grows per acknowledged segment (segments_acked may be fractional), not once per ACK.
// - A timeout during fast recovery, or a repeated timeout before any progress, does not reduce
//   ssthresh or W_max again (one reduction per congestion event; RFC 5681 §3.1: "ssthresh is held
//   constant" for a segment already retransmitted by the timer). Like Linux.

import type { CongestionControl } from './congestion.js';

/** RFC 9438 §4.1.1 / §5.1: "C SHOULD be set to 0.4" (segments / second³). */
export const CUBIC_C = 0.4;
/** RFC 9438 §4.6: "The parameter β_cubic SHOULD be set to 0.7". */
export const CUBIC_BETA = 0.7;

export interface CubicOptions {
  /** C, segments per second³ (default 0.4). */
  c?: number;
  /** β_cubic, the multiplicative decrease factor (default 0.7). */
  beta?: number;
  /** RFC 9438 §4.7 fast convergence (default true: "SHOULD be implemented"). */
  fastConvergence?: boolean;
  /** RFC 9438 §4.3 Reno-friendly region, W_est (default true). */
  tcpFriendly?: boolean;
  /**
   * Grow cwnd (and let the cubic clock `t` run) only while the sender is cwnd-limited, judged
   * from the `inFlight` the TCB reports with each ACK (default true; see the file comment).
   */
  cwndValidation?: boolean;
}

/** RFC 9438 §4.2 Figure 2: K = cubic_root((W_max - cwnd_epoch) / C), seconds (segments in). */
export function cubicK(wMax: number, cwndEpoch: number, c: number = CUBIC_C): number {
  return Math.cbrt((wMax - cwndEpoch) / c);
}

/** RFC 9438 §4.2 Figure 1: W_cubic(t) = C * (t - K)^3 + W_max, segments (t and K in seconds). */
export function cubicWindow(t: number, k: number, wMax: number, c: number = CUBIC_C): number {
  const d = t - k;
  return c * d * d * d + wMax;
}

/** Bytes to a whole number, forgiving a floating-point product that lands a hair below an integer. */
function floorBytes(x: number): number {
  return Math.floor(x + 1e-9);
}

/** Cubic's constants, resolved from CubicOptions. */
interface CubicParams {
  readonly c: number;
  readonly beta: number;
  readonly fastConvergence: boolean;
  readonly tcpFriendly: boolean;
  readonly cwndValidation: boolean;
  /** RFC 9438 §4.3: α_cubic = 3 * (1 - β_cubic) / (1 + β_cubic). */
  readonly alphaCubic: number;
}

let defaultParams: CubicParams | undefined;

function cubicParams(opts: CubicOptions): CubicParams {
  const isDefault = opts.c === undefined && opts.beta === undefined && opts.fastConvergence === undefined && opts.tcpFriendly === undefined && opts.cwndValidation === undefined;
  if (isDefault && defaultParams !== undefined) return defaultParams;
  const c = opts.c ?? CUBIC_C;
  const beta = opts.beta ?? CUBIC_BETA;
  if (!(c > 0)) throw new RangeError(`cubic: C must be positive, got ${c}`);
  if (!(beta > 0 && beta < 1)) throw new RangeError(`cubic: beta must be in (0, 1), got ${beta}`);
  const p: CubicParams = {
    c,
    beta,
    fastConvergence: opts.fastConvergence ?? true,
    tcpFriendly: opts.tcpFriendly ?? true,
    cwndValidation: opts.cwndValidation ?? true,
    alphaCubic: (3 * (1 - beta)) / (1 + beta),
  };
  if (isDefault) defaultParams = p;
  return p;
}

export class Cubic implements CongestionControl {
  readonly name = 'cubic';
  ssthresh = 0x7fffffff;

  /** The constants (C, β_cubic, α_cubic, switches): shared by every instance made with the same options. */
  private readonly p: CubicParams;

  /** Congestion window in bytes, fractional in congestion avoidance; `cwnd` is its floor. */
  private cw: number;
  /** Segments: W_max, cwnd_prior, cwnd_epoch and W_est of RFC 9438 §4.1.2. */
  private wMaxSeg = 0;
  private cwndPriorSeg = 0;
  private cwndEpochSeg = 0;
  private wEstSeg = 0;
  /** α in Figure 4: α_cubic until W_est reaches cwnd_prior, then 1 (§4.3). */
  private alpha: number;
  private kSec = 0;
  /** t_epoch in ms (shifted forward over app-limited periods); undefined outside congestion avoidance. */
  private tEpoch: number | undefined;
  /** §4.8: the next congestion-avoidance stage is the first after a timeout (K = 0, W_max = cwnd_epoch). */
  private afterTimeout = false;
  /** Inside fast recovery (between onFastRetransmit and onRecoveryEnd / onRto). */
  private inRecovery = false;
  /** An RTO happened and no ACK has made progress since: a further RTO is the same event. */
  private timeoutBackoff = false;
  /** Bytes of ACKs still to come in the current "cwnd-limited" window (cwnd validation latch). */
  private limitedBytes = 0;
  /** `now` of the previous ACK and whether it left nothing in flight (the sender may then idle). */
  private lastAckAt: number | undefined;
  private drained = false;
  private srtt: number | undefined;
  private minRtt: number | undefined;

  constructor(
    private readonly mss: number,
    initialWindow?: number,
    opts: CubicOptions = {},
  ) {
    if (!(mss > 0)) throw new RangeError(`cubic: mss must be positive, got ${mss}`);
    this.p = cubicParams(opts);
    this.alpha = this.p.alphaCubic;
    // RFC 5681 §3.1 (RFC 3390), as NewReno: IW = min(4*SMSS, max(2*SMSS, 4380)).
    this.cw = initialWindow ?? Math.min(4 * mss, Math.max(2 * mss, 4380));
  }

  /** Congestion window, bytes. */
  get cwnd(): number {
    return Math.floor(this.cw);
  }

  // Read-only views of the RFC 9438 state, for tests and traces (segments / seconds / ms).
  /** W_max, segments. */
  get wMax(): number {
    return this.wMaxSeg;
  }
  /** K of the current congestion-avoidance stage, seconds. */
  get k(): number {
    return this.kSec;
  }
  /** cwnd_prior, segments. */
  get cwndPrior(): number {
    return this.cwndPriorSeg;
  }
  /** cwnd_epoch, segments. */
  get cwndEpoch(): number {
    return this.cwndEpochSeg;
  }
  /** W_est, segments. */
  get wEst(): number {
    return this.wEstSeg;
  }
  /** t_epoch (ms, on the caller's clock), or undefined outside congestion avoidance. */
  get epochStart(): number | undefined {
    return this.tEpoch;
  }
  get srttMs(): number | undefined {
    return this.srtt;
  }
  get minRttMs(): number | undefined {
    return this.minRtt;
  }

  /** W_cubic(t) in segments for the current stage at time `now` (ms), or undefined outside one. */
  windowAt(now: number): number | undefined {
    if (this.tEpoch === undefined) return undefined;
    return cubicWindow((now - this.tEpoch) / 1000, this.kSec, this.wMaxSeg, this.p.c);
  }

  onAck(now: number, acked: number, rttMs: number | undefined, inFlight: number): void {
    if (rttMs !== undefined && Number.isFinite(rttMs) && rttMs >= 0) this.sampleRtt(rttMs);
    this.timeoutBackoff = false; // progress: a later timeout is a new congestion event
    const limited = this.isCwndLimited(acked, inFlight);
    const wasDrained = this.drained;
    const prevAck = this.lastAckAt;
    this.drained = inFlight === 0;
    this.lastAckAt = now;

    if (this.cw < this.ssthresh) {
      // RFC 9438 §4.10 → RFC 5681 §3.1 (3.2): slow start, cwnd += min(N, SMSS).
      if (limited) this.cw += Math.min(acked, this.mss);
      return;
    }

    // Congestion avoidance.
    if (this.tEpoch === undefined) {
      this.startEpoch(now);
    } else if (prevAck !== undefined && now > prevAck) {
      // RFC 9438 §4.2: "The elapsed time t in Figure 1 MUST NOT include periods during which cwnd
      // has not been updated due to application-limited behavior" — slide t_epoch past them.
      if (!limited) {
        this.tEpoch += now - prevAck;
      } else if (wasDrained && this.srtt !== undefined) {
        // The previous ACK left nothing in flight: the sender may have idled before sending what
        // this ACK acknowledges. What exceeds one RTT is idle time (like Linux's shift of the epoch
        // on CA_EVENT_TX_START). Without an RTT this cannot be told from a window acknowledged in
        // one batch, so it is not attempted (a documented limitation).
        this.tEpoch += Math.max(0, now - prevAck - this.srtt);
      }
    }
    if (!limited || acked <= 0) return;

    const mss = this.mss;
    const w = this.cw / mss; // cwnd, segments
    const segmentsAcked = acked / mss; // §4.1.2: "a decimal value when ... not MSS-sized"
    const t = (now - this.tEpoch!) / 1000;
    const rtt = (this.srtt ?? 0) / 1000; // §4.2: "RTT is the smoothed round-trip time"

    // RFC 9438 §4.2: target = W_cubic(t + RTT), bounded to [cwnd, 1.5 * cwnd].
    const wNext = cubicWindow(t + rtt, this.kSec, this.wMaxSeg, this.p.c);
    const target = wNext < w ? w : wNext > 1.5 * w ? 1.5 * w : wNext;
    // RFC 9438 §4.4 (concave, cwnd < W_max) and §4.5 (convex, cwnd >= W_max): "cwnd MUST be
    // incremented by (target - cwnd) / cwnd for each received new ACK" — here per acknowledged
    // segment, so an ACK covering two segments counts twice (an interpretation: see file comment).
    let next = w + ((target - w) / w) * segmentsAcked;

    if (this.p.tcpFriendly) {
      // RFC 9438 §4.3 Figure 4: W_est = W_est + α_cubic * segments_acked / cwnd.
      this.wEstSeg += (this.alpha * segmentsAcked) / w;
      // §4.3: "Once W_est has grown to reach ... cwnd_prior, the sender SHOULD set α_cubic to 1".
      if (this.wEstSeg >= this.cwndPriorSeg) this.alpha = 1;
      // §4.3: "If W_cubic(t) is less than W_est ... CUBIC is in the Reno-friendly region and cwnd
      // SHOULD be set to W_est"; §4.2: "chooses the larger of the two values" (so never a decrease).
      if (cubicWindow(t, this.kSec, this.wMaxSeg, this.p.c) < this.wEstSeg) next = Math.max(next, this.wEstSeg);
    }
    this.cw = next * mss;
  }

  onFastRetransmit(_now: number, _inFlight: number, sack = false): void {
    const w = this.cw / this.mss;
    // RFC 9438 §4.7 (fast convergence), before the reduction: W_max = cwnd * (1 + β_cubic) / 2 if
    // cwnd < W_max and fast convergence is enabled, else W_max = cwnd.
    this.wMaxSeg = this.p.fastConvergence && w < this.wMaxSeg ? (w * (1 + this.p.beta)) / 2 : w;
    // RFC 9438 §4.6 Figure 5: cwnd_prior = cwnd; ssthresh = max(cwnd * β_cubic, 2) — cwnd, not
    // flight_size (allowed by §4.6 with cwnd validation, see `isCwndLimited`).
    this.cwndPriorSeg = w;
    this.ssthresh = Math.max(floorBytes(this.cw * this.p.beta), 2 * this.mss);
    // §4.6: cwnd = max(ssthresh, 2); plus RFC 5681 §3.2 (4.3) inflation by the three segments that
    // left the network, which the TCB's fast recovery without SACK (like NewReno's) relies on. With
    // SACK the TCB sends by RFC 6675's pipe, which already leaves them out: cwnd = ssthresh.
    this.cw = sack ? this.ssthresh : this.ssthresh + 3 * this.mss;
    this.inRecovery = true;
    this.afterTimeout = false;
    this.timeoutBackoff = false;
    this.endEpoch();
  }

  onDupAckInRecovery(_now: number): void {
    // RFC 5681 §3.2 (4.4): inflate by SMSS for each additional duplicate ACK.
    this.cw += this.mss;
  }

  onPartialAck(_now: number, acked: number): void {
    // RFC 6582 §3.2 step 5: deflate by the amount acked, add back one SMSS if acked >= SMSS.
    this.timeoutBackoff = false;
    this.cw = Math.max(this.mss, this.cw - acked + (acked >= this.mss ? this.mss : 0));
  }

  onRecoveryEnd(_now: number, inFlight: number): void {
    // RFC 6582 §3.2 step 6, option (1), as NewReno: cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS).
    // Usually ≈ ssthresh (the inflated window let about that much new data out); if it is less,
    // slow start brings it back to ssthresh. The new congestion-avoidance epoch (t_epoch,
    // cwnd_epoch, K, W_est) starts at the first ACK processed in congestion avoidance (§4.2).
    this.cw = Math.min(this.ssthresh, Math.max(inFlight, this.mss) + this.mss);
    this.inRecovery = false;
    this.timeoutBackoff = false;
    this.endEpoch();
  }

  onRto(_now: number, _inFlight: number): void {
    if (!this.inRecovery && !this.timeoutBackoff) {
      // RFC 9438 §4.8: "CUBIC follows Reno to reduce cwnd [RFC5681], but sets ssthresh using
      // β_cubic (same as in Section 4.6)".
      const w = this.cw / this.mss;
      this.cwndPriorSeg = w;
      this.wMaxSeg = w; // replaced at the start of the next congestion avoidance (§4.8)
      this.ssthresh = Math.max(floorBytes(this.cw * this.p.beta), 2 * this.mss);
    }
    // Deliberate (like Linux): a timeout inside fast recovery keeps the ssthresh already reduced
    // for this loss (cwnd is inflated there, so cwnd * β would be wrong; ≈ FlightSize * β anyway);
    // a repeated timeout with no progress holds ssthresh constant (RFC 5681 §3.1).
    // RFC 5681 §3.1: cwnd = 1 SMSS (the loss window).
    this.cw = this.mss;
    this.inRecovery = false;
    this.timeoutBackoff = true;
    // §4.8: "During the first congestion avoidance stage after a timeout ... K is set to 0, and
    // W_max is set to the congestion window size at the beginning of the current congestion
    // avoidance stage" (applied in startEpoch).
    this.afterTimeout = true;
    this.endEpoch();
  }

  /** The beginning of a congestion-avoidance stage (RFC 9438 §4.2 t_epoch and cwnd_epoch). */
  private startEpoch(now: number): void {
    const w = this.cw / this.mss;
    this.tEpoch = now;
    this.cwndEpochSeg = w;
    if (this.afterTimeout || this.wMaxSeg <= w) {
      // §4.8 (after a timeout), and §4.10's rule for "W_max is undefined" applied whenever
      // cwnd_epoch >= W_max (Figure 2 would give K <= 0): K = 0, W_max = cwnd_epoch.
      this.wMaxSeg = w;
      this.kSec = 0;
    } else {
      // §4.2 Figure 2: K = cubic_root((W_max - cwnd_epoch) / C). With cwnd_epoch = β_cubic * W_max
      // this is RFC 8312's K = cubic_root(W_max * (1 - β_cubic) / C).
      this.kSec = cubicK(this.wMaxSeg, w, this.p.c);
    }
    this.afterTimeout = false;
    // §4.3: "W_est is set equal to cwnd_epoch at the start of the congestion avoidance stage"
    // (§4.8: the same after a timeout).
    this.wEstSeg = w;
    this.alpha = this.wEstSeg >= this.cwndPriorSeg ? 1 : this.p.alphaCubic;
  }

  private endEpoch(): void {
    this.tEpoch = undefined;
    this.limitedBytes = 0;
  }

  /**
   * Cwnd validation (RFC 9438 §4.6 and §5.8, in the spirit of RFC 7661): was this ACK part of a
   * window in which the sender filled cwnd? Before this ACK `inFlight + acked` was outstanding; if
   * that was within one SMSS of cwnd the window was full, and the next cwnd bytes of ACKs (one
   * round) count as cwnd-limited — so ACKs processed in a batch, before the sender refills the
   * window, still grow it (as Linux latches `is_cwnd_limited` for a window).
   */
  private isCwndLimited(acked: number, inFlight: number): boolean {
    if (!this.p.cwndValidation) return true;
    const flightBefore = Math.max(0, inFlight) + Math.max(0, acked);
    if (flightBefore + this.mss > this.cw) this.limitedBytes = this.cw;
    const limited = this.limitedBytes > 0;
    this.limitedBytes = Math.max(0, this.limitedBytes - Math.max(0, acked));
    return limited;
  }

  /** RFC 6298 §2 smoothing (α = 1/8) for the RTT of §4.2's target; and the minimum seen. */
  private sampleRtt(r: number): void {
    this.srtt = this.srtt === undefined ? r : this.srtt + (r - this.srtt) / 8;
    this.minRtt = this.minRtt === undefined ? r : Math.min(this.minRtt, r);
  }
}
