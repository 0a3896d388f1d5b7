// Retransmission (RFC 6298: RTO, backoff, Karn; RFC 9293 §3.8.3 and RFC 5482: giving up) and loss
// recovery (RFC 5681 §3.2 fast retransmit / fast recovery, RFC 6582 NewReno partial ACKs).

import { describe, expect, it } from 'vitest';
import { TCP_ACK, TCP_PSH, TCP_RST } from '../../src/wire/tcp.js';
import type { Tcb } from '../../src/tcp/tcb.js';
import {
  bytes,
  establishedTcb,
  eventNames,
  expectNothing,
  expectSent,
  newTcb,
  PEER_ACK,
  PEER_SYN,
  RCV0,
  s,
  seg,
  send,
  sentAll,
  SND0,
  synReceivedTcb,
} from './helpers.js';

describe('ESTABLISHED: the retransmission timer', () => {
  it('retransmits_after_rto_with_backoff', () => {
    const { tcb, t } = establishedTcb();
    // The handshake's sample R = 100 ms: SRTT = 100, RTTVAR = 50, RTO = SRTT + 4*RTTVAR = 300 (RFC 6298 §2.2).
    expect(tcb.info().rtoMs).toBe(300);
    tcb.write(bytes(100));
    expectSent(tcb, t, { seq: SND0, len: 100, flags: TCP_ACK | TCP_PSH });
    // RFC 6298 §5.4–5.6: retransmit the earliest unacknowledged segment, RTO *= 2, restart.
    let at = t + 300;
    for (const rto of [600, 1200, 2400]) {
      expect(tcb.pollTimeout()).toBe(at);
      tcb.handleTimeout(at);
      expectSent(tcb, at, { seq: SND0, ack: RCV0, len: 100, flags: TCP_ACK | TCP_PSH, payload: bytes(100) });
      expectNothing(tcb, at);
      expect(tcb.info().rtoMs).toBe(rto);
      at += rto;
    }
    expect(tcb.info().retransmits).toBe(3);
  });

  it('retransmits_only_the_first_unacknowledged_segment_and_then_slow_starts', () => {
    const { tcb, t } = establishedTcb();
    tcb.write(bytes(4380));
    expect(sentAll(tcb, t)).toHaveLength(3);
    tcb.handleTimeout(t + 300);
    // RFC 5681 §3.1: after a timeout cwnd = 1 SMSS (loss window), ssthresh = max(FlightSize/2, 2*SMSS).
    expectSent(tcb, t + 300, { seq: SND0, len: 1460, payload: bytes(1460) });
    expectNothing(tcb, t + 300);
    expect(tcb.info()).toMatchObject({ cwnd: 1460, ssthresh: 2920 });
    send(tcb, t + 400, { ...PEER_ACK, ack: SND0 + 1460 });
    // cwnd 2920: the other two go again.
    expect(sentAll(tcb, t + 400).map((r) => [r.seq, r.payload?.length])).toEqual([
      [SND0 + 1460, 1460],
      [SND0 + 2920, 1460],
    ]);
  });

  it('stops_the_timer_when_everything_is_acknowledged', () => {
    const { tcb, t } = establishedTcb();
    tcb.write(bytes(100));
    sentAll(tcb, t);
    expect(tcb.pollTimeout()).toBe(t + 300);
    send(tcb, t + 100, { ...PEER_ACK, ack: SND0 + 100 });
    expect(tcb.pollTimeout()).toBeUndefined(); // RFC 6298 §5.2
  });

  it('restarts_the_timer_on_an_ack_for_new_data', () => {
    const { tcb, t } = establishedTcb();
    tcb.setNoDelay(true);
    tcb.write(bytes(100));
    expectSent(tcb, t, { seq: SND0, len: 100 });
    tcb.write(bytes(100));
    expectSent(tcb, t, { seq: SND0 + 100, len: 100 });
    send(tcb, t + 100, { ...PEER_ACK, ack: SND0 + 100 });
    // RFC 6298 §5.3: restart so that it expires after RTO (recomputed from the new sample: 250).
    expect(tcb.info().rtoMs).toBe(250);
    expect(tcb.pollTimeout()).toBe(t + 100 + 250);
  });

  it('takes_no_rtt_sample_from_a_retransmitted_segment', () => {
    const { tcb, t } = establishedTcb();
    tcb.write(bytes(100));
    sentAll(tcb, t);
    tcb.handleTimeout(t + 300);
    sentAll(tcb, t + 300);
    send(tcb, t + 350, { ...PEER_ACK, ack: SND0 + 100 });
    // Karn (RFC 6298 §3): the ACK may be for either transmission; SRTT stays at 100.
    expect(tcb.info().srttMs).toBe(100);
  });

  it('keeps_the_backed_off_rto_until_a_new_sample', () => {
    const { tcb, t } = establishedTcb();
    tcb.write(bytes(100));
    sentAll(tcb, t);
    tcb.handleTimeout(t + 300);
    sentAll(tcb, t + 300);
    send(tcb, t + 350, { ...PEER_ACK, ack: SND0 + 100 });
    // RFC 6298 §5 (Karn's algorithm): the backed-off RTO stays for the next segment; only a new
    // measurement "collapses" it.
    expect(tcb.info().rtoMs).toBe(600);
    tcb.write(bytes(100));
    expectSent(tcb, t + 400, { seq: SND0 + 100, len: 100 });
    expect(tcb.pollTimeout()).toBe(t + 400 + 600);
    send(tcb, t + 500, { ...PEER_ACK, ack: SND0 + 200 });
    // Sample 100: RTTVAR = 3/4*50 + 1/4*0 = 37.5, SRTT = 100, RTO = 100 + 150.
    expect(tcb.info().rtoMs).toBe(250);
  });

  it('computes_the_rto_from_samples_per_rfc_6298', () => {
    const { tcb, t } = establishedTcb();
    tcb.write(bytes(100));
    sentAll(tcb, t);
    send(tcb, t + 300, { ...PEER_ACK, ack: SND0 + 100 });
    // R' = 300: RTTVAR = 3/4*50 + 1/4*|100-300| = 87.5; SRTT = 7/8*100 + 1/8*300 = 125;
    // RTO = 125 + 4*87.5 = 475 (RFC 6298 §2.3).
    expect(tcb.info().srttMs).toBe(125);
    expect(tcb.info().rtoMs).toBe(475);
  });

  it('never_goes_below_min_rto', () => {
    const { tcb } = synReceivedTcb();
    send(tcb, 10, PEER_ACK);
    // R = 10: 10 + 4*5 = 30 → raised to the 200 ms floor (minRtoMs; RFC 6298 §2.4 says 1 s —
    // the documented Linux-like deviation).
    expect(tcb.info().rtoMs).toBe(200);
    const b = synReceivedTcb({ minRtoMs: 50 }).tcb;
    send(b, 10, PEER_ACK);
    expect(b.info().rtoMs).toBe(50);
  });

  it('gives_up_after_max_retransmits_with_etimedout_and_a_rst', () => {
    const { tcb, t } = establishedTcb({ opts: { maxRetransmits: 3 } });
    tcb.write(bytes(100));
    sentAll(tcb, t);
    let at = t + 300;
    for (const rto of [600, 1200, 2400]) {
      tcb.handleTimeout(at);
      expectSent(tcb, at, { seq: SND0, len: 100 });
      at += rto;
    }
    eventNames(tcb);
    expect(tcb.pollTimeout()).toBe(at);
    tcb.handleTimeout(at);
    // RFC 9293 §3.8.3 (R2): close the connection; tell the peer with a RST <SEQ=SND.NXT>.
    expectSent(tcb, at, { seq: SND0 + 100, flags: TCP_RST | TCP_ACK, len: 0 });
    expectNothing(tcb, at);
    expect(tcb.state).toBe('CLOSED');
    expect(eventNames(tcb)).toEqual(['error:ETIMEDOUT', 'ESTABLISHED→CLOSED', 'closed']);
    expect(tcb.pollTimeout()).toBeUndefined();
  });

  it('counts_retransmissions_afresh_after_progress', () => {
    const { tcb, t } = establishedTcb({ opts: { maxRetransmits: 2 } });
    tcb.setNoDelay(true);
    tcb.write(bytes(100));
    expectSent(tcb, t, { seq: SND0, len: 100 });
    tcb.write(bytes(100));
    expectSent(tcb, t, { seq: SND0 + 100, len: 100 });
    tcb.handleTimeout(t + 300);
    tcb.handleTimeout(t + 900);
    sentAll(tcb, t + 900);
    send(tcb, t + 1000, { ...PEER_ACK, ack: SND0 + 100 });
    // The retransmission count restarted; two more expiries are allowed.
    const t1 = tcb.pollTimeout()!;
    tcb.handleTimeout(t1);
    const t2 = tcb.pollTimeout()!;
    tcb.handleTimeout(t2);
    expect(tcb.state).toBe('ESTABLISHED');
  });

  it('gives_up_when_data_stays_unacknowledged_for_the_user_timeout', () => {
    const { tcb, t } = establishedTcb({ opts: { userTimeoutMs: 2000 } });
    tcb.write(bytes(100));
    sentAll(tcb, t);
    tcb.handleTimeout(t + 300);
    expectSent(tcb, t + 300, { seq: SND0, len: 100 });
    tcb.handleTimeout(t + 900);
    expectSent(tcb, t + 900, { seq: SND0, len: 100 });
    // RFC 9293 §3.8.5 / RFC 5482: the data went out at t; at t + 2000 it has been unacknowledged
    // for the user timeout, and the connection is aborted then (not one backed-off RTO later).
    expect(tcb.pollTimeout()).toBe(t + 2000);
    eventNames(tcb);
    tcb.handleTimeout(t + 2000);
    expect(tcb.state).toBe('CLOSED');
    expect(eventNames(tcb)).toEqual(['error:ETIMEDOUT', 'ESTABLISHED→CLOSED', 'closed']);
    expectSent(tcb, t + 2000, { seq: SND0 + 100, flags: TCP_RST | TCP_ACK });
  });

  it('measures_the_user_timeout_from_the_last_progress', () => {
    const { tcb, t } = establishedTcb({ opts: { userTimeoutMs: 2000 } });
    tcb.setNoDelay(true);
    tcb.write(bytes(100));
    expectSent(tcb, t, { seq: SND0, len: 100 });
    tcb.write(bytes(100));
    expectSent(tcb, t, { seq: SND0 + 100, len: 100 });
    tcb.handleTimeout(t + 300);
    sentAll(tcb, t + 300);
    send(tcb, t + 1500, { ...PEER_ACK, ack: SND0 + 100 });
    // Progress at t+1500: the second segment may stay unacknowledged until t+3500.
    for (let at = tcb.pollTimeout()!; at < t + 3500; at = tcb.pollTimeout()!) {
      tcb.handleTimeout(at);
      expect(tcb.state).toBe('ESTABLISHED');
    }
    expect(tcb.pollTimeout()).toBe(t + 3500);
    tcb.handleTimeout(t + 3500);
    expect(tcb.state).toBe('CLOSED');
  });
});

