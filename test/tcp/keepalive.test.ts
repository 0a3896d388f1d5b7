// Keep-alive (RFC 9293 §3.8.4, RFC 1122 §4.2.3.6): off by default; when on, an idle connection is
// probed with <SEQ=SND.UNA-1>, and unanswered probes end it.

import { describe, expect, it } from 'vitest';
import { TCP_ACK, TCP_RST } from '../../src/wire/tcp.js';
import {
  establishedTcb,
  eventNames,
  expectNothing,
  expectSent,
  PEER_ACK,
  RCV0,
  send,
  SND0,
  synReceivedTcb,
} from './helpers.js';

const KA = { enabled: true, idleMs: 1000, intervalMs: 100, probes: 3 };

describe('ESTABLISHED: keep-alive', () => {
  it('is_off_by_default', () => {
    // RFC 1122 §4.2.3.6: keep-alives "MUST default to off".
    const { tcb } = establishedTcb();
    expect(tcb.pollTimeout()).toBeUndefined();
  });

  it('probes_after_the_idle_time_and_times_out_after_the_last_unanswered_probe', () => {
    const { tcb, t } = establishedTcb();
    tcb.setKeepAlive(t, KA);
    let at = t + 1000;
    for (let i = 0; i < 3; i++) {
      expect(tcb.pollTimeout()).toBe(at);
      tcb.handleTimeout(at);
      // RFC 1122 §4.2.3.6: a segment with SEG.SEQ = SND.NXT-1 (no data here), which the peer must ACK.
      expectSent(tcb, at, { seq: SND0 - 1, ack: RCV0, flags: TCP_ACK, len: 0 });
      expectNothing(tcb, at);
      at += 100;
    }
    expect(tcb.pollTimeout()).toBe(at);
    tcb.handleTimeout(at);
    expect(tcb.state).toBe('CLOSED');
    expect(eventNames(tcb)).toEqual(['error:ETIMEDOUT', 'ESTABLISHED→CLOSED', 'closed']);
    expectSent(tcb, at, { seq: SND0, flags: TCP_RST | TCP_ACK });
  });

  it('restarts_the_idle_time_on_the_answer_to_a_probe', () => {
    const { tcb, t } = establishedTcb();
    tcb.setKeepAlive(t, KA);
    tcb.handleTimeout(t + 1000);
    expectSent(tcb, t + 1000, { seq: SND0 - 1 });
    tcb.handleTimeout(t + 1100);
    expectSent(tcb, t + 1100, { seq: SND0 - 1 });
    send(tcb, t + 1150, PEER_ACK);
    expect(tcb.pollTimeout()).toBe(t + 2150);
    // The probe count started over: three more probes before giving up.
    for (const at of [t + 2150, t + 2250, t + 2350]) {
      tcb.handleTimeout(at);
      expectSent(tcb, at, { seq: SND0 - 1 });
    }
    expect(tcb.state).toBe('ESTABLISHED');
  });

  it('restarts_the_idle_time_on_any_segment_from_the_peer', () => {
    const { tcb, t } = establishedTcb();
    tcb.setKeepAlive(t, KA);
    send(tcb, t + 500, { ...PEER_ACK, payload: 10 });
    expect(tcb.pollTimeout()).toBe(t + 500 + 40); // the delayed ACK first
    tcb.handleTimeout(t + 540);
    expectSent(tcb, t + 540, { ack: RCV0 + 10 });
    expect(tcb.pollTimeout()).toBe(t + 1500);
  });

  it('can_be_turned_off_again', () => {
    const { tcb, t } = establishedTcb();
    tcb.setKeepAlive(t, KA);
    tcb.setKeepAlive(t + 10, { enabled: false });
    expect(tcb.pollTimeout()).toBeUndefined();
  });

  it('starts_when_the_connection_is_established_if_configured_up_front', () => {
    const { tcb } = synReceivedTcb({ keepAlive: KA });
    send(tcb, 100, PEER_ACK);
    expect(tcb.pollTimeout()).toBe(1100);
  });
});
