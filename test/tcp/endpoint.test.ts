// The endpoint (src/tcp/endpoint.ts): LISTEN (RFC 9293 §3.10.7.2), the SYN backlog, strays,
// TIME-WAIT reuse (RFC 9293 §3.10.7.4 / RFC 1122 §4.2.2.13 / RFC 6191), accept events, the table.

import { describe, expect, it } from 'vitest';
import { TcpEndpoint, type EndpointEvent, type TcpEndpointOptions } from '../../src/tcp/endpoint.js';
import { gt } from '../../src/tcp/seq.js';
import type { Ipv4Header } from '../../src/wire/ipv4.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, type TcpRepr } from '../../src/wire/tcp.js';
import { IRS, ISS, LOCAL_ADDR, MSS, PEER_SYN, REMOTE_ADDR, seg, type PeerSeg } from './helpers.js';

function ip(src = REMOTE_ADDR): Ipv4Header {
  return {
    headerLength: 20,
    dscpEcn: 0,
    totalLength: 0,
    id: 0,
    dontFragment: true,
    moreFragments: false,
    fragmentOffset: 0,
    ttl: 64,
    protocol: 6,
    checksum: 0,
    src,
    dst: LOCAL_ADDR,
    options: new Uint8Array(0),
    payload: new Uint8Array(0),
  };
}

function endpoint(opts: Partial<TcpEndpointOptions> = {}): TcpEndpoint {
  // A constant ISN generator makes every expectation exact.
  return new TcpEndpoint({ address: LOCAL_ADDR, mss: MSS, isn: () => ISS, ephemeralStart: 50000, ...opts });
}

/** A segment from REMOTE_ADDR:`port` to our port 80. */
function from(ep: TcpEndpoint, t: number, port: number, p: PeerSeg, dstPort = 80): boolean {
  return ep.handleSegment(t, ip(), { ...seg(p), srcPort: port, dstPort });
}

/** flush, then everything to send. */
function out(ep: TcpEndpoint, t: number): Array<{ dst: number; repr: TcpRepr }> {
  ep.flush(t);
  const r: Array<{ dst: number; repr: TcpRepr }> = [];
  for (let o = ep.pollTransmit(); o !== undefined; o = ep.pollTransmit()) r.push(o);
  return r;
}

function evs(ep: TcpEndpoint): EndpointEvent[] {
  const r: EndpointEvent[] = [];
  for (let e = ep.pollEvent(); e !== undefined; e = ep.pollEvent()) r.push(e);
  return r;
}

/** Completes a passive handshake from `port` at t; returns the accepted TCB. */
function accept(ep: TcpEndpoint, t: number, port: number) {
  from(ep, t, port, PEER_SYN);
  out(ep, t);
  from(ep, t + 1, port, { seq: IRS + 1, ack: ISS + 1, flags: TCP_ACK });
  out(ep, t + 1);
  const acc = evs(ep).find((e) => e.kind === 'accept');
  if (!acc || acc.kind !== 'accept') throw new Error('no accept event');
  return acc.tcb;
}

