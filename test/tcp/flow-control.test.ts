// ESTABLISHED, the sending side: segmentation by MSS, Nagle (RFC 9293 §3.7.4), the initial
// congestion window (RFC 5681 §3.1), the peer's window, sender SWS avoidance (RFC 9293 §3.8.6.2.1,
// RFC 1122 §4.2.3.4) and zero-window probing (RFC 9293 §3.8.6.1, RFC 1122 §4.2.2.17).

import { describe, expect, it } from 'vitest';
import { TCP_ACK, TCP_PSH, TCP_RST } from '../../src/wire/tcp.js';
import {
  bytes,
  establishedTcb,
  expectNothing,
  expectSent,
  PEER_ACK,
  PEER_SYN_ACK,
  RCV0,
  send,
  sentAll,
  SND0,
  synSentTcb,
} from './helpers.js';

describe('ESTABLISHED: Nagle', () => {
  it('holds_a_second_small_write_while_data_is_unacknowledged', () => {
    const { tcb, t } = establishedTcb();
    tcb.write(bytes(100));
    expectSent(tcb, t, { seq: SND0, ack: RCV0, flags: TCP_ACK | TCP_PSH, window: 65535, len: 100 });
    tcb.write(bytes(100, 100));
    // RFC 9293 §3.7.4: with data outstanding, a less-than-full segment waits for the ACK.
    expectNothing(tcb, t + 1);
    send(tcb, t + 100, { ...PEER_ACK, ack: SND0 + 100 });
    expectSent(tcb, t + 100, { seq: SND0 + 100, flags: TCP_ACK | TCP_PSH, len: 100, payload: bytes(100, 100) });
    expectNothing(tcb, t + 100);
  });

  it('coalesces_small_writes_made_while_waiting', () => {
    const { tcb, t } = establishedTcb();
    tcb.write(bytes(10));
    expectSent(tcb, t, { seq: SND0, len: 10 });
    tcb.write(bytes(20, 10));
    tcb.write(bytes(30, 30));
    expectNothing(tcb, t);
    send(tcb, t + 100, { ...PEER_ACK, ack: SND0 + 10 });
    expectSent(tcb, t + 100, { seq: SND0 + 10, len: 50, payload: bytes(50, 10) });
    expectNothing(tcb, t + 100);
  });

  it('sends_a_full_sized_segment_even_with_data_outstanding', () => {
    const { tcb, t } = establishedTcb();
    tcb.write(bytes(100));
    expectSent(tcb, t, { seq: SND0, len: 100 });
    tcb.write(bytes(1460 + 100));
    expectSent(tcb, t, { seq: SND0 + 100, len: 1460, flags: TCP_ACK });
    expectNothing(tcb, t); // the 100-octet tail waits
  });

  it('sends_small_writes_at_once_with_no_delay', () => {
    const { tcb, t } = establishedTcb();
    tcb.setNoDelay(true);
    tcb.write(bytes(100));
    expectSent(tcb, t, { seq: SND0, len: 100 });
    tcb.write(bytes(100));
    expectSent(tcb, t, { seq: SND0 + 100, len: 100, flags: TCP_ACK | TCP_PSH });
    expectNothing(tcb, t);
  });
});

describe('ESTABLISHED: segmentation and the congestion window', () => {
  it('cuts_a_large_write_into_mss_sized_segments_and_nagle_holds_the_tail', () => {
    const { tcb, t } = establishedTcb();
    tcb.write(bytes(4000));
    expectSent(tcb, t, { seq: SND0, len: 1460, flags: TCP_ACK, payload: bytes(1460) });
    expectSent(tcb, t, { seq: SND0 + 1460, len: 1460, flags: TCP_ACK, payload: bytes(1460, 1460) });
    expectNothing(tcb, t);
    send(tcb, t + 100, { ...PEER_ACK, ack: SND0 + 2920 });
    expectSent(tcb, t + 100, { seq: SND0 + 2920, len: 1080, flags: TCP_ACK | TCP_PSH, payload: bytes(1080, 2920) });
  });

  it('starts_with_the_rfc_5681_initial_window_after_a_passive_open', () => {
    const { tcb, t } = establishedTcb();
    // RFC 5681 §3.1 (RFC 3390): IW = min(4*SMSS, max(2*SMSS, 4380)) = 4380 for SMSS 1460. The ACK
    // of our SYN acknowledges no data and does not grow cwnd.
    expect(tcb.info().cwnd).toBe(4380);
    tcb.write(bytes(20000));
    const out = sentAll(tcb, t);
    expect(out.map((r) => r.payload?.length)).toEqual([1460, 1460, 1460]);
  });

  it('starts_with_the_rfc_5681_initial_window_after_an_active_open', () => {
    const { tcb } = synSentTcb();
    send(tcb, 100, PEER_SYN_ACK);
    expect(tcb.info().cwnd).toBe(4380);
  });

  it('scales_the_initial_window_with_the_mss', () => {
    // SMSS 1000: min(4000, max(2000, 4380)) = 4000 — four segments.
    const a = establishedTcb({ peerMss: 1000 });
    expect(a.tcb.info().cwnd).toBe(4000);
    a.tcb.write(bytes(20000));
    expect(sentAll(a.tcb, a.t).map((r) => r.payload?.length)).toEqual([1000, 1000, 1000, 1000]);
    // SMSS 536: min(2144, max(1072, 4380)) = 2144.
    const b = establishedTcb({ peerMss: null });
    expect(b.tcb.info().cwnd).toBe(2144);
  });

  it('grows_cwnd_by_one_smss_per_ack_in_slow_start', () => {
    const { tcb, t } = establishedTcb();
    tcb.write(bytes(20000));
    expect(sentAll(tcb, t)).toHaveLength(3);
    send(tcb, t + 100, { ...PEER_ACK, ack: SND0 + 1460 });
    // RFC 5681 §3.1 (3.2): cwnd += min(N, SMSS) → 5840, and 2920 of it is free.
    expect(tcb.info().cwnd).toBe(5840);
    const out = sentAll(tcb, t + 100);
    expect(out.map((r) => r.seq)).toEqual([SND0 + 4380, SND0 + 5840]);
  });
});

