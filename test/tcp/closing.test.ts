// Closing (RFC 9293 §3.6, §3.10.4, §3.10.7.4 fifth/eighth steps): active and passive close,
// half-close, simultaneous close, TIME-WAIT, FIN ordering after queued data and after holes.

import { describe, expect, it } from 'vitest';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_SYN } from '../../src/wire/tcp.js';
import {
  bytes,
  closeWaitTcb,
  closingTcb,
  establishedTcb,
  eventNames,
  expectNothing,
  expectSent,
  finWait1Tcb,
  finWait2Tcb,
  ISS,
  lastAckTcb,
  PEER_ACK,
  PEER_FIN,
  RCV0,
  readAll,
  send,
  SND0,
  synReceivedTcb,
  timeWaitTcb,
} from './helpers.js';

describe('active close: ESTABLISHED → FIN-WAIT-1 → FIN-WAIT-2 → TIME-WAIT → CLOSED', () => {
  it('walks_the_active_close_and_ends_after_2_msl', () => {
    const { tcb, t } = establishedTcb();
    tcb.close(t);
    expect(tcb.state).toBe('FIN-WAIT-1');
    // RFC 9293 §3.10.4: "form a FIN segment and send it".
    expectSent(tcb, t, { seq: SND0, ack: RCV0, flags: TCP_FIN | TCP_ACK, window: 65535, len: 0 });
    expectNothing(tcb, t);
    send(tcb, t + 50, { ...PEER_ACK, ack: SND0 + 1 });
    expect(tcb.state).toBe('FIN-WAIT-2');
    expectNothing(tcb, t + 50);
    expect(tcb.pollTimeout()).toBeUndefined();
    send(tcb, t + 60, { ...PEER_FIN, ack: SND0 + 1 });
    // RFC 9293 §3.10.7.4 eighth, FIN-WAIT-2: enter TIME-WAIT, ACK the FIN, start the 2 MSL timer.
    expect(tcb.state).toBe('TIME-WAIT');
    expectSent(tcb, t + 60, { seq: SND0 + 1, ack: RCV0 + 1, flags: TCP_ACK, len: 0 });
    expectNothing(tcb, t + 60);
    expect(tcb.pollTimeout()).toBe(t + 60 + 60_000);
    tcb.handleTimeout(t + 60 + 59_999);
    expect(tcb.state).toBe('TIME-WAIT');
    tcb.handleTimeout(t + 60 + 60_000);
    expect(tcb.state).toBe('CLOSED');
    expect(eventNames(tcb)).toEqual([
      'ESTABLISHED→FIN-WAIT-1',
      'FIN-WAIT-1→FIN-WAIT-2',
      'FIN-WAIT-2→TIME-WAIT',
      'eof',
      'TIME-WAIT→CLOSED',
      'closed',
    ]);
    expectNothing(tcb, t + 60_060);
    expect(tcb.pollTimeout()).toBeUndefined();
  });

  it('honours_a_configured_msl', () => {
    const { tcb, t } = timeWaitTcb({ opts: { mslMs: 1000 } });
    expect(tcb.pollTimeout()).toBe(t + 2000);
  });

  it('retransmits_an_unacknowledged_fin', () => {
    const { tcb, t } = finWait1Tcb();
    expect(tcb.pollTimeout()).toBe(t + 300);
    tcb.handleTimeout(t + 300);
    expectSent(tcb, t + 300, { seq: SND0, ack: RCV0, flags: TCP_FIN | TCP_ACK, len: 0 });
    expectNothing(tcb, t + 300);
    expect(tcb.pollTimeout()).toBe(t + 300 + 600);
  });

  it('still_receives_data_in_fin_wait_1_and_fin_wait_2', () => {
    // Half-close (RFC 9293 §3.6): our FIN ends our direction only.
    const a = finWait1Tcb();
    send(a.tcb, a.t + 1, { ...PEER_ACK, payload: 100 });
    expect(readAll(a.tcb)).toEqual(bytes(100));
    const b = finWait2Tcb();
    send(b.tcb, b.t + 1, { ...PEER_ACK, ack: SND0 + 1, payload: 100 });
    expect(eventNames(b.tcb)).toEqual(['readable']);
    expect(readAll(b.tcb)).toEqual(bytes(100));
    b.tcb.handleTimeout(b.t + 41);
    expectSent(b.tcb, b.t + 41, { seq: SND0 + 1, ack: RCV0 + 100, flags: TCP_ACK });
    send(b.tcb, b.t + 50, { ...PEER_FIN, seq: RCV0 + 100, ack: SND0 + 1 });
    expect(b.tcb.state).toBe('TIME-WAIT');
    expectSent(b.tcb, b.t + 50, { seq: SND0 + 1, ack: RCV0 + 101, flags: TCP_ACK });
  });

  it('goes_to_time_wait_when_fin_wait_1_gets_the_fin_and_the_ack_of_ours_together', () => {
    const { tcb, t } = finWait1Tcb();
    send(tcb, t + 50, { ...PEER_FIN, ack: SND0 + 1 });
    // RFC 9293 §3.10.7.4 eighth, FIN-WAIT-1: "If our FIN has been ACKed (perhaps in this segment),
    // then enter TIME-WAIT".
    expect(tcb.state).toBe('TIME-WAIT');
    expectSent(tcb, t + 50, { seq: SND0 + 1, ack: RCV0 + 1, flags: TCP_ACK, len: 0 });
    expectNothing(tcb, t + 50);
    expect(tcb.pollTimeout()).toBe(t + 50 + 60_000);
  });

  it('acks_a_retransmitted_fin_in_time_wait_and_restarts_the_2_msl_timer', () => {
    const { tcb, t } = timeWaitTcb();
    send(tcb, t + 1000, { ...PEER_FIN, ack: SND0 + 1 });
    // RFC 9293 §3.10.7.4 eighth, TIME-WAIT: "acknowledge it, and restart the 2 MSL timeout."
    expectSent(tcb, t + 1000, { seq: SND0 + 1, ack: RCV0 + 1, flags: TCP_ACK, len: 0 });
    expectNothing(tcb, t + 1000);
    expect(tcb.state).toBe('TIME-WAIT');
    expect(tcb.pollTimeout()).toBe(t + 1000 + 60_000);
  });

  it('throws_on_write_after_close', () => {
    const { tcb } = finWait1Tcb();
    expect(() => tcb.write(bytes(1))).toThrow();
    expect(tcb.writableBytes).toBe(0);
  });

  it('ignores_a_second_close', () => {
    const { tcb, t } = finWait1Tcb();
    tcb.close(t + 1);
    expectNothing(tcb, t + 1);
    expect(tcb.state).toBe('FIN-WAIT-1');
  });
});

