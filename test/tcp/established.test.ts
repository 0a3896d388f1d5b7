// ESTABLISHED, the receiving side (RFC 9293 §3.10.7.4 first and seventh steps, RFC 5681 §4.2 ACK
// generation, RFC 9293 §3.8.6.2.2 receiver SWS avoidance): delivery, reassembly, trimming, windows.

import { describe, expect, it } from 'vitest';
import { TCP_ACK, TCP_PSH } from '../../src/wire/tcp.js';
import {
  bytes,
  establishedTcb,
  eventNames,
  expectNothing,
  expectSent,
  PEER_ACK,
  RCV0,
  readAll,
  send,
  SND0,
} from './helpers.js';

describe('ESTABLISHED: receiving data', () => {
  it('delivers_in_order_data_and_acks_it_after_the_delayed_ack_timer', () => {
    const { tcb, t } = establishedTcb();
    send(tcb, t, { ...PEER_ACK, payload: 100 });
    expect(eventNames(tcb)).toEqual(['readable']);
    expect(readAll(tcb)).toEqual(bytes(100));
    // RFC 1122 §4.2.3.2 / RFC 5681 §4.2: the ACK may be delayed (40 ms here, < 500 ms).
    expectNothing(tcb, t);
    expect(tcb.pollTimeout()).toBe(t + 40);
    tcb.handleTimeout(t + 40);
    // The window: 65535 - 100, as reading 100 octets does not move the right edge (receiver SWS).
    expectSent(tcb, t + 40, { seq: SND0, ack: RCV0 + 100, flags: TCP_ACK, window: 65435, len: 0 });
    expectNothing(tcb, t + 40);
    expect(tcb.pollTimeout()).toBeUndefined();
  });

  it('acks_at_once_on_the_second_segment', () => {
    const { tcb, t } = establishedTcb();
    send(tcb, t, { ...PEER_ACK, payload: 1460 });
    expectNothing(tcb, t);
    send(tcb, t + 1, { ...PEER_ACK, seq: RCV0 + 1460, payload: 1460 });
    // RFC 5681 §4.2: "an ACK SHOULD be generated for at least every second full-sized segment".
    // Unread data narrows the window: 65535 - 2920.
    expectSent(tcb, t + 1, { seq: SND0, ack: RCV0 + 2920, flags: TCP_ACK, window: 65535 - 2920, len: 0 });
    expectNothing(tcb, t + 1);
    expect(tcb.pollTimeout()).toBeUndefined(); // the delayed-ACK timer went with the ACK
  });

  it('holds_out_of_order_data_and_sends_an_immediate_duplicate_ack', () => {
    const { tcb, t } = establishedTcb();
    send(tcb, t, { ...PEER_ACK, seq: RCV0 + 100, payload: 100, fill: 100 });
    // RFC 5681 §4.2: "A TCP receiver SHOULD send an immediate duplicate ACK when an out-of-order
    // segment arrives."
    expectSent(tcb, t, { seq: SND0, ack: RCV0, flags: TCP_ACK, len: 0 });
    expectNothing(tcb, t);
    expect(tcb.readableBytes).toBe(0);
    expect(eventNames(tcb)).toEqual([]);
    expect(tcb.receiveNext).toBe(RCV0);
  });

  it('delivers_everything_in_order_and_acks_at_once_when_the_hole_is_filled', () => {
    const { tcb, t } = establishedTcb();
    send(tcb, t, { ...PEER_ACK, seq: RCV0 + 200, payload: 100, fill: 200 });
    send(tcb, t, { ...PEER_ACK, seq: RCV0 + 100, payload: 100, fill: 100 });
    expectSent(tcb, t, { ack: RCV0 });
    expectNothing(tcb, t);
    send(tcb, t + 5, { ...PEER_ACK, seq: RCV0, payload: 100, fill: 0 });
    // RFC 5681 §4.2: "an immediate ACK SHOULD be generated when a segment arrives that fills in all
    // or part of a gap in the sequence space."
    expectSent(tcb, t + 5, { seq: SND0, ack: RCV0 + 300, flags: TCP_ACK, len: 0 });
    expectNothing(tcb, t + 5);
    expect(readAll(tcb)).toEqual(bytes(300));
  });

  it('acks_a_partial_fill_at_once_and_keeps_the_rest_held', () => {
    const { tcb, t } = establishedTcb();
    send(tcb, t, { ...PEER_ACK, seq: RCV0 + 200, payload: 100, fill: 200 });
    expectSent(tcb, t, { ack: RCV0 });
    send(tcb, t, { ...PEER_ACK, seq: RCV0, payload: 100 });
    expectSent(tcb, t, { ack: RCV0 + 100 });
    expect(readAll(tcb)).toEqual(bytes(100));
    send(tcb, t, { ...PEER_ACK, seq: RCV0 + 100, payload: 100, fill: 100 });
    expectSent(tcb, t, { ack: RCV0 + 300 });
    expect(readAll(tcb)).toEqual(bytes(200, 100));
  });

  it('acks_duplicate_data_at_once_and_does_not_deliver_it_twice', () => {
    const { tcb, t } = establishedTcb();
    send(tcb, t, { ...PEER_ACK, payload: 100 });
    expect(readAll(tcb)).toEqual(bytes(100));
    tcb.handleTimeout(t + 40);
    expectSent(tcb, t + 40, { ack: RCV0 + 100 });
    eventNames(tcb);
    // RFC 9293 §3.10.7.4 first: an old segment is not acceptable → <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>.
    send(tcb, t + 50, { ...PEER_ACK, payload: 100 });
    expectSent(tcb, t + 50, { seq: SND0, ack: RCV0 + 100, flags: TCP_ACK, len: 0 });
    expectNothing(tcb, t + 50);
    expect(tcb.readableBytes).toBe(0);
    expect(eventNames(tcb)).toEqual([]);
  });

  it('drops_a_duplicate_of_held_out_of_order_data', () => {
    const { tcb, t } = establishedTcb();
    send(tcb, t, { ...PEER_ACK, seq: RCV0 + 100, payload: 100, fill: 100 });
    send(tcb, t, { ...PEER_ACK, seq: RCV0 + 100, payload: 100, fill: 100 });
    send(tcb, t, { ...PEER_ACK, seq: RCV0 + 150, payload: 100, fill: 150 });
    expect(tcb.pollTransmit(t)?.ack).toBe(RCV0);
    send(tcb, t, { ...PEER_ACK, seq: RCV0, payload: 100 });
    expect(readAll(tcb)).toEqual(bytes(250));
  });

  it('trims_a_segment_that_starts_before_rcv_nxt', () => {
    const { tcb, t } = establishedTcb();
    send(tcb, t, { ...PEER_ACK, payload: 100 });
    // RFC 9293 §3.10.7.4: the part before RCV.NXT was already received; only octets 100..149 are new.
    send(tcb, t + 1, { ...PEER_ACK, seq: RCV0 + 50, payload: 100, fill: 50 });
    expect(tcb.receiveNext).toBe(RCV0 + 150);
    expect(readAll(tcb)).toEqual(bytes(150));
  });

  it('trims_data_beyond_the_window', () => {
    const { tcb, t } = establishedTcb({ opts: { recvBufferSize: 4096 } });
    // RFC 9293 §3.10.7.4 seventh: the window is the limit; the rest is the peer's to resend.
    send(tcb, t, { ...PEER_ACK, payload: 5000 });
    expect(tcb.receiveNext).toBe(RCV0 + 4096);
    expectSent(tcb, t, { seq: SND0, ack: RCV0 + 4096, flags: TCP_ACK, window: 0, len: 0 });
    expect(readAll(tcb)).toEqual(bytes(4096));
  });

  it('drops_a_segment_entirely_beyond_the_window_with_an_ack', () => {
    const { tcb, t } = establishedTcb({ opts: { recvBufferSize: 4096 } });
    send(tcb, t, { ...PEER_ACK, seq: RCV0 + 4096, payload: 100 });
    expectSent(tcb, t, { seq: SND0, ack: RCV0, flags: TCP_ACK, window: 4096 });
    expectNothing(tcb, t);
    // Nothing held: filling from RCV.NXT delivers only that.
    send(tcb, t, { ...PEER_ACK, payload: 100 });
    expect(tcb.readableBytes).toBe(100);
  });

  it('drops_the_ack_field_of_an_old_retransmission_along_with_it', () => {
    const { tcb, t } = establishedTcb();
    tcb.write(bytes(100));
    expectSent(tcb, t, { seq: SND0, len: 100 });
    send(tcb, t + 5, { ...PEER_ACK, payload: 50 });
    tcb.handleTimeout(t + 45);
    expectSent(tcb, t + 45, { ack: RCV0 + 50 });
    // An old retransmission (entirely before RCV.NXT) that also acknowledges our data: RFC 9293
    // §3.10.7.4 first step — not acceptable: ACK it and drop it, ACK field included.
    send(tcb, t + 60, { ...PEER_ACK, ack: SND0 + 100, payload: 50 });
    expectSent(tcb, t + 60, { seq: SND0 + 100, ack: RCV0 + 50, flags: TCP_ACK, len: 0 });
    expect(tcb.info().sendQueue).toBe(100);
    // The next acceptable segment's ACK does the job.
    send(tcb, t + 61, { ...PEER_ACK, seq: RCV0 + 50, ack: SND0 + 100 });
    expect(tcb.info().sendQueue).toBe(0);
  });
});

