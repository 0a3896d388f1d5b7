// Capture controls on real traffic, checked with tshark: comments on the packets that changed a
// connection's state (passive open by curl, active open by `tunstack get`), --pcap-rotate into several
// complete files (secrets of the live connection repeated), --pcap-port keeping one port's packets.

import { spawn } from 'node:child_process';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { readPcapng } from '../../src/capture/pcapng-reader.js';
import { CLI, freshNetns, inNs, isRoot, netnsList, sh, startServe, type ServeProcess, TSHARK_BROKEN } from '../helpers/harness.js';

const tmp = mkdtempSync(join(tmpdir(), 'tunstack-capture-controls-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** tshark with an empty profile: what it decodes comes from the file alone. */
function tshark(args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((done) => {
    execFile('tshark', args, { env: { ...process.env, HOME: tmp, XDG_CONFIG_HOME: tmp }, maxBuffer: 16 << 20, timeout: 30_000 }, (e, stdout) =>
      done({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, stdout: String(stdout) }),
    );
  });
}

/** "flags<TAB>comment" rows of the frames with a comment, e.g. "··········S·\t198.18.0.1:1234 → :80 LISTEN → SYN-RECEIVED". */
async function commented(file: string): Promise<string[]> {
  const r = await tshark(['-r', file, '-Y', 'frame.comment', '-T', 'fields', '-e', 'tcp.flags.str', '-e', 'frame.comment']);
  return r.stdout.trim().split('\n');
}

describe.skipIf(!isRoot)('capture controls (root)', () => {
  let serve: ServeProcess | undefined;
  let ns = '';
  afterEach(async () => {
    if (serve) await serve.stop();
    serve = undefined;
    if (ns && (await netnsList()).includes(ns)) await sh('ip', ['netns', 'del', ns]);
  });

  it('comments_the_syn_and_ack_of_a_passive_open_with_tunstacks_state_changes', async () => {
    ns = freshNetns();
    const pcap = join(tmp, 'passive.pcapng');
    serve = await startServe(['--netns', ns, '--pcap', pcap, '--no-https']);
    const r = await inNs(ns, 'curl', ['-sS', '--max-time', '10', '--local-port', '40312', 'http://198.18.0.2/echo']);
    expect(r.stdout).toMatch(/^GET \/echo/);
    expect(await serve.stop()).toBe(0);
    serve = undefined;
    const rows = await commented(pcap);
    expect(rows[0]).toBe('··········S·\t198.18.0.1:40312 → :80 LISTEN → SYN-RECEIVED');
    expect(rows[1]).toBe('·······A····\t198.18.0.1:40312 → :80 SYN-RECEIVED → ESTABLISHED');
    // curl closes first: tunstack's CLOSE-WAIT on its FIN, LAST-ACK on tunstack's own FIN, CLOSED on the last ACK.
    expect(rows.slice(2)).toEqual([
      expect.stringMatching(/^·······A···F\t198\.18\.0\.1:40312 → :80 ESTABLISHED → CLOSE-WAIT$/),
      expect.stringMatching(/^·······A···F\t198\.18\.0\.1:40312 → :80 CLOSE-WAIT → LAST-ACK$/),
      expect.stringMatching(/^·······A····\t198\.18\.0\.1:40312 → :80 LAST-ACK → CLOSED$/),
    ]);
  });

  it('comments_the_syn_and_syn_ack_of_an_active_open_by_tunstack_get', async () => {
    ns = freshNetns();
    expect((await sh('ip', ['netns', 'add', ns])).code).toBe(0);
    // A kernel-side server, listening before the TUN device arrives in the namespace.
    const server = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', "require('http').createServer((q,s)=>s.end('hi\\n')).listen(8080,()=>console.log('up'));setTimeout(()=>process.exit(0),20000)"], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    try {
      await new Promise((up) => server.stdout!.once('data', up));
      const pcap = join(tmp, 'active.pcapng');
      const r = await sh(process.execPath, [CLI, 'get', '--netns', ns, '--pcap', pcap, '--msl', '50', 'http://198.18.0.1:8080/']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe('hi\n');
      const rows = await commented(pcap);
      expect(rows[0]).toMatch(/^··········S·\t:\d+ → 198\.18\.0\.1:8080 CLOSED → SYN-SENT$/);
      expect(rows[1]).toMatch(/^·······A··S·\t:\d+ → 198\.18\.0\.1:8080 SYN-SENT → ESTABLISHED$/);
      expect(rows.some((l) => /^·······A···F\t.* ESTABLISHED → FIN-WAIT-1$/.test(l))).toBe(true);
      expect(rows.some((l) => /→ TIME-WAIT$/.test(l))).toBe(true);
    } finally {
      server.kill('SIGKILL');
    }
  });

  it('rotates_into_complete_files_each_readable_and_repeating_the_live_connections_secrets', async () => {
    ns = freshNetns();
    const dir = join(tmp, 'rot');
    const state = join(tmp, 'state');
    serve = await startServe(['--netns', ns, '--pcap', join(dir, 'rot.pcapng'), '--pcap-rotate', '16K', '--state', state]);
    const r = await inNs(ns, 'curl', ['-sS', '--max-time', '15', '--cacert', join(state, 'ca.pem'), 'https://198.18.0.2/bytes/120000', '-o', '/dev/null', '-w', '%{http_code}']);
    expect(r.stdout).toBe('200');
    expect(await serve.stop()).toBe(0);
    serve = undefined;
    const files = readdirSync(dir).sort();
    expect(files[0]).toBe('rot-1.pcapng');
    expect(files).toContain('rot.pcapng');
    expect(files.length).toBeGreaterThanOrEqual(4);
    let withSecrets = 0;
    for (const f of files) {
      const path = join(dir, f);
      const bad = await tshark(['-r', path, '-Y', TSHARK_BROKEN]);
      expect(bad.code, f).toBe(0);
      expect(bad.stdout.trim(), f).toBe('');
      const parsed = readPcapng(readFileSync(path));
      expect(parsed.ok && parsed.value.problems, f).toEqual([]);
      if (!parsed.ok) continue;
      expect(parsed.value.blocks.slice(0, 2).map((b) => b.kind), f).toEqual(['shb', 'idb']);
      const third = parsed.value.blocks[2];
      if (f !== 'rot.pcapng' && third?.kind === 'dsb' && third.text?.includes('SERVER_TRAFFIC_SECRET_0')) withSecrets++;
    }
    // The connection lived across rotations: the files it continued into start with its secrets.
    expect(withSecrets).toBeGreaterThanOrEqual(2);
    // The first file has the handshake and the secrets: tshark decrypts the request from it alone.
    const http = await tshark(['-r', join(dir, 'rot.pcapng'), '-Y', 'http.request', '-T', 'fields', '-e', 'http.request.uri']);
    expect(http.stdout.trim()).toBe('/bytes/120000');
  });

  it('port_filter_keeps_only_that_ports_packets_and_icmp_errors_about_it', async () => {
    ns = freshNetns();
    const pcap = join(tmp, 'port.pcapng');
    const state = join(tmp, 'state');
    serve = await startServe(['--netns', ns, '--pcap', pcap, '--pcap-port', '443', '--state', state]);
    expect((await inNs(ns, 'curl', ['-sS', '--max-time', '10', 'http://198.18.0.2/echo', '-o', '/dev/null', '-w', '%{http_code}'])).stdout).toBe('200');
    expect((await inNs(ns, 'curl', ['-sS', '--max-time', '10', '--cacert', join(state, 'ca.pem'), 'https://198.18.0.2/echo', '-o', '/dev/null', '-w', '%{http_code}'])).stdout).toBe('200');
    expect((await inNs(ns, 'ping', ['-c', '1', '-W', '2', '198.18.0.2'])).code).toBe(0);
    await inNs(ns, process.execPath, ['-e', "const s=require('dgram').createSocket('udp4');s.send('x',443,'198.18.0.2',()=>setTimeout(()=>s.close(),200))"]);
    await new Promise((r) => setTimeout(r, 300));
    expect(await serve.stop()).toBe(0);
    serve = undefined;
    const r = await tshark(['-r', pcap, '-T', 'fields', '-e', 'ip.proto', '-e', 'tcp.port', '-e', 'udp.port', '-e', 'icmp.type']);
    // An ICMP error lists the quoted datagram's fields too ("1,17"): the first value is the packet's own.
    const rows = r.stdout
      .trim()
      .split('\n')
      .map((l) => l.split('\t'))
      .map(([proto, ...rest]) => [proto!.split(',')[0]!, ...rest]);
    expect(rows.length).toBeGreaterThanOrEqual(10);
    for (const [proto, tcpPorts, udpPorts, icmpType] of rows) {
      if (proto === '6') expect(tcpPorts!.split(',')).toContain('443');
      else if (proto === '17') expect(udpPorts!.split(',')).toContain('443');
      else {
        expect(proto).toBe('1');
        expect(icmpType).toBe('3'); // the port unreachable about UDP 443; never the echo
      }
    }
    expect(rows.some(([proto]) => proto === '1')).toBe(true);
    expect(rows.some(([, tcpPorts]) => tcpPorts!.split(',').includes('80'))).toBe(false);
    const http = await tshark(['-r', pcap, '-Y', 'http.request', '-T', 'fields', '-e', 'tcp.dstport', '-e', 'http.request.uri']);
    expect(http.stdout.trim()).toBe('443\t/echo');
  });

  it('refuses_rotation_without_a_regular_capture_file', async () => {
    const r = await sh(process.execPath, [CLI, 'serve', '--pcap', '-', '--pcap-rotate', '10M']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('tunstack: --pcap-rotate needs --pcap FILE (a regular file), not a pipe');
    const r2 = await sh(process.execPath, [CLI, 'serve', '--pcap-port', '80']);
    expect(r2.code).toBe(2);
    expect(r2.stderr.trim()).toBe('tunstack: --pcap-rotate and --pcap-port shape a capture: give --pcap FILE too');
    const r3 = await sh(process.execPath, [CLI, 'get', '--pcap', '-', 'http://198.18.0.1/']);
    expect(r3.code).toBe(2);
    expect(r3.stderr.trim()).toBe('tunstack: --pcap - makes stdout the capture: write the body elsewhere with -o FILE');
    expect(existsSync(join(tmp, 'nothing'))).toBe(false);
  });
});