describe('passive close: ESTABLISHED → CLOSE-WAIT → LAST-ACK → CLOSED', () => {
  it('walks_the_passive_close', () => {
    const { tcb, t } = establishedTcb();
    send(tcb, t + 10, PEER_FIN);
    expect(tcb.state).toBe('CLOSE-WAIT');
    // The FIN is acknowledged at once.
    expectSent(tcb, t + 10, { seq: SND0, ack: RCV0 + 1, flags: TCP_ACK, len: 0 });
    expectNothing(tcb, t + 10);
    expect(eventNames(tcb)).toEqual(['ESTABLISHED→CLOSE-WAIT', 'eof']);
    tcb.close(t + 20);
    expect(tcb.state).toBe('LAST-ACK');
    expectSent(tcb, t + 20, { seq: SND0, ack: RCV0 + 1, flags: TCP_FIN | TCP_ACK, len: 0 });
    expectNothing(tcb, t + 20);
    send(tcb, t + 30, { ...PEER_ACK, seq: RCV0 + 1, ack: SND0 + 1 });
    expect(tcb.state).toBe('CLOSED');
    expect(eventNames(tcb)).toEqual(['CLOSE-WAIT→LAST-ACK', 'LAST-ACK→CLOSED', 'closed']);
    expectNothing(tcb, t + 30);
    expect(tcb.pollTimeout()).toBeUndefined();
  });

  it('reports_eof_only_after_the_data_before_the_fin_is_read', () => {
    const { tcb, t } = establishedTcb();
    send(tcb, t, { ...PEER_FIN, payload: 100 });
    expect(tcb.state).toBe('CLOSE-WAIT');
    expectSent(tcb, t, { seq: SND0, ack: RCV0 + 101, flags: TCP_ACK });
    expect(eventNames(tcb)).toEqual(['readable', 'ESTABLISHED→CLOSE-WAIT']);
    expect(tcb.read(60)!.length).toBe(60);
    expect(eventNames(tcb)).toEqual([]);
    expect(tcb.read()!.length).toBe(40);
    expect(eventNames(tcb)).toEqual(['eof']);
  });

  it('can_still_send_in_close_wait', () => {
    const { tcb, t } = closeWaitTcb();
    tcb.write(bytes(100));
    expectSent(tcb, t, { seq: SND0, ack: RCV0 + 1, flags: TCP_ACK | TCP_PSH, len: 100 });
  });

  it('retransmits_the_fin_in_last_ack', () => {
    const { tcb, t } = lastAckTcb();
    tcb.handleTimeout(tcb.pollTimeout()!);
    expectSent(tcb, t + 300, { seq: SND0, ack: RCV0 + 1, flags: TCP_FIN | TCP_ACK });
  });

  it('acks_a_retransmitted_fin_in_close_wait', () => {
    const { tcb, t } = closeWaitTcb();
    send(tcb, t + 100, PEER_FIN);
    expectSent(tcb, t + 100, { seq: SND0, ack: RCV0 + 1, flags: TCP_ACK });
    expect(tcb.state).toBe('CLOSE-WAIT');
  });

  it('ignores_text_after_the_fin', () => {
    const { tcb, t } = closeWaitTcb();
    // RFC 9293 §3.10.7.4 seventh, CLOSE-WAIT: "This should not occur ... Ignore the segment text."
    send(tcb, t + 1, { ...PEER_ACK, seq: RCV0 + 1, payload: 10 });
    expect(tcb.readableBytes).toBe(0);
  });
});

