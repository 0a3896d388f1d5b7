// Opening a connection (RFC 9293 §3.5, §3.10.7.3): passive open, active open, simultaneous open,
// MSS negotiation, and SYN-SENT's answers to bad ACKs and RSTs.

import { describe, expect, it } from 'vitest';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from '../../src/wire/tcp.js';
import {
  bytes,
  eventNames,
  expectNothing,
  expectSent,
  IRS,
  ISS,
  MSS,
  newTcb,
  PEER_ACK,
  PEER_SYN,
  PEER_SYN_ACK,
  RCV0,
  seg,
  send,
  sentAll,
  SND0,
  synReceivedTcb,
  synSentTcb,
  establishedTcb,
} from './helpers.js';

describe('LISTEN → SYN-RECEIVED (passive open)', () => {
  it('answers_a_syn_with_a_syn_ack_carrying_our_mss', () => {
    const tcb = newTcb(true);
    tcb.openPassive(0, ISS, seg(PEER_SYN));
    // RFC 9293 §3.10.7.2: <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>, RCV.NXT = SEG.SEQ+1; §3.7.1: our MSS.
    expectSent(tcb, 0, { seq: ISS, ack: IRS + 1, flags: TCP_SYN | TCP_ACK, window: 65535, len: 0, options: { mss: MSS } });
    expectNothing(tcb, 0);
    expect(tcb.state).toBe('SYN-RECEIVED');
    expect(tcb.irs).toBe(IRS);
    expect(tcb.iss).toBe(ISS);
    expect(eventNames(tcb)).toEqual(['LISTEN→SYN-RECEIVED']);
  });

  it('declines_window_scale_sack_and_timestamps_by_leaving_them_out', () => {
    // The peer offers all of them (PEER_SYN is a Linux SYN); RFC 7323 §1.3/§2.2 and RFC 2018 §2:
    // an option not echoed in the SYN-ACK is not in use. Only MSS goes back.
    const tcb = newTcb(true);
    tcb.openPassive(0, ISS, seg(PEER_SYN));
    const synAck = tcb.pollTransmit(0)!;
    expect(synAck.options).toEqual({ mss: MSS });
  });

  it('enters_established_on_the_ack_of_its_syn_and_reports_connected', () => {
    const { tcb } = synReceivedTcb();
    send(tcb, 100, PEER_ACK);
    expect(tcb.state).toBe('ESTABLISHED');
    expect(eventNames(tcb)).toEqual(['SYN-RECEIVED→ESTABLISHED', 'connected']);
    // RFC 9293 §3.10.7.4: nothing to answer to a bare ACK.
    expectNothing(tcb, 100);
  });

  it('takes_data_riding_on_the_handshake_ack', () => {
    const { tcb } = synReceivedTcb();
    send(tcb, 100, { ...PEER_ACK, payload: 10 });
    expect(tcb.state).toBe('ESTABLISHED');
    expect(tcb.readableBytes).toBe(10);
    expect(tcb.receiveNext).toBe(RCV0 + 10);
  });

  it('resets_an_ack_that_does_not_acknowledge_its_syn', () => {
    const { tcb } = synReceivedTcb();
    // RFC 9293 §3.10.7.4 fifth (SYN-RECEIVED): unacceptable ACK → <SEQ=SEG.ACK><CTL=RST>.
    send(tcb, 100, { ...PEER_ACK, ack: ISS + 5 });
    expectSent(tcb, 100, { seq: ISS + 5, flags: TCP_RST, len: 0 });
    expectNothing(tcb, 100);
    expect(tcb.state).toBe('SYN-RECEIVED');
  });

  it('retransmits_the_syn_ack_after_one_second_then_gives_up_after_syn_ack_retries', () => {
    const { tcb } = synReceivedTcb({ synAckRetries: 2 });
    // RFC 6298 §2.1: RTO = 1 s before any RTT sample; §5.5: doubled on each expiry.
    expect(tcb.pollTimeout()).toBe(1000);
    tcb.handleTimeout(1000);
    expectSent(tcb, 1000, { seq: ISS, ack: RCV0, flags: TCP_SYN | TCP_ACK, options: { mss: MSS } });
    expect(tcb.pollTimeout()).toBe(3000);
    tcb.handleTimeout(3000);
    expectSent(tcb, 3000, { seq: ISS, flags: TCP_SYN | TCP_ACK });
    expect(tcb.pollTimeout()).toBe(7000);
    eventNames(tcb);
    tcb.handleTimeout(7000);
    // An embryonic passive connection is just forgotten: no error to a user who never saw it.
    expect(tcb.state).toBe('CLOSED');
    expect(eventNames(tcb)).toEqual(['SYN-RECEIVED→CLOSED', 'closed']);
    expectNothing(tcb, 7000);
  });

  it('limits_its_segments_to_the_peers_mss', () => {
    // Nagle off, so the short tail goes out with the rest (Nagle has its own tests).
    const { tcb, t } = establishedTcb({ peerMss: 1000, opts: { noDelay: true } });
    expect(tcb.info().mss).toBe(1000);
    tcb.write(bytes(2500));
    expectSent(tcb, t, { seq: SND0, len: 1000, flags: TCP_ACK });
    expectSent(tcb, t, { seq: SND0 + 1000, len: 1000, flags: TCP_ACK });
    expectSent(tcb, t, { seq: SND0 + 2000, len: 500, flags: TCP_ACK | TCP_PSH });
  });

  it('assumes_536_when_the_syn_has_no_mss_option', () => {
    // RFC 9293 §3.7.1 (MUST-15): without the option, the send MSS is 536.
    const { tcb, t } = establishedTcb({ peerMss: null, opts: { noDelay: true } });
    expect(tcb.info().mss).toBe(536);
    tcb.write(bytes(1000));
    expectSent(tcb, t, { seq: SND0, len: 536 });
    expectSent(tcb, t, { seq: SND0 + 536, len: 464 });
  });

  it('never_sends_more_than_its_own_mss_even_if_the_peer_announces_more', () => {
    const { tcb } = establishedTcb({ peerMss: 9000 });
    expect(tcb.info().mss).toBe(MSS);
  });
});

