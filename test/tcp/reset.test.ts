// RST and SYN in synchronized states (RFC 9293 §3.10.7.4 second and fourth steps, hardened by
// RFC 5961 §3–§5), ACKs of unsent data, and ABORT (RFC 9293 §3.10.5).

import { describe, expect, it } from 'vitest';
import { TCP_ACK, TCP_RST, TCP_SYN } from '../../src/wire/tcp.js';
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
  IRS,
  lastAckTcb,
  PEER_ACK,
  RCV0,
  send,
  SND0,
  synReceivedTcb,
  synSentTcb,
  timeWaitTcb,
  type Fixture,
} from './helpers.js';

const rstAt = (seq: number) => ({ seq, flags: TCP_RST, window: 0 });

describe('RST with SEQ = RCV.NXT resets the connection', () => {
  const withError: Array<[string, () => Fixture, number]> = [
    ['ESTABLISHED', () => establishedTcb(), RCV0],
    ['FIN-WAIT-1', () => finWait1Tcb(), RCV0],
    ['FIN-WAIT-2', () => finWait2Tcb(), RCV0],
    ['CLOSE-WAIT', () => closeWaitTcb(), RCV0 + 1],
  ];
  for (const [state, fixture, rcvNxt] of withError) {
    it(`reports_econnreset_in_${state.toLowerCase().replace('-', '_')}`, () => {
      const { tcb, t } = fixture();
      expect(tcb.state).toBe(state);
      // RFC 9293 §3.10.7.4 second: "any outstanding RECEIVEs and SEND should receive 'reset'
      // responses ... Enter the CLOSED state". RFC 5961 §3.2: only on an exact RCV.NXT match.
      send(tcb, t + 1, rstAt(rcvNxt));
      expect(tcb.state).toBe('CLOSED');
      expect(eventNames(tcb)).toEqual(['error:ECONNRESET', `${state}→CLOSED`, 'closed']);
      expectNothing(tcb, t + 1);
      expect(tcb.pollTimeout()).toBeUndefined();
    });
  }

  const silent: Array<[string, () => Fixture]> = [
    ['CLOSING', () => closingTcb()],
    ['LAST-ACK', () => lastAckTcb()],
    ['TIME-WAIT', () => timeWaitTcb()],
  ];
  for (const [state, fixture] of silent) {
    it(`closes_silently_in_${state.toLowerCase().replace('-', '_')}`, () => {
      const { tcb, t } = fixture();
      // RFC 9293 §3.10.7.4 second (CLOSING, LAST-ACK, TIME-WAIT): "enter the CLOSED state, delete the TCB".
      send(tcb, t + 1, rstAt(RCV0 + 1));
      expect(tcb.state).toBe('CLOSED');
      expect(eventNames(tcb)).toEqual([`${state}→CLOSED`, 'closed']);
      expectNothing(tcb, t + 1);
    });
  }

  it('drops_an_embryonic_passive_connection_without_an_error', () => {
    const { tcb } = synReceivedTcb();
    send(tcb, 10, rstAt(RCV0));
    expect(tcb.state).toBe('CLOSED');
    expect(eventNames(tcb)).toEqual(['SYN-RECEIVED→CLOSED', 'closed']);
  });

  it('refuses_an_active_open_reset_in_syn_received', () => {
    const { tcb } = synSentTcb();
    send(tcb, 10, { seq: IRS, flags: TCP_SYN, options: { mss: 1460 } });
    sentAllIgnore(tcb, 10);
    eventNames(tcb);
    send(tcb, 20, rstAt(RCV0));
    // RFC 9293 §3.10.7.4 second (SYN-RECEIVED, active OPEN): "the connection was refused".
    expect(eventNames(tcb)).toEqual(['error:ECONNREFUSED', 'SYN-RECEIVED→CLOSED', 'closed']);
  });

  it('resets_at_rcv_nxt_even_with_a_zero_window', () => {
    const { tcb, t } = establishedTcb({ opts: { recvBufferSize: 4096 } });
    send(tcb, t, { ...PEER_ACK, payload: 4096 });
    expectSent(tcb, t, { window: 0 });
    send(tcb, t + 1, rstAt(RCV0 + 4096));
    expect(tcb.state).toBe('CLOSED');
  });
});

function sentAllIgnore(tcb: Fixture['tcb'], t: number): void {
  while (tcb.pollTransmit(t) !== undefined);
}

