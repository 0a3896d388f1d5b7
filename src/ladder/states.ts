// Infers each end's TCP state (RFC 9293 §3.3.2, Figure 5) from the segments a capture saw, for the
// labels beside the lifelines: a sender changes state when it sends, a receiver when the segment
// arrives. An inference: what the capture point saw, not what the hosts' TCBs held.

import * as seqn from '../tcp/seq.js';
import type { TcpState } from '../tcp/state.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../wire/tcp.js';
import type { Side } from './model.js';

/** The RFC 9293 state names, the same type the TCP core uses. */
export type TcpStateName = TcpState;

export class StateTracker {
  private readonly state: Record<Side, TcpStateName>;
  /** The sequence number of each side's FIN, once sent. */
  private readonly finSeq: Partial<Record<Side, number>> = {};

  /**
   * `start`: what the capture's first packet of the connection was — its SYN, the SYN-ACK (the SYN was
   * missed), or anything else (both ends are then taken to be ESTABLISHED already).
   */
  constructor(start: 'syn' | 'syn-ack' | 'later') {
    this.state = start === 'syn' ? { A: 'CLOSED', B: 'LISTEN' } : start === 'syn-ack' ? { A: 'SYN-SENT', B: 'LISTEN' } : { A: 'ESTABLISHED', B: 'ESTABLISHED' };
  }

  /**
   * Applies one segment sent by `from` (seq, ack, flags, payload length) and returns the sides whose
   * state changed, with their new state.
   */
  segment(from: Side, flags: number, seq: number, ack: number, len: number): Partial<Record<Side, TcpStateName>> {
    const to: Side = from === 'A' ? 'B' : 'A';
    const before = { A: this.state.A, B: this.state.B };
    const s = this.state;
    if ((flags & TCP_RST) !== 0) {
      // RFC 9293 §3.10.7: a valid RST takes the receiver to CLOSED; the sender has none left either.
      s[from] = 'CLOSED';
      s[to] = 'CLOSED';
    } else {
      const syn = (flags & TCP_SYN) !== 0;
      if (syn && (flags & TCP_ACK) === 0) {
        // Figure 5: CLOSED → SYN-SENT on "snd SYN"; LISTEN → SYN-RECEIVED on "rcv SYN".
        if (s[from] === 'CLOSED') s[from] = 'SYN-SENT';
        if (s[to] === 'LISTEN') s[to] = 'SYN-RECEIVED';
      } else if (syn) {
        // SYN-SENT → ESTABLISHED on "rcv SYN,ACK / snd ACK".
        if (s[from] === 'LISTEN') s[from] = 'SYN-RECEIVED';
        if (s[to] === 'SYN-SENT') s[to] = 'ESTABLISHED';
      }
      if ((flags & TCP_ACK) !== 0) {
        // The receiver learns its SYN or FIN was acknowledged.
        if (s[to] === 'SYN-RECEIVED' && !syn) s[to] = 'ESTABLISHED';
        const fin = this.finSeq[to];
        if (fin !== undefined && seqn.gt(ack, fin)) {
          if (s[to] === 'FIN-WAIT-1') s[to] = 'FIN-WAIT-2';
          else if (s[to] === 'CLOSING') s[to] = 'TIME-WAIT';
          else if (s[to] === 'LAST-ACK') s[to] = 'CLOSED';
        }
      }
      if ((flags & TCP_FIN) !== 0) {
        const finAt = seqn.add(seq, len + (syn ? 1 : 0));
        if (this.finSeq[from] === undefined) this.finSeq[from] = finAt;
        // "snd FIN": ESTABLISHED → FIN-WAIT-1, CLOSE-WAIT → LAST-ACK.
        if (s[from] === 'ESTABLISHED' || s[from] === 'SYN-RECEIVED') s[from] = 'FIN-WAIT-1';
        else if (s[from] === 'CLOSE-WAIT') s[from] = 'LAST-ACK';
        // "rcv FIN": ESTABLISHED → CLOSE-WAIT, FIN-WAIT-1 → CLOSING, FIN-WAIT-2 → TIME-WAIT.
        if (s[to] === 'ESTABLISHED') s[to] = 'CLOSE-WAIT';
        else if (s[to] === 'FIN-WAIT-1') s[to] = 'CLOSING';
        else if (s[to] === 'FIN-WAIT-2') s[to] = 'TIME-WAIT';
      }
    }
    const changed: Partial<Record<Side, TcpStateName>> = {};
    if (s.A !== before.A) changed.A = s.A;
    if (s.B !== before.B) changed.B = s.B;
    return changed;
  }
}
