// Two bounds outside the state diagram proper: an orphaned connection's FIN-WAIT-2 ends (like
// Linux's tcp_fin_timeout), and the initial window is one segment after a lost SYN (RFC 5681 §3.1).

import { describe, expect, it } from 'vitest';
import { eventNames, finWait1Tcb, finWait2Tcb, MSS, PEER_ACK, PEER_SYN_ACK, send, SND0, synSentTcb } from './helpers.js';

describe('FIN-WAIT-2 of an orphan', () => {
  it('waits_forever_for_the_peer_fin_while_the_application_holds_the_connection', () => {
    const { tcb } = finWait2Tcb();
    expect(tcb.pollTimeout()).toBeUndefined(); // RFC 9293: FIN-WAIT-2 has no timer of its own
  });

  it('ends_an_orphaned_fin_wait_2_after_the_fin_timeout', () => {
    const { tcb, t } = finWait2Tcb({ opts: { finWait2TimeoutMs: 60_000 } });
    tcb.orphan(t);
    expect(tcb.pollTimeout()).toBe(t + 60_000);
    tcb.handleTimeout(t + 59_999);
    expect(tcb.state).toBe('FIN-WAIT-2');
    tcb.handleTimeout(t + 60_000);
    expect(tcb.state).toBe('CLOSED');
    expect(eventNames(tcb)).toEqual(['FIN-WAIT-2→CLOSED', 'closed']);
    expect(tcb.pollTransmit(t + 60_000)).toBeUndefined(); // quietly: no RST
  });

  it('arms_the_fin_timeout_when_an_orphan_reaches_fin_wait_2', () => {
    const { tcb, t } = finWait1Tcb({ opts: { finWait2TimeoutMs: 5000 } });
    tcb.orphan(t);
    expect(tcb.pollTimeout()).not.toBe(t + 5000); // FIN-WAIT-1: only the FIN's retransmission timer
    send(tcb, t + 10, { ...PEER_ACK, ack: SND0 + 1 });
    expect(tcb.state).toBe('FIN-WAIT-2');
    expect(tcb.pollTimeout()).toBe(t + 10 + 5000);
  });
});

describe('initial window after a lost SYN (RFC 5681 §3.1)', () => {
  it('starts_with_one_segment_when_our_syn_was_retransmitted', () => {
    const { tcb } = synSentTcb();
    tcb.handleTimeout(1000); // the SYN timed out
    expect(tcb.pollTransmit(1000)?.seq).toBe(SND0 - 1); // retransmitted SYN
    send(tcb, 1100, PEER_SYN_ACK);
    expect(tcb.state).toBe('ESTABLISHED');
    expect(tcb.info().cwnd).toBe(MSS);
  });

  it('keeps_the_usual_initial_window_without_a_loss', () => {
    const { tcb } = synSentTcb();
    send(tcb, 100, PEER_SYN_ACK);
    expect(tcb.info().cwnd).toBe(4380);
  });
});