describe('CLOSED → SYN-SENT (active open)', () => {
  it('sends_a_syn_with_our_mss', () => {
    const tcb = newTcb(false);
    tcb.openActive(0, ISS);
    expect(tcb.state).toBe('SYN-SENT');
    expect(eventNames(tcb)).toEqual(['CLOSED→SYN-SENT']);
    expectSent(tcb, 0, { seq: ISS, ack: 0, flags: TCP_SYN, window: 65535, len: 0, options: { mss: MSS } });
    expectNothing(tcb, 0);
  });

  it('acknowledges_the_syn_ack_and_enters_established', () => {
    const { tcb } = synSentTcb();
    send(tcb, 50, PEER_SYN_ACK);
    // RFC 9293 §3.10.7.3 fourth: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>.
    expectSent(tcb, 50, { seq: SND0, ack: RCV0, flags: TCP_ACK, window: 65535, len: 0 });
    expectNothing(tcb, 50);
    expect(tcb.state).toBe('ESTABLISHED');
    expect(tcb.irs).toBe(IRS);
    expect(eventNames(tcb)).toEqual(['SYN-SENT→ESTABLISHED', 'connected']);
    expect(tcb.info().srttMs).toBe(50); // the SYN was timed (RFC 6298 §2.2)
  });

  it('sends_data_written_before_the_handshake_once_established', () => {
    const { tcb } = synSentTcb();
    expect(tcb.write(bytes(100))).toBe(100);
    expectNothing(tcb, 10);
    send(tcb, 50, PEER_SYN_ACK);
    // The data carries the ACK of the SYN-ACK.
    expectSent(tcb, 50, { seq: SND0, ack: RCV0, flags: TCP_ACK | TCP_PSH, len: 100 });
    expectNothing(tcb, 50);
  });

  it('takes_data_and_a_fin_carried_by_the_syn_ack', () => {
    const { tcb } = synSentTcb();
    // RFC 9293 §3.10.7.3 fourth: "If there are other controls or text in the segment, then continue
    // processing at the sixth step".
    send(tcb, 50, { ...PEER_SYN_ACK, flags: PEER_SYN_ACK.flags | TCP_FIN, payload: 10 });
    expect(tcb.readableBytes).toBe(10);
    expect(tcb.state).toBe('CLOSE-WAIT');
    expectSent(tcb, 50, { seq: SND0, ack: RCV0 + 11, flags: TCP_ACK });
    expectNothing(tcb, 50);
  });

  it('uses_536_when_the_syn_ack_has_no_mss_option', () => {
    const { tcb } = synSentTcb();
    send(tcb, 50, { ...PEER_SYN_ACK, options: {} });
    expect(tcb.info().mss).toBe(536);
  });

  it('retransmits_the_syn_with_backoff_and_times_out_after_syn_retries', () => {
    const { tcb } = synSentTcb({ synRetries: 3 });
    // RFC 6298 §2.1 (1 s before any sample) and §5.5 (backoff): SYNs at 0, 1, 3, 7; give up at 15.
    for (const at of [1000, 3000, 7000]) {
      expect(tcb.pollTimeout()).toBe(at);
      tcb.handleTimeout(at);
      expectSent(tcb, at, { seq: ISS, ack: 0, flags: TCP_SYN, options: { mss: MSS } });
      expectNothing(tcb, at);
    }
    expect(tcb.pollTimeout()).toBe(15000);
    tcb.handleTimeout(15000);
    expect(tcb.state).toBe('CLOSED');
    expect(eventNames(tcb)).toEqual(['error:ETIMEDOUT', 'SYN-SENT→CLOSED', 'closed']);
    expectNothing(tcb, 15000); // no RST: the peer never synchronized
    expect(tcb.pollTimeout()).toBeUndefined();
  });

  it('takes_no_rtt_sample_from_a_retransmitted_syn_and_starts_data_with_a_3s_rto', () => {
    const { tcb } = synSentTcb();
    tcb.handleTimeout(1000);
    expectSent(tcb, 1000, { seq: ISS, flags: TCP_SYN });
    send(tcb, 1050, PEER_SYN_ACK);
    expect(tcb.state).toBe('ESTABLISHED');
    // Karn (RFC 6298 §3): the SYN was sent twice, the ACK is ambiguous → no sample.
    expect(tcb.info().srttMs).toBeUndefined();
    // RFC 6298 §5.7: "If the timer expires awaiting the ACK of a SYN segment and the TCP
    // implementation is using an RTO less than 3 seconds, the RTO MUST be re-initialized to 3
    // seconds when data transmission begins."
    expect(tcb.info().rtoMs).toBe(3000);
    expectSent(tcb, 1050, { seq: SND0, ack: RCV0, flags: TCP_ACK });
    tcb.write(bytes(100));
    expectSent(tcb, 1060, { seq: SND0, len: 100 });
    expect(tcb.pollTimeout()).toBe(1060 + 3000);
  });

  it('starts_data_with_a_3s_rto_after_the_syn_ack_timed_out', () => {
    const { tcb } = synReceivedTcb();
    tcb.handleTimeout(1000);
    expectSent(tcb, 1000, { seq: ISS, flags: TCP_SYN | TCP_ACK });
    send(tcb, 1100, PEER_ACK);
    expect(tcb.state).toBe('ESTABLISHED');
    expect(tcb.info()).toMatchObject({ srttMs: undefined, rtoMs: 3000 }); // Karn, then RFC 6298 §5.7
  });
});

