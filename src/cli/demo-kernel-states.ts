// The kernel's end of a TCP connection, inferred from the segments it sends and receives (the timeline
// cannot read the kernel's TCB): RFC 9293 §3.3.2's state diagram driven by what crosses the TUN.
// Inferred, hence approximate: e.g. a listener's SYN-RECEIVED shows when its SYN-ACK is seen.

import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../wire/tcp.js';

export interface SegmentFacts {
  flags: number;
  seq: number;
  ack: number;
  /** Payload octets. */
  len: number;
}

/** a ≥ b in sequence space (RFC 9293 §3.4: comparisons are modulo 2^32). */
function geq(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}

export class InferredEnd {
  private isn: number | undefined;
  /** Sequence number just past the end's FIN, once it sent one (what the peer's ACK must reach). */
  private finEnd: number | undefined;

  /** The starting state: CLOSED for a client (the kernel connecting), LISTEN for a server. */
  constructor(public state: string) {}

  /** The end sent seg; returns the states it went through (usually none or one). */
  sent(seg: SegmentFacts): string[] {
    const out: string[] = [];
    const go = (s: string) => {
      if (s !== this.state) {
        this.state = s;
        out.push(s);
      }
    };
    const syn = (seg.flags & TCP_SYN) !== 0;
    if ((seg.flags & TCP_RST) !== 0) {
      if (this.state !== 'CLOSED' && this.state !== 'LISTEN') go('CLOSED');
      return out;
    }
    if (syn) {
      this.isn = seg.seq;
      // §3.5: an active open sends SYN (CLOSED → SYN-SENT); a listener answers a SYN with SYN,ACK.
      go((seg.flags & TCP_ACK) !== 0 ? 'SYN-RECEIVED' : 'SYN-SENT');
    }
    if ((seg.flags & TCP_FIN) !== 0) {
      // §3.6: the FIN occupies one sequence number after the data.
      this.finEnd = (seg.seq + seg.len + (syn ? 1 : 0) + 1) >>> 0;
      if (this.state === 'ESTABLISHED' || this.state === 'SYN-RECEIVED') go('FIN-WAIT-1');
      else if (this.state === 'CLOSE-WAIT') go('LAST-ACK');
    }
    return out;
  }

  /** The end received seg; returns the states it went through. */
  received(seg: SegmentFacts): string[] {
    const out: string[] = [];
    const go = (s: string) => {
      if (s !== this.state) {
        this.state = s;
        out.push(s);
      }
    };
    if ((seg.flags & TCP_RST) !== 0) {
      // §3.10.7: a valid RST in any synchronized state (or SYN-SENT with an acceptable ACK) closes.
      if (this.state !== 'CLOSED' && this.state !== 'LISTEN' && this.state !== 'TIME-WAIT') go('CLOSED');
      return out;
    }
    const ack = (seg.flags & TCP_ACK) !== 0;
    if (this.state === 'SYN-SENT' && (seg.flags & TCP_SYN) !== 0 && ack) go('ESTABLISHED');
    else if (this.state === 'SYN-RECEIVED' && ack && this.isn !== undefined && geq(seg.ack, (this.isn + 1) >>> 0)) go('ESTABLISHED');
    const finAcked = ack && this.finEnd !== undefined && geq(seg.ack, this.finEnd);
    if (finAcked) {
      if (this.state === 'FIN-WAIT-1') go('FIN-WAIT-2');
      else if (this.state === 'CLOSING') go('TIME-WAIT');
      else if (this.state === 'LAST-ACK') go('CLOSED');
    }
    if ((seg.flags & TCP_FIN) !== 0) {
      if (this.state === 'ESTABLISHED') go('CLOSE-WAIT');
      else if (this.state === 'FIN-WAIT-1') go('CLOSING');
      else if (this.state === 'FIN-WAIT-2') go('TIME-WAIT');
    }
    return out;
  }
}
