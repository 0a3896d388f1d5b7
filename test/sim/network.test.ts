// The simulated network itself, proven with two Ipv4Hosts: timing, seeded impairments and their
// determinism, deadline-driven clock jumps (reassembly timeout), routing, and the run bounds.

import { describe, expect, it } from 'vitest';
import { Ipv4Host } from '../../src/ip/host.js';
import { fragmentPacket } from '../../src/ip/fragment.js';
import { totalDropped } from '../../src/ip/counters.js';
import { emitIcmp, icmpLen, parseIcmp, type IcmpMessage } from '../../src/wire/icmp.js';
import { emitIpv4Header, IPPROTO_ICMP, IPV4_HEADER_LEN, parseIpv4 } from '../../src/wire/ipv4.js';
import { mulberry32 } from '../helpers/prng.js';
import { MinHeap } from './heap.js';
import { SimNetwork, type PacketFate, type SansIoHost, type SimNetworkOptions } from './network.js';

const A_ADDR = 0xc6120001; // 198.18.0.1
const B_ADDR = 0xc6120002; // 198.18.0.2
const C_ADDR = 0xc6120003; // 198.18.0.3

function echoRequest(seq: number, opts: { src?: number; dst?: number; dataLen?: number; id?: number } = {}): Uint8Array {
  const data = new Uint8Array(opts.dataLen ?? 56).map((_, i) => (i + seq) & 0xff);
  const msg: IcmpMessage = { type: 'echo-request', id: 0x4242, seq, data };
  const len = icmpLen(msg);
  const pkt = new Uint8Array(IPV4_HEADER_LEN + len);
  emitIpv4Header(
    { src: opts.src ?? A_ADDR, dst: opts.dst ?? B_ADDR, protocol: IPPROTO_ICMP, payloadLength: len, id: opts.id ?? seq },
    pkt,
    0,
  );
  emitIcmp(msg, pkt, IPV4_HEADER_LEN);
  return pkt;
}

/** The ICMP message in a (well-formed) packet, or undefined. */
function icmpOf(bytes: Uint8Array): IcmpMessage | undefined {
  const ip = parseIpv4(bytes);
  if (!ip.ok || ip.value.protocol !== IPPROTO_ICMP) return undefined;
  const m = parseIcmp(ip.value.payload);
  return m.ok ? m.value : undefined;
}

function seqOf(bytes: Uint8Array): number | undefined {
  const m = icmpOf(bytes);
  return m && (m.type === 'echo-request' || m.type === 'echo-reply') ? m.seq : undefined;
}

interface TapRecord {
  from: string;
  to: string;
  bytes: Uint8Array;
  fate: PacketFate;
}

function setup(opts: SimNetworkOptions) {
  const net = new SimNetwork(opts);
  const a = new Ipv4Host({ address: A_ADDR, mtu: 1500 });
  const b = new Ipv4Host({ address: B_ADDR, mtu: 1500 });
  net.attach(a, 'A');
  net.attach(b, 'B');
  const log: TapRecord[] = [];
  net.onPacket = (from, to, bytes, fate) => log.push({ from, to, bytes, fate });
  const delivered = (from: string) => log.filter((r) => r.from === from && r.fate.kind === 'delivered');
  const sent = (from: string) => log.filter((r) => r.from === from && r.fate.kind === 'sent');
  return { net, a, b, log, delivered, sent };
}

/** Sends `n` pings from A, one per `gapMs`, then runs until nothing is left in flight. */
function pingMany(net: SimNetwork, n: number, gapMs = 1): void {
  for (let i = 0; i < n; i++) {
    net.send('A', echoRequest(i));
    net.runFor(gapMs);
  }
  net.runUntil(() => net.inFlight === 0);
}

/** A host with nothing to say and a deadline every `periodMs`, forever: a hung protocol. */
class TickingHost implements SansIoHost {
  ticks = 0;
  private deadline: number;
  constructor(private readonly periodMs: number) {
    this.deadline = periodMs;
  }
  handlePacket(): void {}
  pollTransmit(): Uint8Array | undefined {
    return undefined;
  }
  pollTimeout(): number | undefined {
    return this.deadline;
  }
  handleTimeout(now: number): void {
    this.ticks++;
    this.deadline = now + this.periodMs;
  }
}

