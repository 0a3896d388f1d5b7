// `tunstack serve` when the kernel refuses the TUN offloads (IFF_VNET_HDR/TUNSETOFFLOAD): it falls
// back to a plain TUN, says why, and still serves. This kernel has the offloads, so the refusal is
// simulated through the test-only seam TUNSTACK_TEST_REFUSE_OFFLOAD=1 (TunLink makes TUNSETOFFLOAD
// fail with EINVAL, as a kernel without TSO4 would).

import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deterministicBytes } from '../../src/apps/http-handler.js';
import { freshNetns, inNs, isRoot, netnsList, sh, startServe, type ServeProcess } from '../helpers/harness.js';

const MiB10 = 10 * 1024 * 1024;

describe.skipIf(!isRoot)('tunstack serve without offloads when the kernel refuses them (root)', () => {
  const ns = freshNetns();
  const dir = mkdtempSync(join(tmpdir(), 'tunstack-fallback-'));
  const pcap = join(dir, 'fallback.pcapng');
  let serve: ServeProcess;

  beforeAll(async () => {
    serve = await startServe(['--netns', ns, '--pcap', pcap], { TUNSTACK_TEST_REFUSE_OFFLOAD: '1' });
  });

  afterAll(async () => {
    if (serve) await serve.stop();
    if ((await netnsList()).includes(ns)) await sh('ip', ['netns', 'del', ns]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports_the_fallback_reason', () => {
    expect(serve.stderr()).toMatch(/offloads unavailable \(setting TUN offloads failed: Invalid argument \(simulated: TUNSTACK_TEST_REFUSE_OFFLOAD=1\)\)/);
    expect(serve.stderr()).not.toMatch(/offloads on/);
  });

  it('serves_10_MiB_byte_exact_over_the_plain_tun', async () => {
    const h = createHash('sha256');
    for (let off = 0; off < MiB10; off += 1 << 20) h.update(deterministicBytes(off, Math.min(1 << 20, MiB10 - off)));
    const r = await inNs(ns, 'sh', ['-c', `curl -sS --max-time 60 http://198.18.0.2/bytes/${MiB10} | sha256sum`], 90_000);
    expect(r.stderr).toBe('');
    expect(r.stdout.split(' ')[0]).toBe(h.digest('hex'));
  });

  it('stops_cleanly_and_its_capture_holds_no_packet_above_the_mtu', async () => {
    expect(await serve.stop()).toBe(0);
    expect(await netnsList()).not.toContain(ns);
    // A plain TUN: no GRO super-segments in, no TSO super-segments out.
    const all = await sh('tshark', ['-r', pcap, '-Y', 'tcp.len > 0']);
    expect(all.stdout.trim().split('\n').length).toBeGreaterThan(1000);
    const big = await sh('tshark', ['-r', pcap, '-Y', 'frame.len > 1500']);
    expect(big.code).toBe(0);
    expect(big.stdout.trim()).toBe('');
  });
});
