// tunstack lb with the kernel as clients and backends: 400 curl requests through the VIP split evenly
// under round robin, by weight under wrr, away from a slow backend under leastconn, and per client
// address under srchash — in nat mode (packet-level full-NAT) and in proxy mode (TCP spliced).
// One namespace per mode; the algorithm changes by reload, which keeps the pools and their state.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot } from '../helpers/harness.js';
import { BACKEND_KEYS, CLIENT_ADDRS, lbConfig, requestMany, startLbEnv, tally, waitFor, type LbEnv } from '../lb/lb-env.js';

for (const mode of ['nat', 'proxy'] as const) {
  describe.skipIf(!isRoot)(`lb ${mode} mode: how 400 requests split (root)`, () => {
    let env: LbEnv;
    beforeAll(async () => {
      // Backend 1 answers /slow after 400 ms (for leastconn); / at once.
      env = await startLbEnv(lbConfig({ mode, algo: 'roundrobin' }, { conntrack: { timeouts: { timeWait: 2000, close: 1000 } } }), { slow: { 0: 400 } });
    }, 60_000);
    afterAll(async () => env?.close());

    it('splits_400_requests_exactly_evenly_under_round_robin', async () => {
      const ids = await requestMany(env.ns, 400, { parallel: 50 });
      expect(tally(ids)).toEqual({ b1: 100, b2: 100, b3: 100, b4: 100 });
    });

    it('splits_400_requests_by_weight_under_weighted_round_robin', async () => {
      env.lb.reload(lbConfig({ mode, algo: 'wrr', backends: BACKEND_KEYS.map((address, i) => ({ address, weight: i + 1 })) }));
      const ids = await requestMany(env.ns, 400, { parallel: 50 });
      expect(tally(ids)).toEqual({ b1: 40, b2: 80, b3: 120, b4: 160 });
    });

    it('sends_requests_toward_the_idle_backends_under_least_connections', async () => {
      env.lb.reload(lbConfig({ mode, algo: 'leastconn' }));
      // Earlier flows released: every backend starts idle.
      expect(await waitFor(() => env.lb.pools()[0]!.backends.every((b) => b.active === 0), 5000)).toBeGreaterThanOrEqual(0);
      const ids = await requestMany(env.ns, 400, { parallel: 20, path: '/slow' });
      const t = tally(ids);
      console.log(`leastconn, backend 1 slow (400 ms): ${JSON.stringify(t)}`);
      expect(ids.filter((i) => i === 'ERR')).toHaveLength(0);
      // Round robin would give the slow backend 100; least connections keeps it to what it can hold.
      expect(t.b1 ?? 0).toBeLessThan(40);
      expect((t.b2 ?? 0) + (t.b3 ?? 0) + (t.b4 ?? 0)).toBeGreaterThan(360);
    });

    it('keeps_each_client_address_on_one_backend_under_source_hash', async () => {
      env.lb.reload(lbConfig({ mode, algo: 'srchash' }));
      const perClient = await Promise.all(CLIENT_ADDRS.map((a) => requestMany(env.ns, 50, { iface: a, parallel: 5 })));
      const chosen = perClient.map((ids) => [...new Set(ids)]);
      console.log(`srchash: ${CLIENT_ADDRS.map((a, i) => `${a} → ${chosen[i]!.join(',')}`).join('  ')}`);
      for (const c of chosen) expect(c).toHaveLength(1);
      expect(chosen.flat().every((c) => /^b[1-4]$/.test(c))).toBe(true);
      expect(new Set(chosen.flat()).size).toBeGreaterThanOrEqual(2);
    });
  });
}