/** ESTABLISHED with SMSS 1000 and cwnd 8000: 8 segments of 1000 in flight from SND0+4000. */
function eightInFlight(): { tcb: Tcb; t: number; base: number } {
  const { tcb, t } = establishedTcb({ peerMss: 1000 });
  tcb.write(bytes(100_000));
  expect(sentAll(tcb, t)).toHaveLength(4);
  let out = 0;
  for (let i = 1; i <= 4; i++) {
    send(tcb, t + 100, { ...PEER_ACK, ack: SND0 + i * 1000 });
    out += sentAll(tcb, t + 100).length;
  }
  expect(out).toBe(8);
  expect(tcb.info().cwnd).toBe(8000);
  return { tcb, t: t + 100, base: SND0 + 4000 };
}

describe('ESTABLISHED: fast retransmit and NewReno', () => {
  it('fast_retransmits_on_the_third_duplicate_ack_not_the_second', () => {
    const { tcb, t } = establishedTcb({ peerMss: 1000 });
    tcb.write(bytes(20_000));
    expect(sentAll(tcb, t)).toHaveLength(4); // IW 4000
    const dup = { ...PEER_ACK, ack: SND0 };
    send(tcb, t + 100, dup);
    send(tcb, t + 101, dup);
    expectNothing(tcb, t + 101);
    send(tcb, t + 102, dup);
    // RFC 5681 §3.2 (2)–(4): retransmit the lost segment; ssthresh = max(FlightSize/2, 2*SMSS) = 2000;
    // cwnd = ssthresh + 3*SMSS = 5000, which leaves room for one new segment.
    expectSent(tcb, t + 102, { seq: SND0, ack: RCV0, len: 1000, payload: bytes(1000) });
    expectSent(tcb, t + 102, { seq: SND0 + 4000, len: 1000 });
    expectNothing(tcb, t + 102);
    expect(tcb.info()).toMatchObject({ ssthresh: 2000, cwnd: 5000, retransmits: 1 });
  });

  it('does_not_count_acks_that_carry_data_or_change_the_window_as_duplicates', () => {
    const { tcb, t } = establishedTcb({ peerMss: 1000 });
    tcb.write(bytes(20_000));
    sentAll(tcb, t);
    // RFC 5681 §2 (DUPLICATE ACKNOWLEDGMENT): no data, same window.
    send(tcb, t + 100, { ...PEER_ACK, ack: SND0, payload: 10 });
    send(tcb, t + 100, { ...PEER_ACK, seq: RCV0 + 10, ack: SND0, window: 60000 });
    send(tcb, t + 100, { ...PEER_ACK, seq: RCV0 + 10, ack: SND0, window: 60000 });
    const out = sentAll(tcb, t + 100);
    expect(out.some((r) => r.seq === SND0 && (r.payload?.length ?? 0) > 0)).toBe(false);
  });

  it('retransmits_the_next_hole_on_a_partial_ack_and_ends_recovery_on_a_full_ack', () => {
    const { tcb, t, base } = eightInFlight();
    // Segments at base+0 and base+3000 are lost; six duplicate ACKs arrive.
    const dup = { ...PEER_ACK, ack: base };
    send(tcb, t + 100, dup);
    send(tcb, t + 100, dup);
    expectNothing(tcb, t + 100);
    send(tcb, t + 100, dup);
    expectSent(tcb, t + 100, { seq: base, len: 1000 });
    expectNothing(tcb, t + 100); // cwnd 7000 < 8000 in flight
    expect(tcb.info()).toMatchObject({ ssthresh: 4000, cwnd: 7000 });
    // RFC 5681 §3.2 (5): each further duplicate inflates cwnd by SMSS; new data once it allows.
    send(tcb, t + 101, dup);
    expectNothing(tcb, t + 101);
    send(tcb, t + 102, dup);
    expectSent(tcb, t + 102, { seq: base + 8000, len: 1000 });
    send(tcb, t + 103, dup);
    expectSent(tcb, t + 103, { seq: base + 9000, len: 1000 });
    expect(tcb.info().cwnd).toBe(10_000);
    // The retransmission arrives: ACK up to the second hole — a partial ACK (below recover = base+8000).
    send(tcb, t + 200, { ...PEER_ACK, ack: base + 3000 });
    // RFC 6582 §3.2 (5): retransmit the first unacknowledged segment; deflate cwnd by the amount
    // acknowledged and add back one SMSS: 10000 - 3000 + 1000 = 8000.
    expectSent(tcb, t + 200, { seq: base + 3000, len: 1000, payload: bytes(1000, (base + 3000 - SND0) & 0xff) });
    expect(tcb.info().cwnd).toBe(8000);
    expect(sentAll(tcb, t + 200).map((r) => r.seq)).toEqual([base + 10_000]);
    // The full ACK (covers recover): RFC 6582 §3.2 (6) option 1: cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS).
    send(tcb, t + 300, { ...PEER_ACK, ack: base + 8000 });
    // FlightSize after the ACK: base+8000..base+11000 = 3000 → cwnd = min(4000, 4000).
    expect(tcb.info()).toMatchObject({ ssthresh: 4000, cwnd: 4000 });
    // Out of recovery: ordinary ACKs grow cwnd again (congestion avoidance: cwnd >= ssthresh).
    send(tcb, t + 400, { ...PEER_ACK, ack: base + 11_000 });
    expect(tcb.info().ssthresh).toBe(4000);
  });

  it('does_not_enter_recovery_twice_for_losses_from_one_window', () => {
    const { tcb, t, base } = eightInFlight();
    const dup = { ...PEER_ACK, ack: base };
    for (let i = 0; i < 3; i++) send(tcb, t + 100, dup);
    sentAll(tcb, t + 100);
    send(tcb, t + 200, { ...PEER_ACK, ack: base + 3000 });
    sentAll(tcb, t + 200);
    const { ssthresh } = tcb.info();
    // More duplicates for the second hole while still recovering: no second halving.
    for (let i = 0; i < 3; i++) send(tcb, t + 210, { ...PEER_ACK, ack: base + 3000 });
    expect(tcb.info().ssthresh).toBe(ssthresh);
  });

  it('fast_retransmits_again_for_a_new_loss_right_after_a_full_recovery', () => {
    const { tcb, t } = establishedTcb({ peerMss: 1000 });
    tcb.write(bytes(20_000));
    sentAll(tcb, t); // 0..4000
    const dup = { ...PEER_ACK, ack: SND0 };
    for (let i = 0; i < 3; i++) send(tcb, t + 100, dup);
    // Fast retransmit of SND0, and one new segment (4000..5000); recover = SND0+4000.
    expect(sentAll(tcb, t + 100).map((r) => r.seq)).toEqual([SND0, SND0 + 4000]);
    // Full ACK exactly up to recover: recovery ends; cwnd = min(2000, 1000 + 1000): one more segment.
    send(tcb, t + 200, { ...PEER_ACK, ack: SND0 + 4000 });
    expect(sentAll(tcb, t + 200).map((r) => r.seq)).toEqual([SND0 + 5000]);
    // The segment at SND0+4000 is lost too: three duplicates of ACK = SND0+4000. RFC 6582 §3.2 (2):
    // the cumulative ACK covers more than recover (the highest sequence number sent before,
    // SND0+3999): a new fast retransmit.
    for (let i = 0; i < 3; i++) send(tcb, t + 300, { ...PEER_ACK, ack: SND0 + 4000 });
    expectSent(tcb, t + 300, { seq: SND0 + 4000, len: 1000 });
  });

  it('does_not_fast_retransmit_for_duplicates_of_data_sent_before_a_timeout', () => {
    const { tcb, t } = establishedTcb({ peerMss: 1000 });
    tcb.write(bytes(20_000));
    sentAll(tcb, t); // 0..4000
    tcb.handleTimeout(t + 300);
    expectSent(tcb, t + 300, { seq: SND0 });
    // RFC 6582 §4: after a timeout recover = SND0+4000; duplicate ACKs below it are old news.
    for (let i = 0; i < 3; i++) send(tcb, t + 310, { ...PEER_ACK, ack: SND0 });
    expectNothing(tcb, t + 310);
    expect(tcb.info().retransmits).toBe(1);
  });

  it('handles_snd_nxt_wrapping_through_zero', () => {
    // Our ISS just below 2^32: the data's sequence numbers wrap through 0 (RFC 9293 §3.4, mod 2^32).
    const iss = 0xffff_ff00;
    const tcb = newTcb(true);
    tcb.openPassive(0, iss, seg(PEER_SYN));
    sentAll(tcb, 0);
    send(tcb, 100, { ...PEER_ACK, ack: s(iss + 1) });
    expect(tcb.state).toBe('ESTABLISHED');
    tcb.write(bytes(1000));
    expectSent(tcb, 100, { seq: s(iss + 1), len: 1000 });
    send(tcb, 200, { ...PEER_ACK, ack: s(iss + 1001) });
    expect(tcb.info().sendQueue).toBe(0);
    expect(tcb.pollTimeout()).toBeUndefined();
  });
});