describe('SYN-SENT', () => {
  it('resets_a_segment_whose_ack_does_not_acknowledge_the_syn', () => {
    const { tcb } = synSentTcb();
    // RFC 9293 §3.10.7.3 first: SEG.ACK =< ISS or SEG.ACK > SND.NXT → <SEQ=SEG.ACK><CTL=RST>.
    send(tcb, 10, { ...PEER_SYN_ACK, ack: ISS + 100 });
    expectSent(tcb, 10, { seq: ISS + 100, ack: 0, flags: TCP_RST, window: 0, len: 0 });
    expectNothing(tcb, 10);
    expect(tcb.state).toBe('SYN-SENT');
    send(tcb, 20, { ...PEER_SYN_ACK, ack: ISS });
    expectSent(tcb, 20, { seq: ISS, flags: TCP_RST });
    expect(tcb.state).toBe('SYN-SENT');
  });

  it('drops_a_bad_ack_that_carries_a_rst_without_answering', () => {
    const { tcb } = synSentTcb();
    send(tcb, 10, { seq: 0, ack: ISS + 100, flags: TCP_RST | TCP_ACK });
    expectNothing(tcb, 10);
    expect(tcb.state).toBe('SYN-SENT');
  });

  it('is_refused_by_a_rst_with_an_acceptable_ack', () => {
    const { tcb } = synSentTcb();
    // RFC 9293 §3.10.7.3 second: RST with an acceptable ACK → "error: connection reset", CLOSED.
    send(tcb, 10, { seq: 0, ack: SND0, flags: TCP_RST | TCP_ACK, window: 0 });
    expect(tcb.state).toBe('CLOSED');
    expect(eventNames(tcb)).toEqual(['error:ECONNREFUSED', 'SYN-SENT→CLOSED', 'closed']);
    expectNothing(tcb, 10);
  });

  it('ignores_a_rst_without_an_ack', () => {
    const { tcb } = synSentTcb();
    // RFC 9293 §3.10.7.3 second: "If the ACK was acceptable ... Otherwise (no ACK) drop the segment".
    send(tcb, 10, { seq: IRS, flags: TCP_RST, window: 0 });
    expect(tcb.state).toBe('SYN-SENT');
    expectNothing(tcb, 10);
    expect(eventNames(tcb)).toEqual([]);
  });

  it('drops_a_segment_with_neither_syn_nor_rst', () => {
    const { tcb } = synSentTcb();
    send(tcb, 10, { seq: IRS, ack: SND0, flags: TCP_ACK });
    expect(tcb.state).toBe('SYN-SENT');
    expectNothing(tcb, 10);
  });

  it('close_deletes_the_tcb_without_sending', () => {
    const { tcb } = synSentTcb();
    tcb.close(10);
    expect(tcb.state).toBe('CLOSED');
    expect(eventNames(tcb)).toEqual(['SYN-SENT→CLOSED', 'closed']);
    expectNothing(tcb, 10);
  });
});

