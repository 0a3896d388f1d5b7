// Health and drain through tunstack lb, kernel backends: a killed backend stops getting flows once
// the health check's fall threshold is reached (then no request fails) and rejoins after the rise
// threshold; a drained backend finishes its in-flight 20 MiB downloads byte-exact while new flows go
// elsewhere. In nat mode and in proxy mode.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inNs, isRoot } from '../helpers/harness.js';
import { BACKEND_KEYS, lbConfig, patternSha256, requestMany, sleep, startLbEnv, tally, waitFor, type LbEnv } from '../lb/lb-env.js';

const MiB20 = 20 * 1024 * 1024;
const HEALTH = { type: 'http', path: '/health', interval: 200, timeout: 150, rise: 2, fall: 2 };

for (const mode of ['nat', 'proxy'] as const) {
  describe.skipIf(!isRoot)(`lb ${mode} mode: health checks and drain (root)`, () => {
    let env: LbEnv;
    beforeAll(async () => {
      env = await startLbEnv(lbConfig({ mode, algo: 'roundrobin', health: HEALTH }, { stats: { port: 8404 } }));
    }, 60_000);
    afterAll(async () => env?.close());
    const b2 = () => env.lb.pools()[0]!.find(BACKEND_KEYS[1]!)!;

    it('stops_sending_to_a_killed_backend_after_fall_checks_and_takes_it_back_after_rise', async () => {
      expect(tally(await requestMany(env.ns, 40, { parallel: 8 }))).toEqual({ b1: 10, b2: 10, b3: 10, b4: 10 });
      // Kill backend 2 while requests keep coming.
      const load = requestMany(env.ns, 200, { parallel: 4 });
      await sleep(100);
      const killedAt = performance.now();
      await env.stopBackend(1);
      const downIn = await waitFor(() => b2().state === 'down', 5000);
      expect(downIn).toBeGreaterThanOrEqual(0);
      console.log(`${mode}: backend 2 marked down ${Math.round(performance.now() - killedAt)} ms after the kill (fall 2, interval 200 ms): ${b2().lastChange}`);
      const during = await load;
      console.log(`${mode}: during the kill: ${JSON.stringify(tally(during))}`);
      // Once down, no request fails and none goes to backend 2.
      const after = await requestMany(env.ns, 120, { parallel: 8 });
      expect(tally(after)).toEqual({ b1: 40, b3: 40, b4: 40 });
      // Bring it back: it rejoins after `rise` good checks.
      const backAt = performance.now();
      await env.startBackend(1);
      expect(await waitFor(() => b2().state === 'up', 5000)).toBeGreaterThanOrEqual(0);
      console.log(`${mode}: backend 2 up again ${Math.round(performance.now() - backAt)} ms after restart (rise 2): ${b2().lastChange}`);
      const back = tally(await requestMany(env.ns, 80, { parallel: 8 }));
      expect(back).toEqual({ b1: 20, b2: 20, b3: 20, b4: 20 });
    });

    it('lets_in_flight_20_MiB_downloads_finish_byte_exact_while_a_drained_backend_gets_no_new_flows', async () => {
      const pool = env.lb.pools()[0]!;
      expect(await waitFor(() => pool.backends.every((b) => b.state === 'up' && b.active === 0), 5000)).toBeGreaterThanOrEqual(0);
      // Four slow downloads, spread over the backends by round robin (rate-limited so they are still running).
      const script = [1, 2, 3, 4]
        .map((i) => `curl -sS --max-time 60 --limit-rate 5M -D /tmp/lbdrain-$$-${i}.h http://198.18.0.2/bytes/${MiB20} | sha256sum > /tmp/lbdrain-$$-${i}.s &`)
        .join('\n');
      const downloads = inNs(env.ns, 'sh', ['-c', `${script}\nwait\nfor i in 1 2 3 4; do echo "$(grep -i x-backend /tmp/lbdrain-$$-$i.h | tr -d '\\r' | cut -d' ' -f2) $(cut -d' ' -f1 /tmp/lbdrain-$$-$i.s)"; done; rm -f /tmp/lbdrain-$$-*`], 90_000);
      expect(await waitFor(() => pool.backends.reduce((a, b) => a + b.active, 0) === 4, 5000)).toBeGreaterThanOrEqual(0);
      // Drain a backend with a download in flight, by control command (the JSON endpoint on tunstack's address).
      const drained = pool.backends.find((b) => b.active > 0)!;
      const id = `b${BACKEND_KEYS.indexOf(drained.key) + 1}`;
      const r = await inNs(env.ns, 'curl', ['-sS', '--max-time', '5', '-X', 'POST', `http://198.18.0.2:8404/drain?backend=${drained.key}`]);
      expect(JSON.parse(r.stdout)).toEqual({ ok: true, backend: drained.key, drained: true });
      const fresh = tally(await requestMany(env.ns, 60, { parallel: 6 }));
      expect(fresh[id]).toBeUndefined();
      expect(Object.values(fresh)).toEqual([20, 20, 20]);
      const result = await downloads;
      const lines = result.stdout.trim().split('\n');
      const want = patternSha256(MiB20);
      expect(lines).toHaveLength(4);
      expect(lines.map((l) => l.split(' ')[0])).toContain(id);
      for (const l of lines) expect(l.split(' ')[1]).toBe(want);
      const stats = JSON.parse((await inNs(env.ns, 'curl', ['-sS', '--max-time', '5', 'http://198.18.0.2:8404/stats'])).stdout) as {
        services: Array<{ backends: Array<{ backend: string; state: string; bytesOut: number }> }>;
      };
      const s = stats.services[0]!.backends.find((b) => b.backend === drained.key)!;
      expect(s.state).toBe('drain');
      expect(s.bytesOut).toBeGreaterThan(MiB20);
      await inNs(env.ns, 'curl', ['-sS', '--max-time', '5', '-X', 'POST', `http://198.18.0.2:8404/undrain?backend=${drained.key}`]);
      expect(drained.eligible).toBe(true);
    });
  });
}
