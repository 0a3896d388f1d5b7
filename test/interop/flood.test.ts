// 100,000 malformed packets written onto the TUN from the kernel side: tunstack stays up, keeps
// answering ping, and its counters account for every packet it read (accepted + dropped = received).

import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunningStack } from '../../src/cli/running-stack.js';
import { totalAccepted, totalDropped, type IpCounters } from '../../src/ip/counters.js';
import { ROOT, freshNetns, inNs, isRoot, netnsList, sh } from '../helpers/harness.js';

const COUNT = 100_000;

async function txDropped(ns: string, dev: string): Promise<number> {
  const r = await sh('ip', ['-n', ns, '-s', '-j', 'link', 'show', 'dev', dev]);
  const info = JSON.parse(r.stdout) as Array<{ stats64: { tx: { dropped: number } } }>;
  return info[0]!.stats64.tx.dropped;
}

describe.skipIf(!isRoot)('malformed packet flood through a real TUN (root)', () => {
  const ns = freshNetns();
  let running: RunningStack;

  beforeAll(async () => {
    running = await RunningStack.start({ addr: '198.18.0.2', peer: '198.18.0.1/24', mtu: 1500, netns: ns });
  });

  afterAll(async () => {
    await running?.close();
    if ((await netnsList()).includes(ns)) await sh('ip', ['netns', 'del', ns]);
  });

  it('survives_100k_malformed_packets_and_accounts_for_them', async () => {
    const dev = running.tun.name;
    const before: IpCounters = running.stack.counters();
    const droppedBefore = await txDropped(ns, dev);
    const linkDropsBefore = running.tun.stats().offloadMalformed;

    const gen = await inNs(ns, 'python3', [join(ROOT, 'test/interop/flood.py'), dev, String(COUNT), '20251128', '120'], 180_000);
    expect(gen.code, gen.stderr).toBe(0);
    const report = JSON.parse(gen.stdout) as { sent: number; refused: number; kinds: Record<string, number> };
    expect(report.sent + report.refused).toBe(COUNT);
    expect(report.sent).toBeGreaterThan(COUNT * 0.99);

    // Let tunstack drain what is still queued on the device.
    await new Promise((r) => setTimeout(r, 500));
    const after = running.stack.counters();
    const queueDrops = (await txDropped(ns, dev)) - droppedBefore;
    const received = after.rxPackets - before.rxPackets;
    // With offloads the link itself drops frames its virtio-net decoder refuses (too short, bad offsets).
    const linkDrops = running.tun.stats().offloadMalformed - linkDropsBefore;

    // Every packet the generator put on the wire either reached tunstack or was dropped by the device queue
    // (the kernel may add a few of its own, e.g. IPv6 router solicitations, hence >=).
    expect(received + queueDrops + linkDrops).toBeGreaterThanOrEqual(report.sent);
    // Every packet tunstack read is accounted as accepted or dropped, by reason.
    expect(totalAccepted(after) + totalDropped(after)).toBe(after.rxPackets + after.reassembled);
    const d = (k: keyof IpCounters['dropped']) => (after.dropped[k] ?? 0) - (before.dropped[k] ?? 0);
    expect(d('ip-bad-checksum')).toBeGreaterThanOrEqual(report.kinds['ip-bad-checksum']! - queueDrops - linkDrops);
    expect(d('not-for-us')).toBeGreaterThanOrEqual(report.kinds['not-for-us']! - queueDrops);
    expect(d('udp-bad-checksum')).toBeGreaterThanOrEqual(report.kinds['udp-bad-checksum']! - queueDrops);
    expect(d('tcp-bad-checksum')).toBeGreaterThanOrEqual(report.kinds['tcp-bad-checksum']! - queueDrops);
    expect(d('tcp-bad-flags')).toBeGreaterThanOrEqual(report.kinds['tcp-syn-rst']! - queueDrops);
    const fragments = d('ip-fragment-bad-length') + d('ip-fragment-overlap') + after.accepted.fragment - before.accepted.fragment;
    expect(fragments).toBeGreaterThanOrEqual(report.kinds['ip-fragment']! - queueDrops);
    expect(d('martian-source')).toBeGreaterThanOrEqual(report.kinds['martian-source']! - queueDrops);
    expect(after.tcpResetsSent - before.tcpResetsSent).toBeGreaterThan(0);
    expect(after.icmpErrorsRateLimited - before.icmpErrorsRateLimited).toBeGreaterThan(0);

    // Still alive and answering.
    const ping = await inNs(ns, 'ping', ['-c', '3', '-i', '0.2', '-W', '2', '198.18.0.2']);
    expect(ping.stdout).toMatch(/3 packets transmitted, 3 received/);
  });
});
