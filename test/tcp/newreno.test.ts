// NewReno: RFC 5681 §3.1 (IW, slow start, congestion avoidance, timeout), §3.2 (fast
// retransmit/recovery) and RFC 6582 §3.2 (partial and full ACKs).

import { describe, expect, it } from 'vitest';
import type { CongestionControl } from '../../src/tcp/cc/congestion.js';
import { NewReno } from '../../src/tcp/cc/newreno.js';

/** Through the interface the TCB uses. */
const newReno = (mss: number): CongestionControl => new NewReno(mss);

describe('NewReno', () => {
  it('starts_with_the_rfc_5681_initial_window', () => {
    // IW = min(4*SMSS, max(2*SMSS, 4380)).
    expect(new NewReno(1460).cwnd).toBe(4380);
    expect(new NewReno(1000).cwnd).toBe(4000);
    expect(new NewReno(536).cwnd).toBe(2144);
    expect(new NewReno(2190).cwnd).toBe(4380);
    expect(new NewReno(4000).cwnd).toBe(8000);
    expect(new NewReno(1460).ssthresh).toBeGreaterThan(1e9); // "arbitrarily high"
  });

  it('grows_by_at_most_one_smss_per_ack_in_slow_start', () => {
    const c = newReno(1000);
    c.onAck(0, 500, undefined, 0);
    expect(c.cwnd).toBe(4500);
    c.onAck(0, 3000, undefined, 0);
    expect(c.cwnd).toBe(5500); // min(N, SMSS)
  });

  it('grows_by_one_smss_per_window_in_congestion_avoidance', () => {
    const c = newReno(1000);
    c.onRto(0, 20_000); // ssthresh 10000, cwnd 1000
    while (c.cwnd < c.ssthresh) c.onAck(0, 1000, undefined, 0);
    expect(c.cwnd).toBe(10_000);
    for (let i = 0; i < 9; i++) c.onAck(0, 1000, undefined, 0);
    expect(c.cwnd).toBe(10_000);
    c.onAck(0, 1000, undefined, 0); // a full cwnd's worth acknowledged
    expect(c.cwnd).toBe(11_000);
  });

  it('halves_on_fast_retransmit_and_inflates_per_duplicate', () => {
    const c = newReno(1000);
    c.onFastRetransmit(0, 10_000);
    // ssthresh = max(FlightSize/2, 2*SMSS); cwnd = ssthresh + 3*SMSS.
    expect(c.ssthresh).toBe(5000);
    expect(c.cwnd).toBe(8000);
    c.onDupAckInRecovery(0);
    expect(c.cwnd).toBe(9000);
    const small = newReno(1000);
    small.onFastRetransmit(0, 3000);
    expect(small.ssthresh).toBe(2000);
  });

  it('deflates_on_a_partial_ack', () => {
    const c = newReno(1000);
    c.onFastRetransmit(0, 10_000); // cwnd 8000
    c.onPartialAck(0, 3000);
    // RFC 6582 §3.2 (5): deflate by the amount acked, add back SMSS if that was >= SMSS.
    expect(c.cwnd).toBe(6000);
    c.onPartialAck(0, 500);
    expect(c.cwnd).toBe(5500);
  });

  it('sets_cwnd_from_the_flight_at_the_full_ack', () => {
    const c = newReno(1000);
    c.onFastRetransmit(0, 10_000);
    c.onRecoveryEnd(0, 0);
    // RFC 6582 §3.2 (6) option 1: min(ssthresh, max(FlightSize, SMSS) + SMSS).
    expect(c.cwnd).toBe(2000);
    const d = newReno(1000);
    d.onFastRetransmit(0, 10_000);
    d.onRecoveryEnd(0, 8000);
    expect(d.cwnd).toBe(5000);
  });

  it('drops_to_one_segment_after_a_timeout', () => {
    const c = newReno(1460);
    c.onRto(0, 8760);
    // RFC 5681 §3.1 (4): ssthresh = max(FlightSize/2, 2*SMSS); cwnd = LW = 1 SMSS.
    expect(c.ssthresh).toBe(4380);
    expect(c.cwnd).toBe(1460);
  });
});
