// Two tunstack TCP endpoints for simulation tests: an Ipv4Host with a TcpEndpoint attached, and
// helpers to drive bulk transfers through the sans-IO API on SimNetwork's virtual clock.

import { Ipv4Host } from '../../src/ip/host.js';
import { TcpEndpoint, type TcpEndpointOptions } from '../../src/tcp/endpoint.js';
import type { Tcb, TcpEvent } from '../../src/tcp/tcb.js';

export const A_ADDR = 0xc6120001; // 198.18.0.1
export const B_ADDR = 0xc6120002; // 198.18.0.2

export interface Peer {
  host: Ipv4Host;
  tcp: TcpEndpoint;
  /** Accepted connections, in order. */
  accepted: Tcb[];
  /** Every connection event, per connection, in order. */
  events: Map<Tcb, TcpEvent[]>;
}

export function makePeer(address: number, opts: Partial<TcpEndpointOptions> = {}, mtu = 1500): Peer {
  const host = new Ipv4Host({ address, mtu });
  const tcp = new TcpEndpoint({
    address,
    mss: mtu - 40,
    isnKey: new Uint8Array(16).fill(address & 0xff),
    ephemeralStart: 50000,
    ...opts,
  });
  host.attachTcp(tcp);
  const peer: Peer = { host, tcp, accepted: [], events: new Map() };
  return peer;
}

/** Drains endpoint events (accepts) — call from the network loop's predicate. */
export function pumpEvents(p: Peer): void {
  for (let e = p.tcp.pollEvent(); e !== undefined; e = p.tcp.pollEvent()) {
    if (e.kind === 'accept') p.accepted.push(e.tcb);
    else {
      let list = p.events.get(e.tcb);
      if (!list) p.events.set(e.tcb, (list = []));
      list.push(e.event);
    }
  }
}

export function sawEvent(p: Peer, tcb: Tcb, type: TcpEvent['type']): boolean {
  return (p.events.get(tcb) ?? []).some((e) => e.type === type);
}

/** The state transitions a connection went through, as "A → B" strings. */
export function transitions(p: Peer, tcb: Tcb): string[] {
  return (p.events.get(tcb) ?? []).flatMap((e) => (e.type === 'state' ? [`${e.from} → ${e.to}`] : []));
}
