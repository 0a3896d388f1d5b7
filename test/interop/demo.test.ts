// `tunstack demo` (what `sudo npm start` runs) end to end: it succeeds, shows HTTP over tunstack's
// TCP both ways, leaves a capture tshark reads cleanly, and removes its namespace.

import { rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLI, isRoot, netnsList, sh } from '../helpers/harness.js';

describe.skipIf(!isRoot)('tunstack demo (root)', () => {
  it('runs_pings_refuses_tcp_writes_a_capture_and_cleans_up', async () => {
    const r = await sh(process.execPath, [CLI, 'demo'], 60_000);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/3 packets transmitted, 3 received/);
    expect(r.stdout).toMatch(/3008 bytes from 198\.18\.0\.2/);
    expect(r.stdout).toMatch(/Connection refused/);
    expect(r.stdout).toMatch(/ECONNREFUSED \(ICMP port unreachable\)/);
    expect(r.stdout).toMatch(/TCP \[RST,ACK\] seq=0/);
    // HTTP over tunstack's TCP: two URLs on one keep-alive connection, the handshakes traced.
    expect(r.stdout).toMatch(/Re-using existing connection/);
    expect(r.stdout).toMatch(/198\.18\.0\.1:\d+ → :80 {2}LISTEN → SYN-RECEIVED/);
    expect(r.stdout).toMatch(/198\.18\.0\.1:\d+ → :80 {2}SYN-RECEIVED → ESTABLISHED/);
    // tunstack as the client, to a server on the kernel side.
    expect(r.stdout).toMatch(/→ 200, "hello from the kernel side, 198\.18\.0\.2"/);
    expect(r.stdout).toMatch(/:\d+ → 198\.18\.0\.1:8080 {2}CLOSED → SYN-SENT/);
    const pcap = /^ {3}tshark -r (\S+)$/m.exec(r.stdout)?.[1];
    expect(pcap).toBeDefined();
    try {
      const bad = await sh('tshark', ['-r', pcap!, '-Y', '_ws.malformed || _ws.expert.severity >= error']);
      expect(bad.code).toBe(0);
      expect(bad.stdout.trim()).toBe('');
      const all = await sh('tshark', ['-r', pcap!]);
      expect(all.stdout).toMatch(/Fragmented IP protocol/);
      expect(all.stdout).toMatch(/GET \/echo HTTP\/1\.1/);
      expect(all.stdout).toMatch(/HTTP\/1\.1 200 OK/);
    } finally {
      rmSync(pcap!, { force: true });
    }
    const ns = /namespace (tunstack-\d+)/.exec(r.stdout)?.[1];
    expect(await netnsList()).not.toContain(ns);
  });

  it('says_what_to_run_when_not_root', async () => {
    const r = await sh('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, 'demo']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/run `sudo npm start`/);
  });
});
