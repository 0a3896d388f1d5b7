// RFC 6298: SRTT/RTTVAR smoothing, RTO bounds, exponential backoff, §5.7.

import { describe, expect, it } from 'vitest';
import { RttEstimator } from '../../src/tcp/rtt.js';

describe('RttEstimator', () => {
  it('starts_at_one_second_before_any_sample', () => {
    // RFC 6298 §2.1: "Until a round-trip time (RTT) measurement has been made ... RTO <- 1 second".
    const r = new RttEstimator();
    expect(r.rto).toBe(1000);
    expect(r.srtt).toBeUndefined();
  });

  it('takes_the_first_sample_per_rfc_6298_2_2', () => {
    const r = new RttEstimator();
    r.sample(500);
    // SRTT <- R, RTTVAR <- R/2, RTO <- SRTT + max(G, K*RTTVAR) = 500 + 1000.
    expect(r.srtt).toBe(500);
    expect(r.rttvar).toBe(250);
    expect(r.rto).toBe(1500);
  });

  it('smooths_later_samples_per_rfc_6298_2_3', () => {
    const r = new RttEstimator();
    r.sample(500);
    r.sample(100);
    // RTTVAR <- 3/4*250 + 1/4*|500 - 100| = 287.5 (with the old SRTT); SRTT <- 7/8*500 + 1/8*100 = 450.
    expect(r.rttvar).toBe(287.5);
    expect(r.srtt).toBe(450);
    expect(r.rto).toBe(450 + 4 * 287.5);
  });

  it('uses_the_clock_granularity_when_the_variance_vanishes', () => {
    const r = new RttEstimator({ minRtoMs: 0 });
    r.sample(0);
    expect(r.rto).toBe(1); // SRTT 0 + max(G = 1 ms, 0)
    for (let i = 0; i < 50; i++) r.sample(300);
    expect(r.rto).toBeGreaterThanOrEqual(r.srtt! + 1);
  });

  it('applies_the_minimum_and_maximum', () => {
    const lo = new RttEstimator({ minRtoMs: 200 });
    lo.sample(10);
    expect(lo.rto).toBe(200);
    const hi = new RttEstimator({ maxRtoMs: 60_000 });
    hi.sample(50_000);
    expect(hi.rto).toBe(60_000);
  });

  it('doubles_on_each_backoff_up_to_the_maximum', () => {
    const r = new RttEstimator({ maxRtoMs: 5000 });
    const seen: number[] = [];
    for (let i = 0; i < 5; i++) {
      r.backoff();
      seen.push(r.rto);
    }
    // RFC 6298 §5.5: RTO <- RTO * 2, bounded by the maximum (§2.5).
    expect(seen).toEqual([2000, 4000, 5000, 5000, 5000]);
  });

  it('collapses_the_backoff_on_a_new_sample', () => {
    const r = new RttEstimator();
    r.sample(100);
    r.backoff();
    r.backoff();
    expect(r.rto).toBe(1200);
    r.sample(100);
    // RFC 6298 §5: a new measurement recomputes RTO, "collapsing" the backoff.
    expect(r.backoffCount).toBe(0);
    expect(r.rto).toBe(250);
  });

  it('reinitializes_to_three_seconds_after_a_syn_timeout', () => {
    const r = new RttEstimator();
    r.backoff();
    r.reinitializeAfterSynTimeout();
    // RFC 6298 §5.7.
    expect(r.rto).toBe(3000);
    const measured = new RttEstimator();
    measured.sample(100);
    measured.reinitializeAfterSynTimeout();
    expect(measured.rto).toBe(300);
  });
});
