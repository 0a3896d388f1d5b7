// Two tunstack endpoints over the simulated network: handshake, bulk transfer both ways under
// loss, reordering and duplication, byte-exact and deterministic.

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Tcb, TcbOptions } from '../../src/tcp/tcb.js';
import { Cubic } from '../../src/tcp/cc/cubic.js';
import { mulberry32 } from '../helpers/prng.js';
import { SimNetwork, type LinkImpairments } from './network.js';
import { A_ADDR, B_ADDR, makePeer, pumpEvents, sawEvent, transitions, type Peer } from './tcp-peers.js';

function payload(n: number, seed: number): Uint8Array {
  const rng = mulberry32(seed);
  return rng.bytes(n);
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

interface Flow {
  src: Uint8Array;
  written: number;
  received: Uint8Array[];
  receivedBytes: number;
  closed: boolean;
}

/**
 * Moves data from `from` to `to` through the TCB API: write as space allows, read what arrives.
 * `from` closes once everything is written and `closeWhen()` holds.
 */
function pump(now: number, from: Tcb, to: Tcb, flow: Flow, fromPeer: Peer, toPeer: Peer, closeWhen: () => boolean): void {
  if (flow.written < flow.src.length && (from.state === 'ESTABLISHED' || from.state === 'CLOSE-WAIT')) {
    const n = from.write(flow.src.subarray(flow.written, flow.written + 65536));
    flow.written += n;
    if (n > 0) fromPeer.tcp.touch(from);
  }
  if (flow.written === flow.src.length && !flow.closed && closeWhen()) {
    flow.closed = true;
    from.close(now);
    fromPeer.tcp.touch(from);
  }
  for (let d = to.read(); d !== undefined; d = to.read()) {
    flow.received.push(d);
    flow.receivedBytes += d.length;
    toPeer.tcp.touch(to);
  }
  fromPeer.host.flushTcp(now);
  toPeer.host.flushTcp(now);
}

function transfer(bytes: number, impair: LinkImpairments, seed: number, tcb: Omit<TcbOptions, 'mss'> = {}) {
  const net = new SimNetwork({ seed, latencyMs: 5, ...impair });
  const a = makePeer(A_ADDR, { tcb });
  const b = makePeer(B_ADDR, { tcb });
  net.attach(a.host, 'A');
  net.attach(b.host, 'B');
  b.tcp.listen(80);
  const client = a.tcp.connect(net.now, B_ADDR, 80);
  a.host.flushTcp(net.now);
  net.runUntil(() => {
    pumpEvents(a);
    pumpEvents(b);
    return b.accepted.length === 1 && client.state === 'ESTABLISHED';
  });
  const server = b.accepted[0]!;
  const up: Flow = { src: payload(bytes, seed), written: 0, received: [], receivedBytes: 0, closed: false };
  const down: Flow = { src: payload(bytes, seed + 1), written: 0, received: [], receivedBytes: 0, closed: false };
  // The client closes when it has written everything; the server once it has seen the client's FIN
  // and written everything: FIN-WAIT-1 → FIN-WAIT-2 → TIME-WAIT on one side, CLOSE-WAIT → LAST-ACK → CLOSED on the other.
  const stats = net.runUntil(
    () => {
      pumpEvents(a);
      pumpEvents(b);
      pump(net.now, client, server, up, a, b, () => true);
      pump(net.now, server, client, down, b, a, () => sawEvent(b, server, 'eof'));
      return up.receivedBytes === bytes && down.receivedBytes === bytes && client.state === 'TIME-WAIT' && server.state === 'CLOSED';
    },
    { maxTimeMs: 3_600_000, maxEvents: 20_000_000 },
  );
  const concat = (parts: Uint8Array[]) => Buffer.concat(parts);
  return { up, down, client, server, stats, net, a, b, upHash: sha(concat(up.received)), downHash: sha(concat(down.received)) };
}

describe('two tunstack endpoints over a simulated link', () => {
  it('moves_1_MB_both_ways_on_a_clean_link_and_closes_cleanly', () => {
    const r = transfer(1 << 20, {}, 1);
    expect(r.upHash).toBe(sha(r.up.src));
    expect(r.downHash).toBe(sha(r.down.src));
    expect(transitions(r.a, r.client)).toEqual([
      'CLOSED → SYN-SENT',
      'SYN-SENT → ESTABLISHED',
      'ESTABLISHED → FIN-WAIT-1',
      'FIN-WAIT-1 → FIN-WAIT-2',
      'FIN-WAIT-2 → TIME-WAIT',
    ]);
    expect(transitions(r.b, r.server)).toEqual([
      'LISTEN → SYN-RECEIVED',
      'SYN-RECEIVED → ESTABLISHED',
      'ESTABLISHED → CLOSE-WAIT',
      'CLOSE-WAIT → LAST-ACK',
      'LAST-ACK → CLOSED',
    ]);
    expect(r.client.info().retransmits + r.server.info().retransmits).toBe(0);
    // TIME-WAIT lasts 2*MSL, then the table is empty.
    r.net.runFor(60_001);
    pumpEvents(r.a);
    expect(r.client.state).toBe('CLOSED');
    expect(r.a.tcp.size).toBe(0);
    expect(r.b.tcp.size).toBe(0);
  });

  it('moves_20_MB_both_ways_byte_exact_under_5_percent_loss_reordering_and_duplication', () => {
    const impair = { lossRate: 0.05, reorderRate: 0.05, duplicateRate: 0.05, jitterMs: 1 };
    const r = transfer(20 << 20, impair, 7);
    expect(r.upHash).toBe(sha(r.up.src));
    expect(r.downHash).toBe(sha(r.down.src));
    expect(r.client.info().retransmits).toBeGreaterThan(0);
    // Deterministic: the same seed replays the same packets.
    const again = transfer(20 << 20, impair, 7);
    expect(again.net.traceHash).toBe(r.net.traceHash);
  });

  it('moves_20_MB_both_ways_with_window_scaling_timestamps_sack_and_cubic_under_loss', () => {
    const modern = {
      windowScaling: true,
      timestamps: true,
      sack: true,
      recvBufferSize: 1 << 20,
      congestionControl: (mss: number, iw?: number) => new Cubic(mss, iw),
    };
    const impair = { lossRate: 0.02, reorderRate: 0.05, duplicateRate: 0.02, jitterMs: 1 };
    const r = transfer(20 << 20, impair, 11, modern);
    expect(r.upHash).toBe(sha(r.up.src));
    expect(r.downHash).toBe(sha(r.down.src));
    const again = transfer(20 << 20, impair, 11, modern);
    expect(again.net.traceHash).toBe(r.net.traceHash);
  });

  it('retransmits_fewer_bytes_with_sack_than_without_under_1_percent_loss', () => {
    const base = { windowScaling: true, timestamps: true, recvBufferSize: 1 << 20 };
    const impair = { lossRate: 0.01 };
    const withSack = transfer(8 << 20, impair, 21, { ...base, sack: true });
    const without = transfer(8 << 20, impair, 21, { ...base, sack: false });
    for (const r of [withSack, without]) {
      expect(r.upHash).toBe(sha(r.up.src));
      expect(r.downHash).toBe(sha(r.down.src));
    }
    const resent = (r: typeof withSack) => r.client.info().bytesRetransmitted + r.server.info().bytesRetransmitted;
    expect(resent(withSack)).toBeGreaterThan(0);
    expect(resent(withSack)).toBeLessThan(resent(without));
  });
});