describe('SimNetwork: a clean link', () => {
  it('answers 1000 echoes, each packet arriving exactly latencyMs after it was sent', () => {
    const { net, a, b, delivered } = setup({ seed: 1, latencyMs: 7 });
    for (let i = 0; i < 1000; i++) {
      net.send('A', echoRequest(i)); // a user action at the current virtual time
      expect(net.now).toBe(i);
      net.runFor(1);
    }
    net.runUntil(() => a.counters.accepted.icmp === 1000);
    expect(b.counters.echoRepliesSent).toBe(1000);
    expect(net.now).toBe(999 + 14);

    const requests = delivered('A');
    const replies = delivered('B');
    expect(requests).toHaveLength(1000);
    expect(replies).toHaveLength(1000);
    for (const r of [...requests, ...replies]) {
      if (r.fate.kind !== 'delivered') throw new Error('unreachable');
      expect(r.fate.at - r.fate.sentAt).toBe(7);
    }
    // Request i left at t=i; its reply came back one round trip later, in order.
    replies.forEach((r, i) => {
      expect(seqOf(r.bytes)).toBe(i);
      expect(r.fate.kind === 'delivered' && r.fate.at).toBe(i + 14);
    });
    const ids = requests.map((r) => r.fate.id);
    expect(ids).toEqual([...ids].sort((x, y) => x - y));

    const ab = net.stats('A', 'B');
    expect(ab).toMatchObject({ sent: 1000, delivered: 1000, dropped: 0, duplicated: 0, reordered: 0, corrupted: 0 });
    expect(ab.bytes).toBe(1000 * 84);
    expect(net.totals().delivered).toBe(2000);
    expect(net.inFlight).toBe(0);
  });

  it('with jitter, every arrival is within [latency, latency + jitter)', () => {
    const { net, b, delivered } = setup({ seed: 3, latencyMs: 20, jitterMs: 5 });
    pingMany(net, 300);
    expect(b.counters.echoRepliesSent).toBe(300);
    const delays = delivered('A').map((r) => (r.fate.kind === 'delivered' ? r.fate.at - r.fate.sentAt : -1));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(20);
    expect(Math.max(...delays)).toBeLessThan(25);
    expect(new Set(delays).size).toBeGreaterThan(100);
  });
});

describe('SimNetwork: loss and determinism', () => {
  function lossyRun(seed: number) {
    const { net, a, b } = setup({ seed, lossRate: 0.1 });
    pingMany(net, 1000);
    return {
      answered: a.counters.accepted.icmp,
      replies: b.counters.echoRepliesSent,
      ab: { ...net.stats('A', 'B') },
      ba: { ...net.stats('B', 'A') },
      hash: net.traceHash,
      now: net.now,
    };
  }

  it('drops about 10% each way, and the counts agree with the hosts', () => {
    const r = lossyRun(1);
    expect(r.ab.sent).toBe(1000);
    expect(r.ab.lost + r.ab.delivered).toBe(1000);
    expect(r.replies).toBe(r.ab.delivered);
    expect(r.ba.sent).toBe(r.replies);
    expect(r.answered).toBe(r.ba.delivered);
    // Binomial around 0.9 * 0.9 * 1000 = 810 (sd ≈ 12).
    expect(r.answered).toBeGreaterThan(760);
    expect(r.answered).toBeLessThan(860);
    // Pinned for seed 1. Fates come from a fixed six draws per packet from a per-direction PRNG, so this
    // moves only if the harness's PRNG use changes, not if the hosts' packets do.
    expect(r.answered).toBe(807);
  });

  it('same seed → the same trace; different seed → a different one', () => {
    const r1 = lossyRun(1);
    const r2 = lossyRun(1);
    expect(r2).toEqual(r1);
    const r3 = lossyRun(2);
    expect(r3.hash).not.toBe(r1.hash);
    expect(r3.answered).not.toBe(r1.answered);
  });

  it('per-direction overrides: a one-way blackhole', () => {
    const { net, a, b } = setup({ seed: 5, links: { 'B->A': { lossRate: 1 } } });
    pingMany(net, 50);
    expect(b.counters.echoRepliesSent).toBe(50);
    expect(a.counters.rxPackets).toBe(0);
    expect(net.stats('B', 'A').lost).toBe(50);
  });

  it('configure() changes a direction mid-run', () => {
    const { net, a } = setup({ seed: 6 });
    pingMany(net, 20);
    net.configure('A', 'B', { lossRate: 1 });
    pingMany(net, 20);
    net.configure('A', 'B', { lossRate: 0 });
    pingMany(net, 20);
    expect(a.counters.accepted.icmp).toBe(40);
  });
});