describe('LISTEN', () => {
  it('creates_a_connection_for_a_syn_and_answers_with_a_syn_ack', () => {
    const ep = endpoint();
    const l = ep.listen(80);
    expect(from(ep, 0, 40000, PEER_SYN)).toBe(true);
    const o = out(ep, 0);
    expect(o).toHaveLength(1);
    expect(o[0]!.dst).toBe(REMOTE_ADDR);
    expect(o[0]!.repr).toMatchObject({ srcPort: 80, dstPort: 40000, seq: ISS, ack: IRS + 1, flags: TCP_SYN | TCP_ACK, options: { mss: MSS } });
    expect(ep.size).toBe(1);
    expect(l.embryonic).toBe(1);
    expect(ep.counters.passiveOpens).toBe(1);
    expect(ep.pollTimeout()).toBe(1000); // the SYN-ACK's retransmission timer
  });

  it('emits_accept_once_the_handshake_completes', () => {
    const ep = endpoint();
    const l = ep.listen(80);
    from(ep, 0, 40000, PEER_SYN);
    out(ep, 0);
    evs(ep);
    from(ep, 100, 40000, { seq: IRS + 1, ack: ISS + 1, flags: TCP_ACK });
    expect(out(ep, 100)).toEqual([]);
    const e = evs(ep);
    const acc = e.find((x) => x.kind === 'accept');
    expect(acc).toMatchObject({ kind: 'accept', listener: l });
    expect(acc!.kind === 'accept' && acc!.tcb.state).toBe('ESTABLISHED');
    expect(e.some((x) => x.kind === 'connection' && x.event.type === 'connected')).toBe(true);
    expect(l.embryonic).toBe(0);
  });

  it('resets_an_ack_to_a_listener_with_seq_equal_to_seg_ack', () => {
    const ep = endpoint();
    ep.listen(80);
    // RFC 9293 §3.10.7.2 second: "Any acknowledgment is bad if it arrives on a connection still in
    // the LISTEN state. An acceptable reset segment should be formed ... <SEQ=SEG.ACK><CTL=RST>".
    expect(from(ep, 0, 40000, { seq: 777, ack: 123_456, flags: TCP_ACK })).toBe(true);
    const o = out(ep, 0);
    expect(o).toHaveLength(1);
    expect(o[0]!.repr).toMatchObject({ srcPort: 80, dstPort: 40000, seq: 123_456, flags: TCP_RST });
    expect(ep.size).toBe(0);
  });

  it('ignores_a_rst_to_a_listener', () => {
    const ep = endpoint();
    ep.listen(80);
    // RFC 9293 §3.10.7.2 first: "An incoming RST should be ignored."
    expect(from(ep, 0, 40000, { seq: 777, flags: TCP_RST })).toBe(true);
    expect(from(ep, 0, 40000, { seq: 777, ack: 5, flags: TCP_RST | TCP_ACK })).toBe(true);
    expect(out(ep, 0)).toEqual([]);
    expect(ep.size).toBe(0);
  });

  it('drops_text_or_fin_without_syn_or_ack', () => {
    const ep = endpoint();
    ep.listen(80);
    expect(from(ep, 0, 40000, { seq: 777, flags: TCP_FIN, payload: 10 })).toBe(true);
    expect(out(ep, 0)).toEqual([]);
  });

  it('returns_false_when_no_connection_or_listener_wants_the_segment', () => {
    const ep = endpoint();
    ep.listen(80);
    // The IP layer sends the closed-port reply then (RFC 9293 §3.10.7.1).
    expect(from(ep, 0, 40000, PEER_SYN, 81)).toBe(false);
    expect(out(ep, 0)).toEqual([]);
  });

  it('drops_and_counts_syns_beyond_the_backlog', () => {
    const ep = endpoint();
    const l = ep.listen(80, 2);
    from(ep, 0, 40001, PEER_SYN);
    from(ep, 0, 40002, PEER_SYN);
    expect(from(ep, 0, 40003, PEER_SYN)).toBe(true);
    expect(out(ep, 0)).toHaveLength(2);
    expect(ep.size).toBe(2);
    expect(l.overflows).toBe(1);
    expect(ep.counters.synDroppedBacklog).toBe(1);
    // One handshake completes: room for one more.
    from(ep, 10, 40001, { seq: IRS + 1, ack: ISS + 1, flags: TCP_ACK });
    out(ep, 10);
    expect(l.embryonic).toBe(1);
    from(ep, 20, 40003, PEER_SYN);
    expect(out(ep, 20)).toHaveLength(1);
    expect(ep.size).toBe(3);
  });

  it('forgets_an_embryonic_connection_whose_syn_ack_is_never_answered', () => {
    const ep = endpoint({ tcb: { synAckRetries: 1 } });
    const l = ep.listen(80);
    from(ep, 0, 40000, PEER_SYN);
    out(ep, 0);
    for (let at = ep.pollTimeout(); at !== undefined; at = ep.pollTimeout()) {
      ep.handleTimeout(at);
      out(ep, at);
    }
    expect(ep.size).toBe(0);
    expect(l.embryonic).toBe(0);
  });

  it('refuses_a_second_listener_on_a_port', () => {
    const ep = endpoint();
    ep.listen(80);
    expect(() => ep.listen(80)).toThrow(/already listening/);
    expect(() => ep.listen(0)).toThrow(RangeError);
  });
});