describe('RFC 5961: blind RST and SYN', () => {
  it('answers_an_in_window_rst_not_at_rcv_nxt_with_a_challenge_ack', () => {
    const { tcb, t } = establishedTcb();
    send(tcb, t + 1, rstAt(RCV0 + 1000));
    // RFC 5961 §3.2: "the receiver MUST send an ACK (challenge ACK) to the remote peer:
    // <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>".
    expectSent(tcb, t + 1, { seq: SND0, ack: RCV0, flags: TCP_ACK, len: 0 });
    expectNothing(tcb, t + 1);
    expect(tcb.state).toBe('ESTABLISHED');
    expect(eventNames(tcb)).toEqual([]);
  });

  it('ignores_an_out_of_window_rst', () => {
    const { tcb, t } = establishedTcb();
    send(tcb, t + 1, rstAt(RCV0 + 70_000));
    send(tcb, t + 1, rstAt(RCV0 - 1));
    // RFC 5961 §3.2 / RFC 9293: "If the RST bit is set and the sequence number is outside the
    // current receive window, silently drop the segment."
    expectNothing(tcb, t + 1);
    expect(tcb.state).toBe('ESTABLISHED');
  });

  it('answers_a_syn_in_established_with_a_challenge_ack', () => {
    const { tcb, t } = establishedTcb();
    // RFC 5961 §4.2: any SYN in a synchronized state, in the window or not, draws a challenge ACK.
    send(tcb, t + 1, { seq: RCV0 + 10, flags: TCP_SYN, options: { mss: 1460 } });
    expectSent(tcb, t + 1, { seq: SND0, ack: RCV0, flags: TCP_ACK, len: 0 });
    expectNothing(tcb, t + 1);
    send(tcb, t + 2, { seq: IRS + 123_456_789, flags: TCP_SYN });
    expectSent(tcb, t + 2, { seq: SND0, ack: RCV0, flags: TCP_ACK, len: 0 });
    expect(tcb.state).toBe('ESTABLISHED');
    expect(eventNames(tcb)).toEqual([]);
  });

  it('drops_a_passive_connection_on_an_in_window_syn_in_syn_received', () => {
    const { tcb } = synReceivedTcb();
    // RFC 9293 §3.10.7.4 fourth, SYN-RECEIVED of a passive OPEN: "return this connection to the
    // LISTEN state" — the listener is the endpoint's, so this TCB just goes.
    send(tcb, 10, { seq: RCV0 + 5, flags: TCP_SYN, options: { mss: 1460 } });
    expect(tcb.state).toBe('CLOSED');
    expect(eventNames(tcb)).toEqual(['SYN-RECEIVED→CLOSED', 'closed']);
    expectNothing(tcb, 10);
  });
});

describe('ACK checks (RFC 9293 §3.10.7.4 fifth, RFC 5961 §5)', () => {
  it('acks_and_drops_a_segment_acknowledging_unsent_data', () => {
    const { tcb, t } = establishedTcb();
    // "If the ACK acks something not yet sent (SEG.ACK > SND.NXT), then send an ACK, drop the
    // segment, and return."
    send(tcb, t + 1, { ...PEER_ACK, ack: SND0 + 500, payload: 100 });
    expectSent(tcb, t + 1, { seq: SND0, ack: RCV0, flags: TCP_ACK, len: 0 });
    expectNothing(tcb, t + 1);
    expect(tcb.readableBytes).toBe(0);
    expect(tcb.receiveNext).toBe(RCV0);
  });

  it('acks_and_drops_a_segment_whose_ack_is_older_than_the_largest_window', () => {
    const { tcb, t } = establishedTcb();
    // RFC 5961 §5.2: acceptable only if SND.UNA - MAX.SND.WND =< SEG.ACK.
    send(tcb, t + 1, { ...PEER_ACK, ack: SND0 - 70_000, payload: 100 });
    expectSent(tcb, t + 1, { seq: SND0, ack: RCV0, flags: TCP_ACK });
    expect(tcb.readableBytes).toBe(0);
  });

  it('accepts_data_with_an_old_but_acceptable_ack', () => {
    const { tcb, t } = establishedTcb();
    send(tcb, t + 1, { ...PEER_ACK, ack: SND0 - 100, payload: 100 });
    expect(tcb.readableBytes).toBe(100);
  });

  it('drops_a_segment_without_the_ack_bit', () => {
    const { tcb, t } = establishedTcb();
    send(tcb, t + 1, { seq: RCV0, flags: 0, payload: 100 });
    expectNothing(tcb, t + 1);
    expect(tcb.readableBytes).toBe(0);
  });
});

describe('ABORT', () => {
  it('sends_a_rst_at_snd_nxt_and_closes', () => {
    const { tcb, t } = establishedTcb();
    tcb.write(bytes(100));
    expectSent(tcb, t, { seq: SND0, len: 100 });
    tcb.abort();
    expect(tcb.state).toBe('CLOSED');
    // RFC 9293 §3.10.5: <SEQ=SND.NXT><CTL=RST>.
    expectSent(tcb, t + 1, { seq: SND0 + 100, ack: 0, flags: TCP_RST, window: 0, len: 0 });
    expectNothing(tcb, t + 1);
    expect(eventNames(tcb)).toEqual(['ESTABLISHED→CLOSED', 'closed']);
    expect(tcb.pollTimeout()).toBeUndefined();
  });

  it('sends_a_rst_in_close_wait_and_fin_wait_states', () => {
    for (const f of [closeWaitTcb, finWait1Tcb, finWait2Tcb]) {
      const { tcb, t } = f();
      tcb.abort();
      expectSent(tcb, t, { flags: TCP_RST });
    }
  });

  it('sends_nothing_in_syn_sent', () => {
    const { tcb } = synSentTcb();
    tcb.abort();
    expect(tcb.state).toBe('CLOSED');
    expectNothing(tcb, 1);
  });

  it('sends_nothing_in_closing_last_ack_and_time_wait', () => {
    // RFC 9293 §3.10.5: "CLOSING STATE, LAST-ACK STATE, TIME-WAIT STATE: Respond with 'ok' and
    // delete the TCB" — no RST (which could kill the peer's TIME-WAIT, RFC 1337).
    for (const f of [closingTcb, lastAckTcb, timeWaitTcb]) {
      const { tcb, t } = f();
      tcb.abort();
      expect(tcb.state).toBe('CLOSED');
      expectNothing(tcb, t);
    }
  });
});
