// `tunstack lb` as a process (dist/cli/main.js): config errors that name the field and line, flags,
// "ready", flow trace lines with the decision taken, SIGUSR1 stats, and SIGHUP reloading the config
// without dropping an established flow (a 20 MiB download on a backend the new config removes).

import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, inNs, isRoot, sh } from '../helpers/harness.js';
import { BACKEND_KEYS, patternSha256, requestMany, sleep, startBackends, tally, type Backends } from '../lb/lb-env.js';
import { startLb, waitForText, type LbProc } from '../lb/lb-cli.js';

const MiB20 = 20 * 1024 * 1024;


describe.skipIf(!isRoot || !existsSync(CLI))('tunstack lb command line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tunstack-lbcli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('rejects_a_bad_config_naming_the_file_line_and_field', async () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, '{\n  "services": [\n    { "vip": "198.18.0.2:80",\n      "backends": [ { "address": "198.18.1.11:8080", "weight": "heavy" } ] }\n  ]\n}\n');
    const r = await sh(process.execPath, [CLI, 'lb', '--config', file]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(`tunstack: ${file}:4: services[0].backends[0].weight: must be a whole number from 0 to 1000, not "heavy"`);
  });

  it('asks_for_a_config_or_a_vip_with_backends', async () => {
    const r = await sh(process.execPath, [CLI, 'lb']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/give --config FILE, or --vip ADDR:PORT/);
    const bad = await sh(process.execPath, [CLI, 'lb', '--vip', '198.18.0.2:80', '--backend', '198.18.1.11:8080', '--algo', 'fastest']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/services\[0\]\.algo: must be one of roundrobin, wrr, leastconn, srchash, maglev, p2c, not "fastest"/);
  });
});

describe.skipIf(!isRoot || !existsSync(CLI))('tunstack lb in a namespace (root)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tunstack-lbcli-'));
  let be: Backends;
  let lb: LbProc | undefined;
  beforeAll(async () => {
    be = await startBackends();
  }, 60_000);
  afterAll(async () => {
    await lb?.stop();
    await be?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs_from_flags_prints_ready_and_traces_each_flow_with_its_decision', async () => {
    lb = await startLb(['--netns', be.ns, '--vip', '198.18.0.2:80', '--mode', 'nat', '--algo', 'maglev', '--trace-flows',
      ...BACKEND_KEYS.flatMap((k) => ['--backend', k])]);
    expect(lb.out()).toMatch(/^ready 198\.18\.0\.2$/m);
    const ids = await requestMany(be.ns, 8, { parallel: 1 });
    expect(ids.every((i) => /^b[1-4]$/.test(i))).toBe(true);
    expect(await waitForText(lb.err, /(flow .*\n[^]*){8}/, 2000)).toBe(true);
    const flows = lb.err().split('\n').filter((l) => / flow /.test(l));
    expect(flows).toHaveLength(8);
    for (const f of flows) expect(f).toMatch(/flow 198\.18\.0\.1:\d+ → 198\.18\.0\.2:80 ⇒ 198\.18\.1\.1[1-4]:8080 \(maglev\) via :\d+$/);
    lb.proc.kill('SIGUSR1');
    expect(await waitForText(lb.out, /^stats \{/m, 2000)).toBe(true);
    const stats = JSON.parse(lb.out().split('\n').find((l) => l.startsWith('stats '))!.slice(6)) as { conntrack: { created: number } };
    expect(stats.conntrack.created).toBe(8);
    expect(await lb.stop()).toBe(0);
    lb = undefined;
  });

  it('reloads_on_sighup_without_dropping_an_established_flow', async () => {
    const file = join(dir, 'lb.json');
    const write = (backends: string[], algo: string) =>
      writeFileSync(file, JSON.stringify({ services: [{ name: 'web', vip: '198.18.0.2:80', mode: 'nat', algo, backends }] }, null, 2));
    write(BACKEND_KEYS, 'roundrobin');
    lb = await startLb(['--netns', be.ns, '--config', file]);
    // The first flow goes to backend 1 (round robin from the start): a slow 20 MiB download.
    const download = inNs(be.ns, 'sh', ['-c', `curl -sS --max-time 60 --limit-rate 8M -D - -o /tmp/lbhup-$$ http://198.18.0.2/bytes/${MiB20} | tr -d '\\r' | grep -i x-backend; sha256sum /tmp/lbhup-$$; rm -f /tmp/lbhup-$$`], 90_000);
    await sleep(500);
    // The new config drops backend 1 and switches to weighted round robin.
    write([`${BACKEND_KEYS[1]}`, BACKEND_KEYS[2]!, BACKEND_KEYS[3]!], 'wrr');
    lb.proc.kill('SIGHUP');
    expect(await waitForText(lb.err, /lb reloaded: web nat wrr/, 2000)).toBe(true);
    expect(tally(await requestMany(be.ns, 30, { parallel: 3 }))).toEqual({ b2: 10, b3: 10, b4: 10 });
    // A broken file keeps the running config and says why.
    writeFileSync(file, '{ "services": [ { "vip": "198.18.0.2:80", "algo": "maglev", "backends": [] } ] }');
    lb.proc.kill('SIGHUP');
    expect(await waitForText(lb.err, /reload failed, keeping the running config: .*lb\.json:1: services\[0\]\.backends: must be a non-empty array/, 2000)).toBe(true);
    const r = await download;
    expect(r.stdout).toMatch(/x-backend: b1/i);
    expect(r.stdout).toContain(patternSha256(MiB20));
    expect(await lb.stop()).toBe(0);
    lb = undefined;
  });
});
