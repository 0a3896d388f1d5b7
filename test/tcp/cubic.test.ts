// CUBIC (RFC 9438): the window function and K (§4.2), growth through a congestion-avoidance stage
// (§4.4, §4.5), the Reno-friendly region (§4.3), multiplicative decrease (§4.6), fast convergence
// (§4.7), timeout (§4.8), slow start (§4.10 → RFC 5681), the recovery hooks, cwnd validation.
// The RFC formulas are written out again here, independently of src/tcp/cc/cubic.ts.

import { describe, expect, it } from 'vitest';
import type { CongestionControl } from '../../src/tcp/cc/congestion.js';
import { Cubic, type CubicOptions, cubicK, cubicWindow } from '../../src/tcp/cc/cubic.js';
import { NewReno } from '../../src/tcp/cc/newreno.js';

const MSS = 1000;
const C = 0.4;
const BETA = 0.7;
const ALPHA = (3 * (1 - BETA)) / (1 + BETA); // §4.3

/** RFC 9438 §4.2 Figure 2 and Figure 1, segments and seconds. */
const kRfc = (wMax: number, cwndEpoch: number): number => Math.cbrt((wMax - cwndEpoch) / C);
const wRfc = (t: number, k: number, wMax: number): number => C * Math.pow(t - k, 3) + wMax;

const segs = (cc: CongestionControl): number => cc.cwnd / MSS;

/**
 * One round trip of a cwnd-limited sender: floor(cwnd / MSS) full segments in flight, acknowledged
 * one by one, evenly over `rttMs`, with `inFlight` as the TCB reports it (after the ACK). The sender
 * refills only at the end of the round, as if the ACKs were handled in one batch: the worst case
 * for cwnd validation. Returns the time the round ends.
 */
function roundTrip(cc: CongestionControl, start: number, rttMs: number, rttSample?: number): number {
  const n = Math.max(1, Math.floor(cc.cwnd / MSS));
  for (let i = 0; i < n; i++) cc.onAck(start + ((i + 1) * rttMs) / n, MSS, rttSample, (n - i - 1) * MSS);
  return start + rttMs;
}

/** A loss at a window of `wMaxSegs` segments, fast recovery, and its end at `at` ms with cwnd = ssthresh. */
function afterLoss(wMaxSegs: number, at: number, opts?: CubicOptions): Cubic {
  const cc = new Cubic(MSS, wMaxSegs * MSS, opts);
  cc.onFastRetransmit(0, wMaxSegs * MSS);
  cc.onRecoveryEnd(at, cc.ssthresh); // the new data sent during recovery ≈ ssthresh: cwnd = ssthresh
  return cc;
}