describe('the connection table', () => {
  it('removes_a_connection_once_it_is_closed', () => {
    const ep = endpoint();
    ep.listen(80);
    const tcb = accept(ep, 0, 40000);
    expect(ep.size).toBe(1);
    // Passive close: the peer's FIN, our close, the ACK of our FIN.
    from(ep, 10, 40000, { seq: IRS + 1, ack: ISS + 1, flags: TCP_FIN | TCP_ACK });
    out(ep, 10);
    tcb.close(20);
    ep.touch(tcb);
    const o = out(ep, 20);
    expect(o.map((x) => x.repr.flags)).toEqual([TCP_FIN | TCP_ACK]);
    from(ep, 30, 40000, { seq: IRS + 2, ack: ISS + 2, flags: TCP_ACK });
    out(ep, 30);
    expect(tcb.state).toBe('CLOSED');
    expect(ep.size).toBe(0);
    expect(evs(ep).some((e) => e.kind === 'connection' && e.event.type === 'closed')).toBe(true);
    // The port is free again: a stray segment for it is nobody's.
    expect(from(ep, 40, 40000, { seq: IRS + 2, ack: ISS + 2, flags: TCP_ACK }, 81)).toBe(false);
  });

  it('opens_active_connections_from_ephemeral_ports', () => {
    const ep = endpoint();
    const a = ep.connect(0, REMOTE_ADDR, 443);
    const b = ep.connect(0, REMOTE_ADDR, 443);
    expect(a.localPort).toBe(50000);
    expect(b.localPort).toBe(50001);
    const o = out(ep, 0);
    expect(o.map((x) => [x.repr.srcPort, x.repr.dstPort, x.repr.flags])).toEqual([
      [50000, 443, TCP_SYN],
      [50001, 443, TCP_SYN],
    ]);
    expect(ep.counters.activeOpens).toBe(2);
    expect(ep.size).toBe(2);
  });

  it('leaves_only_time_wait_entries_after_1000_connections_and_they_expire_after_2_msl', () => {
    const ep = endpoint();
    ep.listen(80);
    let t = 0;
    for (let i = 0; i < 1000; i++) {
      const port = 20000 + i;
      const tcb = accept(ep, t, port);
      // We close first (active close): our side ends in TIME-WAIT.
      tcb.close(t + 2);
      ep.touch(tcb);
      expect(out(ep, t + 2).map((x) => x.repr.flags)).toEqual([TCP_FIN | TCP_ACK]);
      from(ep, t + 3, port, { seq: IRS + 1, ack: ISS + 2, flags: TCP_FIN | TCP_ACK });
      expect(out(ep, t + 3).map((x) => x.repr.flags)).toEqual([TCP_ACK]);
      expect(tcb.state).toBe('TIME-WAIT');
      t += 5;
    }
    evs(ep);
    expect(ep.size).toBe(1000);
    expect(ep.connections().every((c) => c.state === 'TIME-WAIT')).toBe(true);
    const last = t - 5 + 3;
    expect(ep.pollTimeout()).toBe(3 + 60_000); // the first one's 2 MSL
    ep.handleTimeout(last + 59_999);
    out(ep, last + 59_999);
    expect(ep.size).toBe(1);
    ep.handleTimeout(last + 60_000);
    out(ep, last + 60_000);
    expect(ep.size).toBe(0);
    expect(ep.pollTimeout()).toBeUndefined();
  });
});

describe('TIME-WAIT and a new SYN', () => {
  /** A connection from port 40000 that we closed first, now in TIME-WAIT; its last segment sent. */
  function inTimeWait() {
    const ep = endpoint();
    ep.listen(80);
    const tcb = accept(ep, 0, 40000);
    tcb.write(new Uint8Array(1000));
    tcb.close(2);
    ep.touch(tcb);
    out(ep, 2); // data + FIN: ISS+1 .. ISS+1001, FIN at ISS+1001
    from(ep, 3, 40000, { seq: IRS + 1, ack: ISS + 1002, flags: TCP_FIN | TCP_ACK });
    out(ep, 3);
    expect(tcb.state).toBe('TIME-WAIT');
    evs(ep);
    return { ep, tcb };
  }

  it('reopens_for_a_syn_beyond_the_old_sequence_space', () => {
    const { ep, tcb } = inTimeWait();
    // RFC 9293 §3.10.7.4 / RFC 1122 §4.2.2.13: a new SYN with SEG.SEQ > RCV.NXT may reopen.
    expect(from(ep, 100, 40000, { ...PEER_SYN, seq: IRS + 100_000 })).toBe(true);
    expect(ep.counters.timeWaitReused).toBe(1);
    const o = out(ep, 100);
    expect(o).toHaveLength(1);
    expect(o[0]!.repr).toMatchObject({ flags: TCP_SYN | TCP_ACK, ack: IRS + 100_001 });
    // RFC 1122 §4.2.2.13 (a): the new connection's ISN must be larger than the largest sequence
    // number used by the old one (ISS+1001, the FIN) — even with an ISN generator that repeats.
    expect(gt(o[0]!.repr.seq, ISS + 1001)).toBe(true);
    const fresh = ep.connections();
    expect(fresh).toHaveLength(1);
    expect(fresh[0]).not.toBe(tcb);
    expect(fresh[0]!.state).toBe('SYN-RECEIVED');
    // The old TCB ends with the usual 'closed' event (the socket layer releases on it), no RST.
    expect(tcb.state).toBe('CLOSED');
    expect(evs(ep).filter((e) => e.kind === 'connection' && e.tcb === tcb).map((e) => e.kind === 'connection' && e.event.type)).toEqual(['state', 'closed']);
    expect(o[0]!.repr.flags & TCP_RST).toBe(0);
  });

  it('answers_an_old_syn_with_a_challenge_ack_from_the_time_wait_tcb', () => {
    const { ep, tcb } = inTimeWait();
    expect(from(ep, 100, 40000, { ...PEER_SYN, seq: IRS - 100 })).toBe(true);
    const o = out(ep, 100);
    // The TIME-WAIT TCB answers <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> (RFC 5961 §4.2 / RFC 9293 unacceptable segment).
    expect(o.map((x) => x.repr)).toMatchObject([{ seq: ISS + 1002, ack: IRS + 2, flags: TCP_ACK }]);
    expect(ep.counters.timeWaitReused).toBe(0);
    expect(tcb.state).toBe('TIME-WAIT');
    expect(ep.connections()).toEqual([tcb]);
  });
});