describe('simultaneous close: FIN-WAIT-1 → CLOSING → TIME-WAIT', () => {
  it('goes_closing_on_the_peers_fin_and_time_wait_on_the_ack_of_ours', () => {
    const { tcb, t } = finWait1Tcb();
    send(tcb, t + 10, PEER_FIN);
    expect(tcb.state).toBe('CLOSING');
    expectSent(tcb, t + 10, { seq: SND0 + 1, ack: RCV0 + 1, flags: TCP_ACK, len: 0 });
    expectNothing(tcb, t + 10);
    send(tcb, t + 20, { ...PEER_ACK, seq: RCV0 + 1, ack: SND0 + 1 });
    expect(tcb.state).toBe('TIME-WAIT');
    expect(eventNames(tcb)).toEqual(['FIN-WAIT-1→CLOSING', 'eof', 'CLOSING→TIME-WAIT']);
    expect(tcb.pollTimeout()).toBe(t + 20 + 60_000);
  });

  it('retransmits_its_fin_in_closing', () => {
    const { tcb } = closingTcb();
    const at = tcb.pollTimeout()!;
    tcb.handleTimeout(at);
    expectSent(tcb, at, { seq: SND0, ack: RCV0 + 1, flags: TCP_FIN | TCP_ACK });
  });
});