describe('ESTABLISHED: the receive window', () => {
  it('shrinks_as_data_waits_unread', () => {
    const { tcb, t } = establishedTcb();
    send(tcb, t, { ...PEER_ACK, payload: 1000 });
    send(tcb, t, { ...PEER_ACK, seq: RCV0 + 1000, payload: 1000 });
    expectSent(tcb, t, { ack: RCV0 + 2000, window: 65535 - 2000 });
    expect(tcb.info().rcvWnd).toBe(65535 - 2000);
  });

  it('sends_a_window_update_after_a_read_frees_at_least_an_mss_and_no_tiny_ones', () => {
    const { tcb, t } = establishedTcb({ opts: { recvBufferSize: 8192 } });
    for (let i = 0; i < 4; i++) send(tcb, t, { ...PEER_ACK, seq: RCV0 + i * 1460, payload: 1460 });
    const acks = [tcb.pollTransmit(t), tcb.pollTransmit(t)].filter((r) => r !== undefined);
    expect(acks.at(-1)).toMatchObject({ ack: RCV0 + 5840, window: 8192 - 5840 });
    expectNothing(tcb, t);
    // RFC 9293 §3.8.6.2.2 (receiver SWS avoidance): the right edge moves only by at least
    // min(RCV.BUFF/2, MSS) = 1460. Reading 1000 octets is not enough for an update ...
    expect(tcb.read(1000)!.length).toBe(1000);
    expectNothing(tcb, t + 1);
    // ... nor for a larger window in the next segment we send anyway.
    tcb.write(bytes(10));
    expectSent(tcb, t + 1, { seq: SND0, ack: RCV0 + 5840, flags: TCP_ACK | TCP_PSH, window: 8192 - 5840, len: 10 });
    // Reading the rest opens the window by 5840: an update goes out at once.
    expect(tcb.read()!.length).toBe(4840);
    expectSent(tcb, t + 2, { seq: SND0 + 10, ack: RCV0 + 5840, flags: TCP_ACK, window: 8192, len: 0 });
    expectNothing(tcb, t + 2);
  });

  it('acks_data_at_rcv_nxt_with_a_zero_window_without_taking_it', () => {
    const { tcb, t } = establishedTcb({ opts: { recvBufferSize: 4096 } });
    send(tcb, t, { ...PEER_ACK, payload: 1460 });
    send(tcb, t, { ...PEER_ACK, seq: RCV0 + 1460, payload: 1460 });
    expectSent(tcb, t, { ack: RCV0 + 2920, window: 4096 - 2920 });
    send(tcb, t, { ...PEER_ACK, seq: RCV0 + 2920, payload: 1176 });
    // The window closed: ACK at once (less than an MSS of window left).
    expectSent(tcb, t, { seq: SND0, ack: RCV0 + 4096, flags: TCP_ACK, window: 0, len: 0 });
    eventNames(tcb);
    // RFC 9293 §3.10.7.4: with RCV.WND = 0 no text is acceptable, but the segment is ACKed.
    send(tcb, t + 10, { ...PEER_ACK, seq: RCV0 + 4096, payload: 100 });
    expectSent(tcb, t + 10, { seq: SND0, ack: RCV0 + 4096, flags: TCP_ACK, window: 0, len: 0 });
    expectNothing(tcb, t + 10);
    expect(tcb.readableBytes).toBe(4096);
    expect(eventNames(tcb)).toEqual([]);
  });

  it('still_processes_the_ack_field_of_a_segment_arriving_at_a_zero_window', () => {
    const { tcb, t } = establishedTcb({ opts: { recvBufferSize: 4096 } });
    tcb.write(bytes(100));
    expectSent(tcb, t, { seq: SND0, len: 100 });
    send(tcb, t, { ...PEER_ACK, payload: 4096 });
    expectSent(tcb, t, { ack: RCV0 + 4096, window: 0 });
    send(tcb, t + 10, { ...PEER_ACK, seq: RCV0 + 4096, ack: SND0 + 100, payload: 10 });
    expect(tcb.info().sendQueue).toBe(0);
  });

  it('keeps_a_zero_window_closed_until_a_read_frees_an_mss', () => {
    const { tcb, t } = establishedTcb({ opts: { recvBufferSize: 4096 } });
    send(tcb, t, { ...PEER_ACK, payload: 4096 });
    expectSent(tcb, t, { ack: RCV0 + 4096, window: 0 });
    expect(tcb.read(100)!.length).toBe(100);
    expectNothing(tcb, t + 1);
    // The peer's zero-window probe (Linux: <SEQ=SND.UNA-1>, empty) draws an ACK. RFC 9293
    // §3.8.6.2.2: a window of 100 octets would invite silly segments; it stays 0 until it can
    // open by min(RCV.BUFF/2, MSS) = 1460.
    send(tcb, t + 200, { ...PEER_ACK, seq: RCV0 + 4096 - 1 });
    expectSent(tcb, t + 200, { seq: SND0, ack: RCV0 + 4096, flags: TCP_ACK, window: 0 });
    expect(tcb.read(2000)!.length).toBe(2000);
    expectSent(tcb, t + 201, { seq: SND0, ack: RCV0 + 4096, flags: TCP_ACK, window: 2100 });
    expectNothing(tcb, t + 201);
  });
});

describe('ESTABLISHED: acknowledgments of our data', () => {
  it('frees_the_send_buffer_and_reports_writable', () => {
    const { tcb, t } = establishedTcb({ opts: { sendBufferSize: 1000 } });
    expect(tcb.write(bytes(1500))).toBe(1000);
    expect(tcb.writableBytes).toBe(0);
    expectSent(tcb, t, { seq: SND0, len: 1000 });
    send(tcb, t + 100, { ...PEER_ACK, ack: SND0 + 600 });
    expect(eventNames(tcb)).toEqual(['writable']);
    expect(tcb.writableBytes).toBe(600);
    expect(tcb.info().sendQueue).toBe(400);
  });
});