describe('simultaneous open', () => {
  it('answers_a_bare_syn_with_a_syn_ack_and_establishes_on_the_ack', () => {
    const { tcb } = synSentTcb();
    // RFC 9293 §3.10.7.3 fourth, Figure 8: SYN without ACK → SYN-RECEIVED, <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>.
    send(tcb, 10, { seq: IRS, flags: TCP_SYN, window: 65535, options: { mss: 1200 } });
    expect(tcb.state).toBe('SYN-RECEIVED');
    expectSent(tcb, 10, { seq: ISS, ack: RCV0, flags: TCP_SYN | TCP_ACK, options: { mss: MSS } });
    expectNothing(tcb, 10);
    send(tcb, 20, PEER_ACK);
    expect(tcb.state).toBe('ESTABLISHED');
    expect(eventNames(tcb)).toEqual(['SYN-SENT→SYN-RECEIVED', 'SYN-RECEIVED→ESTABLISHED', 'connected']);
    expect(tcb.info().mss).toBe(1200);
    expectNothing(tcb, 20);
  });

  it('sends_data_written_during_the_handshake_once_established', () => {
    const { tcb } = synSentTcb();
    send(tcb, 10, { seq: IRS, flags: TCP_SYN, window: 65535, options: { mss: 1460 } });
    tcb.write(bytes(100));
    // SYN-RECEIVED: only the SYN-ACK, no data before our SYN is acknowledged.
    expectSent(tcb, 10, { seq: ISS, flags: TCP_SYN | TCP_ACK, len: 0 });
    expectNothing(tcb, 10);
    send(tcb, 20, PEER_ACK);
    expectSent(tcb, 20, { seq: SND0, ack: RCV0, flags: TCP_ACK | TCP_PSH, len: 100 });
  });

  it('establishes_on_the_peers_syn_ack_as_in_figure_8', () => {
    const { tcb } = synSentTcb();
    send(tcb, 10, { seq: IRS, flags: TCP_SYN, window: 65535, options: { mss: 1460 } });
    expectSent(tcb, 10, { seq: ISS, ack: RCV0, flags: TCP_SYN | TCP_ACK });
    // RFC 9293 Figure 8 line 6: the peer's own SYN-ACK <SEQ=IRS><ACK=ISS+1> completes our side
    // (as Linux does, tcp_validate_incoming): no second round trip, no retransmission.
    send(tcb, 20, PEER_SYN_ACK);
    expect(tcb.state).toBe('ESTABLISHED');
    expect(tcb.receiveNext).toBe(RCV0);
    const out = sentAll(tcb, 20);
    expect(out.every((r) => !(r.flags & TCP_SYN))).toBe(true);
  });
});