describe('the FIN after queued data', () => {
  it('piggybacks_the_fin_on_the_last_data_segment', () => {
    const { tcb, t } = establishedTcb();
    tcb.write(bytes(100));
    tcb.close(t);
    expectSent(tcb, t, { seq: SND0, ack: RCV0, flags: TCP_FIN | TCP_PSH | TCP_ACK, len: 100 });
    expectNothing(tcb, t);
    send(tcb, t + 50, { ...PEER_ACK, ack: SND0 + 101 });
    expect(tcb.state).toBe('FIN-WAIT-2');
  });

  it('sends_the_fin_after_data_held_back_by_nagle', () => {
    const { tcb, t } = establishedTcb();
    tcb.write(bytes(100));
    expectSent(tcb, t, { seq: SND0, len: 100 });
    tcb.write(bytes(50));
    tcb.close(t);
    expectNothing(tcb, t);
    send(tcb, t + 50, { ...PEER_ACK, ack: SND0 + 100 });
    expectSent(tcb, t + 50, { seq: SND0 + 100, flags: TCP_FIN | TCP_PSH | TCP_ACK, len: 50 });
  });

  it('sends_the_fin_with_the_last_of_several_segments', () => {
    const { tcb, t } = establishedTcb();
    tcb.setNoDelay(true);
    tcb.write(bytes(3000));
    tcb.close(t);
    expectSent(tcb, t, { seq: SND0, flags: TCP_ACK, len: 1460 });
    expectSent(tcb, t, { seq: SND0 + 1460, flags: TCP_ACK, len: 1460 });
    expectSent(tcb, t, { seq: SND0 + 2920, flags: TCP_FIN | TCP_PSH | TCP_ACK, len: 80 });
    expectNothing(tcb, t);
  });

  it('retransmits_data_and_fin_together_after_a_timeout', () => {
    const { tcb, t } = establishedTcb();
    tcb.write(bytes(100));
    tcb.close(t);
    expectSent(tcb, t, { seq: SND0, flags: TCP_FIN | TCP_PSH | TCP_ACK, len: 100 });
    tcb.handleTimeout(t + 300);
    expectSent(tcb, t + 300, { seq: SND0, flags: TCP_FIN | TCP_PSH | TCP_ACK, len: 100 });
    expectNothing(tcb, t + 300);
  });
});

describe('the FIN out of order', () => {
  it('counts_an_out_of_order_fin_only_once_the_gap_is_filled', () => {
    const { tcb, t } = establishedTcb();
    send(tcb, t, { ...PEER_FIN, seq: RCV0 + 100 });
    // The FIN's sequence number is beyond RCV.NXT: it is held, and, like any out-of-order
    // segment, draws an immediate duplicate ACK (RFC 5681 §4.2).
    expect(tcb.state).toBe('ESTABLISHED');
    expectSent(tcb, t, { seq: SND0, ack: RCV0, flags: TCP_ACK, len: 0 });
    expectNothing(tcb, t);
    send(tcb, t + 10, { ...PEER_ACK, payload: 100 });
    // RFC 9293 §3.10.7.4 eighth: now RCV.NXT reaches the FIN; advance over it and ACK.
    expect(tcb.state).toBe('CLOSE-WAIT');
    expectSent(tcb, t + 10, { seq: SND0, ack: RCV0 + 101, flags: TCP_ACK });
    expect(readAll(tcb)).toEqual(bytes(100));
    expect(eventNames(tcb)).toEqual(['readable', 'ESTABLISHED→CLOSE-WAIT', 'eof']);
  });

  it('holds_a_fin_carried_by_out_of_order_data', () => {
    const { tcb, t } = establishedTcb();
    send(tcb, t, { ...PEER_FIN, seq: RCV0 + 100, payload: 100, fill: 100 });
    expectSent(tcb, t, { ack: RCV0 });
    expect(tcb.state).toBe('ESTABLISHED');
    send(tcb, t + 10, { ...PEER_ACK, payload: 100 });
    expect(tcb.state).toBe('CLOSE-WAIT');
    expectSent(tcb, t + 10, { ack: RCV0 + 201 });
    expect(readAll(tcb)).toEqual(bytes(200));
  });
});

describe('close before the handshake completes', () => {
  it('sends_the_fin_once_the_handshake_completes_after_close_in_syn_received', () => {
    const { tcb } = synReceivedTcb();
    tcb.close(10);
    // RFC 9293 §3.10.4 (SYN-RECEIVED): the FIN may not go before our SYN is acknowledged.
    expectNothing(tcb, 10);
    send(tcb, 100, PEER_ACK);
    expect(tcb.state).toBe('FIN-WAIT-1');
    expectSent(tcb, 100, { seq: SND0, ack: RCV0, flags: TCP_FIN | TCP_ACK, len: 0 });
    send(tcb, 150, { ...PEER_FIN, ack: SND0 + 1 });
    expect(tcb.state).toBe('TIME-WAIT');
  });

  it('retransmits_the_syn_ack_not_data_after_close_in_syn_received', () => {
    const { tcb } = synReceivedTcb();
    tcb.close(10);
    tcb.handleTimeout(1000);
    expectSent(tcb, 1000, { seq: ISS, ack: RCV0, flags: TCP_SYN | TCP_ACK, len: 0 });
    expectNothing(tcb, 1000);
  });
});
