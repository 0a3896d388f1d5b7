// nat mode on the wire: a capture of a session shows both legs (client ↔ VIP, tunstack ↔ backend)
// with correct checksums and nothing malformed (tshark), a 100 MiB download through the NAT is
// byte-exact, and the connection-tracking table empties once the flows have closed and timed out.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { inNs, isRoot, sh, TSHARK_BROKEN } from '../helpers/harness.js';
import { lbConfig, patternSha256, requestMany, startLbEnv, tally, waitFor, type LbEnv } from '../lb/lb-env.js';

const MiB100 = 100 * 1024 * 1024;
const MiB2 = 2 * 1024 * 1024;

describe.skipIf(!isRoot)('lb nat mode on the wire (root)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tunstack-lbnat-'));
  const pcap = join(dir, 'nat.pcapng');
  let env: LbEnv | undefined;
  afterEach(async () => {
    await env?.close();
    env = undefined;
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('captures_both_legs_of_a_session_with_good_checksums_and_nothing_malformed', async () => {
    env = await startLbEnv(lbConfig({ mode: 'nat', algo: 'maglev' }), { pcap });
    const ids = await requestMany(env.ns, 40, { parallel: 4 });
    expect(ids.filter((i) => i === 'ERR')).toHaveLength(0);
    console.log(`maglev over 40 client ports: ${JSON.stringify(tally(ids))}`);
    const r = await inNs(env.ns, 'sh', ['-c', `curl -sS --max-time 30 http://198.18.0.2/bytes/${MiB2} | sha256sum`], 40_000);
    expect(r.stdout.split(' ')[0]).toBe(patternSha256(MiB2));
    await env.close();
    env = undefined;
    // Both legs present: the client's SYN to the VIP and tunstack's SYN to a backend.
    const legs = await sh('tshark', ['-r', pcap, '-T', 'fields', '-e', 'ip.src', '-e', 'ip.dst', '-Y', 'tcp.flags.syn == 1 && tcp.flags.ack == 0'], 60_000);
    const pairs = new Set(legs.stdout.trim().split('\n'));
    expect(pairs).toContain('198.18.0.1\t198.18.0.2');
    expect([...pairs].filter((p) => /^198\.18\.0\.2\t198\.18\.1\.1[1-4]$/.test(p)).length).toBeGreaterThanOrEqual(2);
    const bad = await sh('tshark', ['-r', pcap, '-o', 'ip.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE',
      '-Y', `ip.checksum.status == "Bad" || tcp.checksum.status == "Bad" || ${TSHARK_BROKEN}`], 60_000);
    expect(bad.code).toBe(0);
    expect(bad.stdout.trim()).toBe('');
    const good = await sh('tshark', ['-r', pcap, '-o', 'tcp.check_checksum:TRUE', '-Y', 'tcp.checksum.status == "Good"', '-c', '5'], 60_000);
    expect(good.stdout.trim().split('\n')).toHaveLength(5); // checksums were really checked
  }, 120_000);

  it('moves_100_MiB_byte_exact_and_empties_the_conntrack_table_after_close_and_timeout', async () => {
    env = await startLbEnv(lbConfig({ mode: 'nat', algo: 'roundrobin' }, { conntrack: { timeouts: { timeWait: 500, close: 500, fin: 1000 } } }));
    const t0 = performance.now();
    const r = await inNs(env.ns, 'sh', ['-c', `curl -sS --max-time 120 http://198.18.0.2/bytes/${MiB100} | sha256sum`], 150_000);
    const secs = (performance.now() - t0) / 1000;
    expect(r.stderr).toBe('');
    expect(r.stdout.split(' ')[0]).toBe(patternSha256(MiB100));
    console.log(`100 MiB through nat in ${secs.toFixed(2)} s (${((MiB100 * 8) / secs / 1e6).toFixed(0)} Mbit/s)`);
    expect(tally(await requestMany(env.ns, 40, { parallel: 8 }))).toEqual({ b1: 10, b2: 10, b3: 10, b4: 10 });
    const ct = env.lb.nat.conntrack;
    expect(ct.counters.created).toBe(41);
    // Every flow closed: TIME_WAIT (500 ms here), then gone.
    const emptyIn = await waitFor(() => ct.size === 0, 5000);
    expect(emptyIn).toBeGreaterThanOrEqual(0);
    console.log(`conntrack: ${ct.counters.created} flows created, table empty ${Math.round(emptyIn)} ms after the last request`);
    expect(ct.counters.expired).toBe(41);
    expect(env.lb.pools()[0]!.backends.every((b) => b.active === 0)).toBe(true);
  }, 180_000);

  it('reuses_a_small_snat_port_range_by_clearing_the_backends_time_wait_without_failures', async () => {
    // 100 SNAT ports for 300 sequential flows: every port is reused while the backend (which closes
    // first) still holds the previous connection on it in TIME-WAIT for 60 s.
    env = await startLbEnv(lbConfig({ mode: 'nat', algo: 'roundrobin' }, { conntrack: { ports: [30000, 30099], timeouts: { timeWait: 100, close: 100 } } }));
    const t0 = performance.now();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push(...(await requestMany(env.ns, 100, { parallel: 1 })));
      await waitFor(() => env!.lb.nat.conntrack.size === 0, 2000);
    }
    const secs = (performance.now() - t0) / 1000;
    const c = env.lb.nat.counters;
    console.log(`300 flows over 100 SNAT ports in ${secs.toFixed(2)} s: ${c.timeWaitCleared} backend TIME-WAITs cleared, ports exhausted ${env.lb.nat.conntrack.counters.portsExhausted}`);
    expect(tally(ids)).toEqual({ b1: 75, b2: 75, b3: 75, b4: 75 });
    expect(c.timeWaitCleared).toBeGreaterThan(0);
    expect(secs).toBeLessThan(20); // a client-side SYN retransmission (1 s) per reuse would take minutes
  }, 60_000);
});
