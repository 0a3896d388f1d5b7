// Segments that reach no connection and no listener: the reply of a CLOSED port.
// This is the whole of tunstack's TCP until the state machine lands; src/tcp/endpoint.ts will call it for strays.

import { TCP_ACK, TCP_RST, segmentLength, type TcpRepr, type TcpSegment } from '../wire/tcp.js';

/**
 * RFC 9293 §3.10.7.1 (CLOSED state): "An incoming segment containing a RST is discarded. An incoming
 * segment not containing a RST causes a RST to be sent in response."
 * Returns the RST to send (ports swapped), or undefined when nothing may be sent.
 */
export function resetForClosedPort(seg: TcpSegment): TcpRepr | undefined {
  if (seg.flags & TCP_RST) return undefined;
  if (seg.flags & TCP_ACK) {
    // "If the ACK bit is on, <SEQ=SEG.ACK><CTL=RST>"
    return { srcPort: seg.dstPort, dstPort: seg.srcPort, seq: seg.ack, ack: 0, flags: TCP_RST, window: 0 };
  }
  // "If the ACK bit is off, sequence number zero is used, <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>"
  // (SEG.LEN counts SYN and FIN, RFC 9293 §3.4.)
  return {
    srcPort: seg.dstPort,
    dstPort: seg.srcPort,
    seq: 0,
    ack: (seg.seq + segmentLength(seg)) >>> 0,
    flags: TCP_RST | TCP_ACK,
    window: 0,
  };
}