describe("ESTABLISHED: the peer's window", () => {
  it('sends_no_more_than_the_offered_window', () => {
    const { tcb, t } = establishedTcb({ peerWindow: 3000 });
    tcb.write(bytes(10000));
    expectSent(tcb, t, { seq: SND0, len: 1460 });
    expectSent(tcb, t, { seq: SND0 + 1460, len: 1460 });
    // 80 octets of window left: RFC 9293 §3.8.6.2.1 (sender SWS) holds such a sliver back.
    expectNothing(tcb, t);
    send(tcb, t + 100, { ...PEER_ACK, ack: SND0 + 1460, window: 3000 });
    expectSent(tcb, t + 100, { seq: SND0 + 2920, len: 1460 });
    expectNothing(tcb, t + 100);
  });

  it('sends_a_short_segment_when_it_is_half_the_largest_window_seen', () => {
    const { tcb, t } = establishedTcb({ peerWindow: 2000 });
    tcb.write(bytes(10000));
    expectSent(tcb, t, { seq: SND0, len: 1460 });
    // 540 < SMSS but not less than max(SND.WND)/2 = 1000? It is: held.
    expectNothing(tcb, t);
    send(tcb, t + 100, { ...PEER_ACK, ack: SND0 + 1460, window: 2000 });
    // 2000 usable: one full segment, then 540 < 1000 held.
    expectSent(tcb, t + 100, { seq: SND0 + 1460, len: 1460 });
    expectNothing(tcb, t + 100);
    send(tcb, t + 200, { ...PEER_ACK, ack: SND0 + 2920, window: 1200 });
    // 1200 >= 2000/2: RFC 9293 §3.8.6.2.1 allows a segment of at least Fs * max(SND.WND).
    expectSent(tcb, t + 200, { seq: SND0 + 2920, len: 1200 });
  });

  it('sends_what_a_small_window_allows_when_the_override_timer_expires', () => {
    const { tcb, t } = establishedTcb({ peerWindow: 4000 });
    tcb.write(bytes(10000));
    expect(sentAll(tcb, t).map((r) => r.payload?.length)).toEqual([1460, 1460]);
    // Everything acknowledged, the receiver offers 500 octets and nothing is in flight: the sender
    // SWS rule holds them back (500 < SMSS, < 4000/2), but RFC 1122 §4.2.3.4 requires an override
    // timeout, or a receiver stuck at a small window would wait forever.
    send(tcb, t + 100, { ...PEER_ACK, ack: SND0 + 2920, window: 500 });
    expectNothing(tcb, t + 100);
    const at = tcb.pollTimeout();
    expect(at).toBe(t + 100 + tcb.info().rtoMs);
    tcb.handleTimeout(at!);
    expectSent(tcb, at!, { seq: SND0 + 2920, ack: RCV0, flags: TCP_ACK, len: 500 });
    expectNothing(tcb, at!);
  });

  it('probes_a_zero_window_with_exponential_backoff', () => {
    const { tcb, t } = establishedTcb({ peerWindow: 2920 });
    tcb.write(bytes(5000));
    expect(sentAll(tcb, t).map((r) => r.payload?.length)).toEqual([1460, 1460]);
    const t1 = t + 100;
    send(tcb, t1, { ...PEER_ACK, ack: SND0 + 2920, window: 0 });
    expectNothing(tcb, t1);
    // RFC 9293 §3.8.6.1: the persist timer; RFC 1122 §4.2.2.17: back off exponentially.
    const rto = tcb.info().rtoMs;
    let at = t1 + rto;
    for (const step of [2, 4, 8]) {
      expect(tcb.pollTimeout()).toBe(at);
      tcb.handleTimeout(at);
      // The deliberate deviation documented in tcb.ts: <SEQ=SND.UNA-1>, no data (Linux's probe).
      expectSent(tcb, at, { seq: SND0 + 2920 - 1, ack: RCV0, flags: TCP_ACK, len: 0 });
      expectNothing(tcb, at);
      // The peer answers each probe with its (still zero) window.
      send(tcb, at + 1, { ...PEER_ACK, ack: SND0 + 2920, window: 0 });
      expectNothing(tcb, at + 1);
      at += step * rto;
    }
    expect(tcb.pollTimeout()).toBe(at);
    expect(tcb.state).toBe('ESTABLISHED');
  });

  it('gives_up_when_zero_window_probes_go_unanswered', () => {
    const { tcb, t } = establishedTcb({ peerWindow: 2920, opts: { maxRetransmits: 3 } });
    tcb.write(bytes(5000));
    sentAll(tcb, t);
    send(tcb, t + 100, { ...PEER_ACK, ack: SND0 + 2920, window: 0 });
    for (let i = 0; i < 3; i++) {
      const at = tcb.pollTimeout()!;
      tcb.handleTimeout(at);
      expectSent(tcb, at, { seq: SND0 + 2919, len: 0 });
    }
    // A peer that answers none of them is gone (Linux: tcp_retries2 unanswered probes).
    const at = tcb.pollTimeout()!;
    tcb.handleTimeout(at);
    expect(tcb.state).toBe('CLOSED');
    expectSent(tcb, at, { seq: SND0 + 2920, flags: TCP_RST | TCP_ACK });
  });

  it('probes_instead_of_retransmitting_when_the_window_closes_with_data_in_flight', () => {
    const { tcb, t } = establishedTcb({ opts: { maxRetransmits: 3 } });
    tcb.write(bytes(2920));
    expect(sentAll(tcb, t)).toHaveLength(2);
    // The peer takes the first segment, drops the second, and closes its window.
    send(tcb, t + 100, { ...PEER_ACK, ack: SND0 + 1460, window: 0 });
    // RFC 9293 §3.8.6.1: with the window closed, the expiry probes it (nothing may be resent), and
    // RFC 1122 §4.2.2.17: while the peer answers, the connection MUST stay open — well past
    // maxRetransmits expiries.
    for (let i = 0; i < 6; i++) {
      const at = tcb.pollTimeout()!;
      tcb.handleTimeout(at);
      expectSent(tcb, at, { seq: SND0 + 1460 - 1, ack: RCV0, flags: TCP_ACK, len: 0 });
      expectNothing(tcb, at);
      send(tcb, at + 1, { ...PEER_ACK, ack: SND0 + 1460, window: 0 });
    }
    expect(tcb.state).toBe('ESTABLISHED');
    // The window opens: the dropped segment goes again.
    const t2 = tcb.pollTimeout()! - 1;
    send(tcb, t2, { ...PEER_ACK, ack: SND0 + 1460, window: 65535 });
    expectSent(tcb, t2, { seq: SND0 + 1460, len: 1460 });
  });

  it('resumes_sending_when_the_window_opens', () => {
    const { tcb, t } = establishedTcb({ peerWindow: 2920 });
    tcb.write(bytes(5000));
    sentAll(tcb, t);
    send(tcb, t + 100, { ...PEER_ACK, ack: SND0 + 2920, window: 0 });
    const at = tcb.pollTimeout()!;
    tcb.handleTimeout(at);
    expectSent(tcb, at, { seq: SND0 + 2919, len: 0 });
    // A window update (same SEQ and ACK, larger window: RFC 9293 §3.10.7.4 updates SND.WND).
    send(tcb, at + 10, { ...PEER_ACK, ack: SND0 + 2920, window: 65535 });
    expectSent(tcb, at + 10, { seq: SND0 + 2920, ack: RCV0, flags: TCP_ACK, len: 1460 });
    expectNothing(tcb, at + 10); // the 620-octet tail: Nagle
    expect(tcb.pollTimeout()).toBe(at + 10 + tcb.info().rtoMs); // the retransmission timer, no probe
  });

  it('ignores_an_old_window_update', () => {
    const { tcb, t } = establishedTcb({ peerWindow: 2920 });
    tcb.write(bytes(5000));
    sentAll(tcb, t);
    send(tcb, t + 100, { ...PEER_ACK, seq: RCV0 + 10, payload: 0, ack: SND0 + 2920, window: 0 });
    // An older segment (SEG.SEQ < SND.WL1) must not reopen the window (RFC 9293 §3.10.7.4 fifth).
    send(tcb, t + 101, { ...PEER_ACK, ack: SND0 + 2920, window: 65535 });
    expect(tcb.info().sndWnd).toBe(0);
    expectNothing(tcb, t + 101);
  });
});