describe('SimNetwork: corruption, reordering, duplication', () => {
  it('corrupted packets are caught by the receiver and never answered', () => {
    const { net, a, b, sent } = setup({ seed: 11, corruptRate: 0.2 });
    pingMany(net, 500);
    const ab = net.stats('A', 'B');
    const ba = net.stats('B', 'A');
    expect(ab.corrupted).toBeGreaterThan(60);
    expect(ba.corrupted).toBeGreaterThan(40);
    // Every corrupted packet was dropped by its receiver, every intact one accepted.
    expect(totalDropped(b.counters)).toBe(ab.corrupted);
    expect(totalDropped(a.counters)).toBe(ba.corrupted);
    expect(b.counters.echoRepliesSent).toBe(500 - ab.corrupted);
    expect(a.counters.accepted.icmp).toBe(b.counters.echoRepliesSent - ba.corrupted);
    const checksumDrops = (b.counters.dropped['ip-bad-checksum'] ?? 0) + (b.counters.dropped['icmp-bad-checksum'] ?? 0);
    expect(checksumDrops).toBeGreaterThan(0);
    for (const reason of Object.keys(b.counters.dropped)) {
      expect(['ip-bad-checksum', 'icmp-bad-checksum', 'ip-bad-version', 'ip-bad-header-length', 'ip-bad-total-length', 'ip-truncated']).toContain(reason);
    }
    // The tap sees the packet as sent (before the flip): no reply to any corrupted request.
    const corruptedSeqs = new Set(sent('A').filter((r) => r.fate.kind === 'sent' && r.fate.corrupted).map((r) => seqOf(r.bytes)));
    const repliedSeqs = new Set(sent('B').map((r) => seqOf(r.bytes)));
    expect(corruptedSeqs.size).toBe(ab.corrupted);
    for (let i = 0; i < 500; i++) expect(repliedSeqs.has(i)).toBe(!corruptedSeqs.has(i));
  });

  it('reordering holds packets back so later ones overtake them', () => {
    const { net, b, delivered } = setup({ seed: 21, reorderRate: 0.2 });
    pingMany(net, 300);
    expect(b.counters.echoRepliesSent).toBe(300);
    const order = delivered('A').map((r) => r.fate.id);
    expect(order).toHaveLength(300);
    expect(order).not.toEqual([...order].sort((x, y) => x - y));
    const held = delivered('A').filter((r) => r.fate.kind === 'delivered' && r.fate.reordered);
    expect(held.length).toBe(net.stats('A', 'B').reordered);
    expect(held.length).toBeGreaterThan(30);
    // Each held packet arrived after some packet sent later (default hold-back: latency + jitter + 1 = 11 ms),
    // unless nothing was sent after it.
    for (const h of held) {
      const pos = order.indexOf(h.fate.id);
      expect(order.slice(0, pos).some((id) => id > h.fate.id) || h.fate.sentAt >= 300 - 11).toBe(true);
      if (h.fate.kind === 'delivered') expect(h.fate.at - h.fate.sentAt).toBe(21);
    }
  });

  it('duplication delivers a second copy, and each copy is answered', () => {
    const { net, a, b, delivered } = setup({ seed: 31, duplicateRate: 0.25 });
    pingMany(net, 200);
    const ab = net.stats('A', 'B');
    const ba = net.stats('B', 'A');
    expect(ab.duplicated).toBeGreaterThan(25);
    expect(ab.delivered).toBe(200 + ab.duplicated);
    expect(b.counters.echoRepliesSent).toBe(200 + ab.duplicated);
    expect(a.counters.accepted.icmp).toBe(b.counters.echoRepliesSent + ba.duplicated);
    const copies = delivered('A').filter((r) => r.fate.kind === 'delivered' && r.fate.copy === 1);
    expect(copies).toHaveLength(ab.duplicated);
    for (const c of copies) {
      const first = delivered('A').find((r) => r.fate.id === c.fate.id && r !== c);
      expect(first?.bytes).toEqual(c.bytes);
      expect(first?.bytes).not.toBe(c.bytes); // separate buffers
    }
  });
});

