// A TLS 1.3 exchange between tunstack's client and server engines in process (no I/O): the wire bytes
// and the key log both sides announced, laid into a TCP conversation and a pcapng capture.

import { keyLogLine } from '../../src/socket/keylog.js';
import { eventsOf, pair, type Pair } from '../tls/engine-pair.js';
import { Conversation, pcapng, type Packet, TCP_ACK, TCP_PSH, text } from './build.js';

export type { Pair };

/** A whole HTTPS exchange; returns the engines' pair (wire bytes in order) and the key log both sides announced. */
export function https(): { p: Pair; keyLog: string } {
  const p = pair();
  p.pump();
  p.client.conn.write(text('GET /tls HTTP/1.1\r\nHost: tunstack.test\r\n\r\n'));
  p.pump();
  p.server.conn.write(text('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello'));
  p.pump();
  // RFC 8446 §4.6.3: the client rekeys and asks the server to do the same.
  p.client.conn.keyUpdate(true);
  p.pump();
  p.client.conn.write(text('GET /after-key-update HTTP/1.1\r\nHost: tunstack.test\r\n\r\n'));
  p.pump();
  p.client.conn.close();
  p.pump();
  return { p, keyLog: keyLogOf(p) };
}

/** The NSS key log lines of every secret either side announced, once each. */
export function keyLogOf(p: Pair): string {
  const lines = new Set<string>();
  for (const side of [p.client, p.server]) for (const e of eventsOf(side, 'secret')) lines.add(keyLogLine(e.label, e.clientRandom, e.secret));
  return [...lines].join('');
}

/** The wire bytes as TCP segments of at most `mss` bytes, consecutive writes of one side coalesced (so records share and span segments). */
export function tlsPackets(p: Pair, mss: number, conv: Conversation = new Conversation()): Packet[] {
  conv.handshake();
  let i = 0;
  while (i < p.wire.length) {
    const from = p.wire[i]!.from;
    const parts: Uint8Array[] = [];
    while (i < p.wire.length && p.wire[i]!.from === from) parts.push(p.wire[i++]!.bytes);
    const bytes = Buffer.concat(parts);
    const side = from === 'client' ? 'A' : 'B';
    for (let at = 0; at < bytes.length; at += mss) conv.send(side, TCP_PSH | TCP_ACK, bytes.subarray(at, Math.min(at + mss, bytes.length)));
    conv.send(side === 'A' ? 'B' : 'A', TCP_ACK);
  }
  conv.close();
  return conv.packets;
}

/** tlsPackets as a pcapng capture, with the key log in a DSB when given. */
export function capture(p: Pair, mss: number, keyLog?: string): Uint8Array {
  return pcapng(tlsPackets(p, mss), keyLog);
}

