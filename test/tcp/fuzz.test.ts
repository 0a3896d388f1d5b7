// Property test: random and mutated segments thrown at connections in every state never make the
// TCP core throw, and every segment it emits stays well-formed.

import { describe, expect, it } from 'vitest';
import { TcpEndpoint } from '../../src/tcp/endpoint.js';
import { emitTcp, parseTcp, tcpLen, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, type TcpSegment } from '../../src/wire/tcp.js';
import type { Ipv4Header } from '../../src/wire/ipv4.js';
import { mulberry32 } from '../helpers/prng.js';

const US = 0xc6120002;
const PEER = 0xc6120001;

function ipFrom(src: number): Ipv4Header {
  return {
    headerLength: 20, dscpEcn: 0, totalLength: 0, id: 0, dontFragment: true, moreFragments: false,
    fragmentOffset: 0, ttl: 64, protocol: 6, checksum: 0, src, dst: US, options: new Uint8Array(0), payload: new Uint8Array(0),
  };
}

describe('TCP core under random segments', () => {
  it('never_throws_and_only_emits_well_formed_segments', () => {
    const rng = mulberry32(2026);
    const ep = new TcpEndpoint({ address: US, mss: 1460, isnKey: new Uint8Array(16), ephemeralStart: 50000, tcb: { mslMs: 50 } });
    ep.listen(80, 16);
    const conns = [ep.connect(0, PEER, 8080), ep.connect(0, PEER, 8081)];
    let now = 0;
    const seen = new Set<string>();
    const highest = new Map<string, number>();
    const seqs: number[] = [rng.u32()];
    const flagChoices = [TCP_SYN, TCP_ACK, TCP_SYN | TCP_ACK, TCP_FIN | TCP_ACK, TCP_RST, TCP_RST | TCP_ACK, TCP_PSH | TCP_ACK, 0, TCP_FIN];
    for (let i = 0; i < 30_000; i++) {
      now += rng.int(50);
      const port = [80, 8080, 8081][rng.int(3)]!;
      const peerPort = port === 80 ? 40000 + rng.int(4) : port;
      // Mostly plausible numbers (near what was seen), sometimes anything.
      const base = seqs[rng.int(seqs.length)]!;
      const seg: TcpSegment = {
        srcPort: port === 80 ? peerPort : port,
        dstPort: port === 80 ? 80 : 50000 + (port - 8080),
        seq: rng.int(4) === 0 ? rng.u32() : (base + rng.int(70000) - 1000) >>> 0,
        ack: rng.int(4) === 0 ? rng.u32() : (base + rng.int(70000) - 1000) >>> 0,
        headerLength: 20,
        flags: flagChoices[rng.int(flagChoices.length)]!,
        window: rng.int(3) === 0 ? 0 : rng.int(65536),
        checksum: 0,
        urgentPointer: 0,
        options: rng.int(5) === 0 ? { mss: rng.int(2000) } : {},
        payload: rng.bytes(rng.int(3) === 0 ? rng.int(3000) : 0),
      };
      // Half the time, a plausible peer instead: the right sequence number for an existing
      // connection and an ACK of something it sent, so the walk goes through the states.
      const live = ep.connections();
      if (live.length > 0 && rng.int(2) === 0) {
        const t = live[rng.int(live.length)]!;
        seg.srcPort = t.remotePort;
        seg.dstPort = t.localPort;
        seg.seq = t.receiveNext;
        seg.ack = highest.get(`${t.localPort}/${t.remotePort}`) ?? seg.ack;
        if (t.state === 'SYN-SENT') {
          seg.flags = TCP_SYN | TCP_ACK;
          seg.seq = rng.u32();
        }
      }
      ep.handleSegment(now, ipFrom(PEER), seg);
      if (rng.int(10) === 0) ep.handleTimeout(now);
      for (const t of ep.connections()) {
        if (rng.int(20) === 0 && (t.state === 'ESTABLISHED' || t.state === 'CLOSE-WAIT')) t.write(rng.bytes(rng.int(5000)));
        if (rng.int(50) === 0) t.read();
        if (rng.int(400) === 0) t.close(now);
        ep.touch(t);
      }
      ep.flush(now);
      for (let o = ep.pollTransmit(); o; o = ep.pollTransmit()) {
        const buf = new Uint8Array(tcpLen(o.repr));
        emitTcp(o.repr, US, o.dst, buf, 0);
        const back = parseTcp(buf, US, o.dst);
        expect(back.ok).toBe(true);
        seqs.push(o.repr.seq, o.repr.ack);
        const len = (o.repr.payload?.length ?? 0) + (o.repr.flags & TCP_SYN ? 1 : 0) + (o.repr.flags & TCP_FIN ? 1 : 0);
        highest.set(`${o.repr.srcPort}/${o.repr.dstPort}`, (o.repr.seq + len) >>> 0);
        if (seqs.length > 64) seqs.splice(0, 32);
      }
      for (let e = ep.pollEvent(); e; e = ep.pollEvent()) if (e.kind === 'connection' && e.event.type === 'state') seen.add(e.event.to);
      if (ep.connections().length < 2 && rng.int(100) === 0) conns.push(ep.connect(now, PEER, 8080 + rng.int(2)));
    }
    expect(ep.counters.internalErrors).toBe(0);
    // The random walk really visits the state machine, not just the closed-port path.
    expect(seen.size).toBeGreaterThanOrEqual(8);
    expect(ep.counters.passiveOpens).toBeGreaterThan(10);
  });
});