describe('Cubic', () => {
  it('implements_the_interface_with_the_rfc_5681_initial_window', () => {
    const cc: CongestionControl = new Cubic(1460);
    expect(cc.name).toBe('cubic');
    expect(cc.cwnd).toBe(4380);
    expect(new Cubic(1000).cwnd).toBe(4000);
    expect(new Cubic(536).cwnd).toBe(2144);
    expect(new Cubic(4000).cwnd).toBe(8000);
    expect(new Cubic(1460, 1460).cwnd).toBe(1460); // SYN lost: IW = 1 segment
    expect(cc.ssthresh).toBeGreaterThan(1e9);
    expect(() => new Cubic(0)).toThrow(RangeError);
    expect(() => new Cubic(MSS, undefined, { beta: 1 })).toThrow(RangeError);
    expect(() => new Cubic(MSS, undefined, { c: 0 })).toThrow(RangeError);
  });

  describe('window function (RFC 9438 §4.2)', () => {
    it('computes_k_and_w_cubic_as_the_rfc_formulas', () => {
      // W_max = 100 segments, cwnd_epoch = β * W_max = 70: K = cbrt(100 * 0.3 / 0.4) ≈ 4.217 s.
      const k = Math.cbrt((100 * (1 - BETA)) / C);
      expect(k).toBeCloseTo(4.2172, 4);
      expect(cubicK(100, 70)).toBeCloseTo(k, 12);
      expect(cubicK(100, 70)).toBeCloseTo(kRfc(100, 70), 12);
      for (const t of [0, 0.5, 1, 2, 3, 4, k, 5, 6, 8, 10]) {
        expect(cubicWindow(t, k, 100)).toBeCloseTo(wRfc(t, k, 100), 9);
      }
      expect(cubicWindow(0, k, 100)).toBeCloseTo(70, 9); // W(0) = cwnd_epoch
      expect(cubicWindow(k, k, 100)).toBeCloseTo(100, 12); // W(K) = W_max
      expect(cubicWindow(k + 1, k, 100)).toBeCloseTo(100.4, 9);
      expect(cubicWindow(k + 2, k, 100)).toBeCloseTo(103.2, 9);
      // Concave before K (increments shrink), convex after (increments grow).
      const step = (t: number): number => cubicWindow(t + 0.5, k, 100) - cubicWindow(t, k, 100);
      expect(step(0)).toBeGreaterThan(step(1));
      expect(step(1)).toBeGreaterThan(step(2.5));
      expect(step(k)).toBeLessThan(step(k + 1));
      expect(step(k + 1)).toBeLessThan(step(k + 2));
      // Other C: the same formula.
      expect(cubicK(100, 70, 0.04)).toBeCloseTo(Math.cbrt(30 / 0.04), 12);
    });

    it('starts_an_epoch_with_k_from_w_max_and_cwnd_epoch', () => {
      const cc = afterLoss(100, 1000);
      expect(cc.wMax).toBe(100);
      expect(cc.ssthresh).toBe(70 * MSS);
      expect(cc.cwnd).toBe(70 * MSS);
      expect(cc.epochStart).toBeUndefined(); // t_epoch is the start of congestion avoidance
      cc.onAck(1010, MSS, undefined, 69 * MSS);
      expect(cc.epochStart).toBe(1010);
      expect(cc.cwndEpoch).toBe(70);
      expect(cc.k).toBeCloseTo(kRfc(100, 70), 12);
      expect(cc.windowAt(1010)).toBeCloseTo(70, 9);
      expect(cc.windowAt(1010 + cc.k * 1000)).toBeCloseTo(100, 9);
      expect(cc.windowAt(1010 + 2000)).toBeCloseTo(wRfc(2, kRfc(100, 70), 100), 9);
    });
  });

  describe('congestion avoidance (RFC 9438 §4.4, §4.5)', () => {
    /** Runs rounds of `rttMs` until `untilSec` after t_epoch; returns (t, cwnd segments) per round. */
    function run(cc: Cubic, start: number, rttMs: number, untilSec: number, sample?: number): Array<[number, number]> {
      const out: Array<[number, number]> = [];
      let now = start;
      const firstAck = start + rttMs / Math.floor(cc.cwnd / MSS);
      for (;;) {
        now = roundTrip(cc, now, rttMs, sample);
        // t_epoch is the first ACK in congestion avoidance, and never slides: the sender is cwnd-limited.
        expect(cc.epochStart).toBeCloseTo(firstAck, 9);
        const t = (now - firstAck) / 1000;
        out.push([t, segs(cc)]);
        if (t >= untilSec) return out;
      }
    }

    it('tracks_w_cubic_through_the_concave_and_convex_regions_at_10ms', () => {
      const k = kRfc(100, 70);
      for (const sample of [undefined, 10]) {
        // Reno-friendly region off: at 10 ms it would dominate (see the §4.3 test).
        const cc = afterLoss(100, 0, { tcpFriendly: false });
        const trace = run(cc, 0, 10, k + 2, sample);
        let reached: number | undefined;
        for (const [t, w] of trace) {
          expect(Math.abs(w - wRfc(t, k, 100))).toBeLessThan(0.5); // measured: < 0.21 segment
          if (reached === undefined && w >= 100) reached = t;
        }
        // Concave: still short of W_max a second before K; W_max at ≈ K; convex beyond.
        const at = (x: number): number => trace.find(([t]) => t >= x)![1];
        expect(at(k - 1)).toBeLessThan(100);
        expect(at(k - 1)).toBeGreaterThan(98.5);
        expect(Math.abs(at(k) - 100)).toBeLessThan(0.5);
        expect(reached).toBeDefined();
        expect(Math.abs(reached! - k)).toBeLessThan(0.1); // measured: K + 0.013 to 0.023 s
        expect(at(k + 2)).toBeCloseTo(wRfc(k + 2, k, 100), 0);
        // Growth per second: fast, slower, near-flat at W_max, then faster again.
        const g = (x: number): number => at(x + 1) - at(x);
        expect(g(0)).toBeGreaterThan(g(1.5));
        expect(g(1.5)).toBeGreaterThan(g(k - 0.5));
        expect(g(k - 0.5)).toBeLessThan(g(k + 1));
      }
    });

    it('tracks_w_cubic_at_100ms_with_the_reno_friendly_region_enabled', () => {
      // At 100 ms, Reno's 0.53 segment per RTT is slower than the cubic curve: W_cubic rules.
      const k = kRfc(100, 70);
      const cc = afterLoss(100, 0);
      const trace = run(cc, 0, 100, k, 100);
      for (const [t, w] of trace) expect(Math.abs(w - wRfc(t, k, 100))).toBeLessThan(1.5);
      // W_est (70 + ≈0.53 per RTT) is still well below: the cubic region ruled throughout.
      expect(cc.wEst).toBeLessThan(segs(cc) - 5);
      expect(cc.wEst).toBeCloseTo(70 + ALPHA * trace.length, 0);
    });

    it('never_grows_more_than_half_a_window_per_round', () => {
      // §4.2: target = 1.5 * cwnd when W_cubic(t + RTT) > 1.5 * cwnd. W_max = 10 segments, K ≈ 1.96 s,
      // RTT 4 s: W_cubic(RTT) ≈ 13.4 > 1.5 * 7, so the bound decides: +0.5 segment per segment acked.
      const cc = afterLoss(10, 0, { tcpFriendly: false });
      let now = 0;
      for (let r = 0; r < 3; r++) {
        const before = segs(cc);
        const n = Math.floor(before);
        now = roundTrip(cc, now, 4000, 4000);
        expect(cc.windowAt(now)!).toBeGreaterThan(1.5 * before); // the curve is far above
        expect(segs(cc)).toBeCloseTo(before + 0.5 * n, 2);
        expect(segs(cc)).toBeLessThanOrEqual(1.5 * before);
      }
    });
  });

  describe('Reno-friendly region (RFC 9438 §4.3)', () => {
    it('follows_w_est_when_it_exceeds_w_cubic_at_small_rtt', () => {
      const k = kRfc(100, 70);
      const cc = afterLoss(100, 0);
      // W_est computed independently: W_est = cwnd_epoch; += α * segments_acked / cwnd per ACK;
      // α = 3(1-β)/(1+β) until W_est >= cwnd_prior (100), then 1.
      let wEst = 70;
      let alpha = ALPHA;
      let now = 0;
      const firstAck = 10 / 70;
      for (let round = 1; round <= 100; round++) {
        const n = Math.floor(cc.cwnd / MSS);
        for (let i = 0; i < n; i++) {
          const w = cc.cwnd / MSS;
          cc.onAck(now + ((i + 1) * 10) / n, MSS, 10, (n - i - 1) * MSS);
          wEst += alpha / w; // segments_acked = 1
          if (wEst >= 100) alpha = 1;
        }
        now += 10;
        const t = (now - firstAck) / 1000;
        expect(segs(cc)).toBeCloseTo(wEst, 1);
        expect(cc.wEst).toBeCloseTo(wEst, 2);
        if (round >= 5) expect(segs(cc)).toBeGreaterThan(wRfc(t, k, 100) + 1); // W_est > W_cubic
      }
      // About α per round until cwnd_prior, then about one segment per round (Reno's AIMD(1, 0.5)).
      expect(segs(cc)).toBeGreaterThan(130);
      const before = segs(cc);
      now = roundTrip(cc, now, 10, 10);
      expect(segs(cc) - before).toBeCloseTo(1, 1);
    });

    it('grows_like_w_est_at_alpha_cubic_per_rtt_before_cwnd_prior', () => {
      const cc = afterLoss(100, 0);
      let now = 0;
      for (let r = 0; r < 20; r++) now = roundTrip(cc, now, 10, 10);
      // 20 rounds of ≈ α_cubic ≈ 0.529 segment each (a bit less: floor(cwnd) ACKs per round).
      expect(segs(cc)).toBeGreaterThan(70 + 20 * ALPHA - 0.5);
      expect(segs(cc)).toBeLessThan(70 + 20 * ALPHA + 0.1);
      // Without the Reno-friendly region, the cubic curve alone is much slower here.
      const plain = afterLoss(100, 0, { tcpFriendly: false });
      now = 0;
      for (let r = 0; r < 20; r++) now = roundTrip(plain, now, 10, 10);
      expect(segs(plain)).toBeLessThan(segs(cc) - 5);
      expect(segs(plain)).toBeCloseTo(wRfc(0.2, kRfc(100, 70), 100), 0);
    });
  });

  describe('multiplicative decrease and fast convergence (RFC 9438 §4.6, §4.7)', () => {
    it('reduces_by_beta_on_fast_retransmit_and_inflates_like_newreno', () => {
      const cc = new Cubic(MSS, 100 * MSS);
      cc.onFastRetransmit(0, 100 * MSS);
      // ssthresh = cwnd * 0.7; cwnd = ssthresh + 3 * SMSS during fast recovery.
      expect(cc.ssthresh).toBe(70 * MSS);
      expect(cc.cwnd).toBe(73 * MSS);
      expect(cc.wMax).toBe(100);
      expect(cc.cwndPrior).toBe(100);
      cc.onDupAckInRecovery(0);
      expect(cc.cwnd).toBe(74 * MSS);
      // β is configurable; ssthresh never below 2 * SMSS.
      const half = new Cubic(MSS, 10 * MSS, { beta: 0.5 });
      half.onFastRetransmit(0, 10 * MSS);
      expect(half.ssthresh).toBe(5 * MSS);
      const small = new Cubic(MSS, 2 * MSS);
      small.onFastRetransmit(0, 2 * MSS);
      expect(small.ssthresh).toBe(2 * MSS);
      const odd = new Cubic(1460, 14_600);
      odd.onFastRetransmit(0, 14_600);
      expect(odd.ssthresh).toBe(10_220); // floor(14600 * 0.7)
    });

    it('deflates_on_a_partial_ack_and_leaves_recovery_like_newreno', () => {
      const cc = new Cubic(MSS, 100 * MSS);
      cc.onFastRetransmit(0, 100 * MSS); // 73 segments
      cc.onPartialAck(0, 3000);
      expect(cc.cwnd).toBe(71 * MSS); // RFC 6582 §3.2 (5): - acked + SMSS
      cc.onPartialAck(0, 500);
      expect(cc.cwnd).toBe(70_500);
      cc.onRecoveryEnd(0, 0);
      expect(cc.cwnd).toBe(2 * MSS); // RFC 6582 §3.2 (6) option 1
      const d = new Cubic(MSS, 100 * MSS);
      d.onFastRetransmit(0, 100 * MSS);
      d.onRecoveryEnd(0, 80 * MSS);
      expect(d.cwnd).toBe(70 * MSS); // min(ssthresh, ...)
      // Below ssthresh after recovery: slow start back up, then the epoch starts (cwnd_epoch ≈ ssthresh).
      const e = new Cubic(MSS, 100 * MSS);
      e.onFastRetransmit(0, 100 * MSS);
      e.onRecoveryEnd(0, 40 * MSS); // 41 segments
      let now = 0;
      while (e.epochStart === undefined) now = roundTrip(e, now, 10);
      expect(e.cwndEpoch).toBeGreaterThanOrEqual(70);
      expect(e.cwndEpoch).toBeLessThan(71);
      expect(e.k).toBeCloseTo(kRfc(100, e.cwndEpoch), 9);
    });

    it('lowers_w_max_with_fast_convergence_when_a_loss_comes_before_w_max', () => {
      for (const fastConvergence of [true, false]) {
        const cc = afterLoss(100, 0, { fastConvergence, tcpFriendly: false });
        let now = 0;
        while (cc.cwnd < 90 * MSS) now = roundTrip(cc, now, 10);
        const w = cc.cwnd / MSS; // about 90, below the previous W_max of 100
        cc.onFastRetransmit(now, cc.cwnd);
        // §4.7: W_max = cwnd * (1 + β) / 2 with fast convergence, else cwnd.
        expect(cc.wMax).toBeCloseTo(fastConvergence ? (w * (1 + BETA)) / 2 : w, 2);
        expect(cc.cwndPrior).toBeCloseTo(w, 2);
        expect(cc.ssthresh / MSS).toBeCloseTo(w * BETA, 2);
        cc.onRecoveryEnd(now, cc.ssthresh);
        roundTrip(cc, now, 10);
        // §4.2 Figure 2 with cwnd_epoch = β * cwnd: K = cbrt((W_max - cwnd_epoch) / C).
        expect(cc.k).toBeCloseTo(kRfc(cc.wMax, cc.cwndEpoch), 9);
        expect(cc.k).toBeCloseTo(Math.cbrt((w * (fastConvergence ? (1 - BETA) / 2 : 1 - BETA)) / C), 2);
      }
      // A loss above the previous W_max is not "before reaching it": W_max = cwnd.
      const again = new Cubic(MSS, 100 * MSS);
      again.onFastRetransmit(0, 100 * MSS);
      again.onRecoveryEnd(0, again.ssthresh);
      let now = 0;
      while (again.cwnd < 110 * MSS) now = roundTrip(again, now, 100, 100);
      const w = again.cwnd / MSS;
      again.onFastRetransmit(now, again.cwnd);
      expect(again.wMax).toBeCloseTo(w, 2);
    });
  });

  describe('timeout (RFC 9438 §4.8)', () => {
    it('drops_to_one_segment_with_ssthresh_by_beta', () => {
      const cc = new Cubic(MSS, 100 * MSS);
      cc.onRto(0, 100 * MSS);
      expect(cc.cwnd).toBe(MSS);
      expect(cc.ssthresh).toBe(70 * MSS);
      // A repeated timeout for the same data holds ssthresh (RFC 5681 §3.1).
      cc.onRto(1000, 100 * MSS);
      expect(cc.cwnd).toBe(MSS);
      expect(cc.ssthresh).toBe(70 * MSS);
      // After progress, a timeout is a new event: ssthresh = max(cwnd * β, 2 SMSS).
      cc.onAck(2000, MSS, undefined, 99 * MSS); // slow start: 2 segments
      cc.onRto(3000, 99 * MSS);
      expect(cc.cwnd).toBe(MSS);
      expect(cc.ssthresh).toBe(2 * MSS);
    });

    it('keeps_the_recovery_ssthresh_when_the_timer_fires_in_fast_recovery', () => {
      const cc = new Cubic(MSS, 100 * MSS);
      cc.onFastRetransmit(0, 100 * MSS);
      for (let i = 0; i < 20; i++) cc.onDupAckInRecovery(0); // inflated to 93 segments
      cc.onRto(500, 100 * MSS);
      expect(cc.cwnd).toBe(MSS);
      expect(cc.ssthresh).toBe(70 * MSS); // not 0.7 * the inflated window
    });

    it('starts_the_next_stage_with_k_zero_and_w_max_cwnd_epoch', () => {
      const cc = new Cubic(MSS, 100 * MSS);
      cc.onRto(0, 100 * MSS);
      let now = 0;
      // Slow start to ssthresh; the ACKs after the crossing start congestion avoidance.
      while (cc.epochStart === undefined) now = roundTrip(cc, now, 100, 100);
      const epoch = cc.epochStart;
      expect(cc.k).toBe(0);
      expect(cc.wMax).toBe(cc.cwndEpoch);
      expect(cc.cwndEpoch).toBeGreaterThanOrEqual(70);
      expect(cc.cwndEpoch).toBeLessThan(71);
      expect(cc.windowAt(epoch)).toBeCloseTo(cc.cwndEpoch, 9);
      // Convex from the start: W = C * t^3 + cwnd_epoch (the Reno-friendly region, W_est from
      // cwnd_epoch at α_cubic per RTT, leads at first; the cubic curve overtakes it).
      const w0 = cc.cwndEpoch;
      for (let r = 0; r < 60; r++) now = roundTrip(cc, now, 100, 100);
      const t = (now - epoch) / 1000;
      expect(Math.abs(segs(cc) - (C * t ** 3 + w0))).toBeLessThan(5);
      expect(segs(cc)).toBeGreaterThan(cc.wEst);
    });
  });

  describe('slow start (RFC 9438 §4.10 → RFC 5681 §3.1)', () => {
    it('grows_by_min_acked_smss_per_ack_like_newreno', () => {
      const cc = new Cubic(MSS);
      cc.onAck(0, 500, undefined, 3500);
      expect(cc.cwnd).toBe(4500);
      cc.onAck(0, 3000, undefined, 1500);
      expect(cc.cwnd).toBe(5500); // min(N, SMSS)
      // The same as NewReno, ACK for ACK, until the first loss: the window doubles every round.
      const cubic = new Cubic(1460);
      const reno: CongestionControl = new NewReno(1460);
      let now = 0;
      for (let r = 0; r < 6; r++) {
        const n = Math.floor(cubic.cwnd / 1460);
        for (let i = 0; i < n; i++) {
          const inFlight = (n - i - 1) * 1460;
          cubic.onAck((now += 1), 1460, undefined, inFlight);
          reno.onAck(now, 1460, undefined, inFlight);
          expect(cubic.cwnd).toBe(reno.cwnd);
        }
      }
      expect(cubic.cwnd).toBe(4380 * 2 ** 6);
      expect(cubic.epochStart).toBeUndefined();
    });
  });

  describe('cwnd validation (RFC 9438 §4.6, §4.2, §5.8)', () => {
    it('does_not_grow_cwnd_while_the_sender_is_application_limited', () => {
      const cc = new Cubic(MSS, 10 * MSS);
      for (let i = 0; i < 50; i++) cc.onAck(i, MSS, undefined, 0); // one segment at a time
      expect(cc.cwnd).toBe(10 * MSS);
      const off = new Cubic(MSS, 10 * MSS, { cwndValidation: false });
      for (let i = 0; i < 5; i++) off.onAck(i, MSS, undefined, 0);
      expect(off.cwnd).toBe(15 * MSS);
    });

    it('stops_the_cubic_clock_while_application_limited_or_idle', () => {
      const cc = afterLoss(100, 0, { tcpFriendly: false });
      let now = roundTrip(cc, 0, 10, 10); // one window, acknowledged over 10 ms; SRTT 10 ms
      const epoch = cc.epochStart!;
      const w = cc.cwnd;
      // Two seconds of a trickle: an ACK every 10 ms with almost nothing in flight.
      for (let i = 0; i < 200; i++) cc.onAck((now += 10), 100, undefined, 0);
      expect(cc.cwnd).toBe(w);
      expect(cc.epochStart).toBeCloseTo(epoch + 2000, 9);
      // Then idle for a minute (nothing in flight), and a full window again: what exceeds one RTT
      // between the last ACK and the next is idle, and t resumes where it stopped.
      now += 60_000;
      const n = Math.floor(cc.cwnd / MSS);
      now = roundTrip(cc, now, 10);
      expect(cc.epochStart).toBeCloseTo(epoch + 2000 + (60_000 + 10 / n - 10), 6);
      expect(segs(cc) - w / MSS).toBeLessThan(0.5);
      // Without the RTT, only the application-limited ACKs stop the clock (an idle period cannot
      // be told from a window acknowledged in one batch).
      const blind = afterLoss(100, 0, { tcpFriendly: false });
      const t2 = roundTrip(blind, 0, 10);
      const e2 = blind.epochStart!;
      roundTrip(blind, t2 + 1000, 10); // a second's pause after a drained window
      expect(blind.epochStart).toBe(e2);
    });
  });

  it('is_deterministic', () => {
    // The same inputs give the same outputs: no clock, no randomness, no state shared between instances.
    const script = (cc: Cubic): number[] => {
      const out: number[] = [];
      const record = (): void => {
        out.push(cc.cwnd, cc.ssthresh);
      };
      let now = 0;
      for (let r = 0; r < 8; r++) {
        now = roundTrip(cc, now, 25, r % 3 === 0 ? 25 : undefined); // slow start, some RTT samples
        record();
      }
      cc.onFastRetransmit(now, cc.cwnd);
      for (let i = 0; i < 5; i++) {
        cc.onDupAckInRecovery(now);
        record();
      }
      cc.onPartialAck(now, 2 * 1460);
      cc.onRecoveryEnd((now += 25), cc.ssthresh);
      for (let r = 0; r < 200; r++) {
        now = roundTrip(cc, now, 25, 25);
        record();
      }
      cc.onRto(now, cc.cwnd);
      for (let r = 0; r < 100; r++) {
        now = roundTrip(cc, now, 25, 25);
        record();
      }
      out.push(cc.wMax, cc.k, cc.wEst, cc.cwndEpoch);
      return out;
    };
    const a = script(new Cubic(1460));
    script(new Cubic(1460, undefined, { fastConvergence: false })); // another instance in between
    const b = script(new Cubic(1460));
    expect(b).toEqual(a);
    expect(a.length).toBeGreaterThan(600);
  });
});