describe('SimNetwork: bandwidth and MTU', () => {
  it('serializes packets at the link rate, then adds latency', () => {
    const { net, b, delivered } = setup({ seed: 1, latencyMs: 5, bandwidthBytesPerMs: 100 });
    for (let i = 0; i < 10; i++) net.send('A', echoRequest(i, { dataLen: 1000 - 28 }));
    net.runUntil(() => b.counters.echoRepliesSent === 10);
    const at = delivered('A').map((r) => (r.fate.kind === 'delivered' ? r.fate.at : -1));
    expect(at).toEqual([15, 25, 35, 45, 55, 65, 75, 85, 95, 105]);
  });

  it('drops what does not fit the queue (drop-tail) or the MTU', () => {
    const { net, b } = setup({ seed: 1, bandwidthBytesPerMs: 100, queueLimitBytes: 3000, links: { 'A->B': { mtu: 1200 } } });
    for (let i = 0; i < 10; i++) net.send('A', echoRequest(i, { dataLen: 1000 - 28 }));
    net.send('A', echoRequest(10, { dataLen: 1400 }));
    net.runUntil(() => net.inFlight === 0);
    expect(net.stats('A', 'B')).toMatchObject({ sent: 11, delivered: 3, queueFull: 7, tooBig: 1, dropped: 8 });
    expect(b.counters.echoRepliesSent).toBe(3);
  });
});

describe('SimNetwork: deadlines drive the clock', () => {
  it('jumps to the 30 s reassembly timeout and brings the Time Exceeded back, in virtual time', () => {
    const { net, a, b, delivered } = setup({ seed: 1, latencyMs: 10 });
    const frags = fragmentPacket(echoRequest(1, { dataLen: 3000 }), 1500);
    expect(frags).toHaveLength(3);
    net.runFor(1000);
    net.send('A', frags[0]!);
    net.send('A', frags[2]!);
    const t0 = performance.now();
    const run = net.runUntil(() => a.counters.accepted.icmp === 1);
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(b.counters.reassemblyTimeouts).toBe(1);
    expect(b.counters.echoRepliesSent).toBe(0);
    expect(net.now).toBe(1000 + 10 + 30_000 + 10);
    expect(run.elapsedMs).toBe(30_020);
    expect(run.events).toBeLessThan(10); // 2 deliveries, 1 timeout, 1 transmit, 1 delivery
    const back = delivered('B');
    expect(back).toHaveLength(1);
    expect(icmpOf(back[0]!.bytes)).toMatchObject({ type: 'time-exceeded', code: 1 });
  });

  it('all three fragments: reassembled, answered, and the fragmented reply reassembled by A', () => {
    const { net, a, b } = setup({ seed: 1, latencyMs: 10 });
    for (const f of fragmentPacket(echoRequest(1, { dataLen: 3000 }), 1500)) net.send('A', f);
    net.runUntil(() => a.counters.accepted.icmp === 1);
    expect(b.counters.reassembled).toBe(1);
    expect(b.counters.fragmentsSent).toBe(3);
    expect(a.counters.reassembled).toBe(1);
    expect(net.now).toBe(20);
  });
});

