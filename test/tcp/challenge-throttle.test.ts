// RFC 5961 §7: challenge ACKs are throttled, so blind in-window RSTs or SYNs cannot turn tunstack
// into an ACK amplifier.

import { describe, expect, it } from 'vitest';
import { TCP_RST, TCP_SYN } from '../../src/wire/tcp.js';
import { establishedTcb, RCV0, send, sentAll } from './helpers.js';

describe('challenge ACK throttling (RFC 5961 §7)', () => {
  it('sends_at_most_ten_challenge_acks_per_second_per_connection', () => {
    const { tcb, t } = establishedTcb();
    let acks = 0;
    for (let i = 0; i < 50; i++) {
      send(tcb, t, { seq: RCV0 + 100 + i, ack: 0, flags: TCP_RST, window: 0 }); // in window, not RCV.NXT
      acks += sentAll(tcb, t).length;
    }
    expect(acks).toBe(10);
    expect(tcb.state).toBe('ESTABLISHED');
    // The budget refills with time.
    send(tcb, t + 1000, { seq: RCV0 + 5, ack: 0, flags: TCP_SYN, window: 1000 });
    expect(sentAll(tcb, t + 1000)).toHaveLength(1);
  });
});