describe('SimNetwork: bounds and misuse', () => {
  it('maxEvents throws on a protocol that never stops', () => {
    const net = new SimNetwork({ seed: 1 });
    net.attach(new TickingHost(1), 'A');
    net.attach(new TickingHost(1), 'B');
    expect(() => net.runUntil(() => false, { maxEvents: 100 })).toThrow(/maxEvents=100 exceeded/);
  });

  it('maxTimeMs throws, leaving the clock at the bound', () => {
    const net = new SimNetwork({ seed: 1 });
    const tick = new TickingHost(1000);
    net.attach(tick, 'A');
    net.attach(new TickingHost(700), 'B');
    expect(() => net.runUntil(() => false, { maxTimeMs: 10_000 })).toThrow(/maxTimeMs=10000/);
    expect(net.now).toBe(10_000);
    expect(tick.ticks).toBe(10);
  });

  it('a host that transmits without end is stopped by maxEvents', () => {
    const net = new SimNetwork({ seed: 1 });
    const chatty: SansIoHost = {
      handlePacket: () => {},
      pollTransmit: () => echoRequest(0),
      pollTimeout: () => undefined,
      handleTimeout: () => {},
    };
    net.attach(chatty, 'A');
    net.attach(new Ipv4Host({ address: B_ADDR, mtu: 1500 }), 'B');
    expect(() => net.runFor(10, { maxEvents: 50 })).toThrow(/maxEvents=50/);
  });

  it('an idle network with the condition unmet throws instead of waiting', () => {
    const { net } = setup({ seed: 1 });
    expect(() => net.runUntil(() => false)).toThrow(/idle/);
  });

  it('runFor runs the deadlines in its window and stops the clock at its end', () => {
    const net = new SimNetwork({ seed: 1 });
    const tick = new TickingHost(1000);
    net.attach(tick, 'A');
    expect(net.runFor(5500).events).toBe(5);
    expect(net.now).toBe(5500);
    expect(tick.ticks).toBe(5);
  });

  it('rejects bad impairments and links naming unknown hosts', () => {
    expect(() => new SimNetwork({ seed: 1, lossRate: 1.5 })).toThrow(RangeError);
    expect(() => new SimNetwork({ seed: 1, links: { 'A->B': { latencyMs: -1 } } })).toThrow(RangeError);
    const { net } = setup({ seed: 1, links: { 'A->X': { lossRate: 0.5 } } });
    expect(() => net.runFor(1)).toThrow(/"A->X" names a host that is not attached/);
    expect(() => net.attach(new TickingHost(1), 'A')).toThrow(/already attached/);
  });
});

describe('SimNetwork: more than two hosts', () => {
  it('routes by IPv4 destination and counts the unroutable', () => {
    const net = new SimNetwork({ seed: 1 });
    const a = new Ipv4Host({ address: A_ADDR, mtu: 1500 });
    const b = new Ipv4Host({ address: B_ADDR, mtu: 1500 });
    const c = new Ipv4Host({ address: C_ADDR, mtu: 1500 });
    net.attach(a, 'A');
    net.attach(b, 'B');
    net.attach(c, 'C');
    net.send('A', echoRequest(1, { dst: C_ADDR }));
    net.send('A', echoRequest(2, { dst: 0xc6120009 }));
    net.runUntil(() => a.counters.accepted.icmp === 1);
    expect(c.counters.echoRepliesSent).toBe(1);
    expect(b.counters.rxPackets).toBe(0);
    expect(net.unroutable).toBe(1);
  });
});

describe('MinHeap', () => {
  it('pops in (time, seq) order', () => {
    const rng = mulberry32(9);
    const heap = new MinHeap<{ time: number; seq: number }>((x, y) => x.time < y.time || (x.time === y.time && x.seq < y.seq));
    const items = Array.from({ length: 2000 }, (_, seq) => ({ time: rng.int(50), seq }));
    for (const it of items) heap.push(it);
    const out: { time: number; seq: number }[] = [];
    for (let x = heap.pop(); x !== undefined; x = heap.pop()) out.push(x);
    expect(out).toEqual([...items].sort((x, y) => x.time - y.time || x.seq - y.seq));
    expect(heap.size).toBe(0);
  });
});
