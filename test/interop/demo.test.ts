// `tunstack demo` (what `sudo npm start` runs) end to end: it succeeds, its timeline shows the TCP and
// TLS handshakes in order, its capture is clean and tshark decrypts the HTTPS request from the capture's
// own Decryption Secrets Blocks, the packets that changed state carry comments, and it leaves nothing
// behind — also when interrupted with Ctrl-C. Without root it says what to run instead.

import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, isRoot, netnsList, ROOT, sh, TSHARK_BROKEN } from '../helpers/harness.js';

const tmp = mkdtempSync(join(tmpdir(), 'tunstack-demo-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** tshark with an empty profile (HOME elsewhere): no key log file preference can help it decrypt. */
function tshark(args: string[]): Promise<{ code: number; stdout: string }> {
  const home = join(tmp, 'home');
  return new Promise((done) => {
    execFile('tshark', args, { env: { ...process.env, HOME: home, XDG_CONFIG_HOME: home }, maxBuffer: 16 << 20, timeout: 30_000 }, (e, stdout) =>
      done({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, stdout: String(stdout) }),
    );
  });
}

function runDemo(env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [CLI, 'demo'], { cwd: ROOT, env: { ...process.env, ...env }, timeout: 60_000, maxBuffer: 16 << 20 }, (e, stdout, stderr) =>
      done({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, stdout: String(stdout), stderr: String(stderr) }),
    );
  });
}

describe.skipIf(!isRoot)('tunstack demo (root)', () => {
  it('serves_http_and_https_to_curl_fetches_from_the_kernel_and_explains_it_all_in_a_timeline_and_a_capture', async () => {
    const state = join(tmp, 'state');
    const r = await runDemo({ TUNSTACK_STATE: state });
    const out = r.stdout;
    const pcap = /^ {3}tshark -r (\S+) -Y http$/m.exec(out)?.[1];
    try {
      expect(r.code, out + r.stderr).toBe(0);
      expect(out).not.toMatch(/\x1b\[/); // not a terminal: no colour
      expect(out.match(/^ {3}✔ /gm)).toHaveLength(6);
      expect(out).not.toMatch(/✘/);
      expect(out).toMatch(/✔ curl: HTTP\/1\.1 200 OK, HTTP\/1\.1 200 OK — the second request re-used the connection/);
      expect(out).toMatch(/✔ curl: SSL connection using TLSv1\.3 .*SSL certificate verify ok/);
      expect(out).toMatch(/✔ tunstack get: 200 "hello from the kernel side, 198\.18\.0\.2"/);
      expect(out).toContain(`local CA in ${state} ($TUNSTACK_STATE)`);

      // The HTTPS section, in the order a textbook draws it.
      const https = out.slice(out.indexOf('== HTTPS'), out.indexOf('== tunstack get'));
      const lines = https.split('\n');
      const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
      const order = [
        at(/SYN-SENT\* +── SYN seq=0 win=\d+ len=0 <mss \d+,sack,ts,ws \d+> ─*▶/),
        at(/LISTEN → SYN-RECEIVED$/),
        at(/ESTABLISHED\* +◀─* SYN,ACK seq=0 ack=1 win=\d+ len=0/),
        at(/── ACK seq=1 ack=1 win=\d+ len=0/),
        at(/SYN-RECEIVED → ESTABLISHED$/),
        at(/── PSH,ACK seq=1 ack=1 win=\d+ len=\d+ \[TLS handshake\]/),
        at(/TLS ──▶ ClientHello suites=\[[^\]]*TLS_AES_128_GCM_SHA256[^\]]*\] groups=\[x25519/),
        at(/TLS ◀── ServerHello TLS_AES_128_GCM_SHA256 key_share=x25519$/),
        at(/TLS ◀── EncryptedExtensions alpn=http\/1\.1/),
        at(/TLS ◀── Certificate 1 cert/),
        at(/TLS ◀── CertificateVerify ecdsa_secp256r1_sha256/),
        at(/TLS ◀── Finished 32B/),
        at(/TLS ──▶ Finished 32B/),
        at(/TLS ◀── NewSessionTicket/),
        // Who closes first is a race (curl after close_notify, or tunstack's server): either end's FIN-WAIT-1.
        at(/FIN-WAIT-1\* +── FIN|ESTABLISHED → FIN-WAIT-1$/),
        at(/→ CLOSED$/),
      ];
      expect(order, https).not.toContain(-1);
      expect([...order].sort((a, b) => a - b)).toEqual(order);

      // tunstack as the client: its own states from CLOSED through TIME-WAIT back to CLOSED.
      const get = out.slice(out.indexOf('== tunstack get'), out.indexOf('== curl http://198.18.0.2:9/'));
      const states = get.match(/(?<= )[A-Z12-]+ → [A-Z12-]+$/gm) ?? [];
      expect(states.slice(0, 3)).toEqual(['CLOSED → SYN-SENT', 'SYN-SENT → ESTABLISHED', 'ESTABLISHED → FIN-WAIT-1']);
      expect(states.some((s) => s.endsWith('→ TIME-WAIT'))).toBe(true);
      expect(states.at(-1)).toBe('TIME-WAIT → CLOSED');
      expect(out).toMatch(/CLOSED\* +◀─* RST,ACK seq=0 ack=1 win=0 len=0/);
      expect(out).toMatch(/ICMP destination unreachable \(port\) about UDP 198\.18\.0\.1:\d+ → 198\.18\.0\.2:9/);

      // The capture: clean, and the HTTPS exchange decrypted from the file's own secrets.
      expect(pcap).toBeDefined();
      const file = resolve(ROOT, pcap!);
      const bad = await tshark(['-r', file, '-Y', TSHARK_BROKEN]);
      expect(bad.code).toBe(0);
      expect(bad.stdout.trim()).toBe('');
      const http = await tshark(['-r', file, '-Y', 'http', '-T', 'fields', '-e', 'tcp.srcport', '-e', 'tcp.dstport', '-e', 'http.request.method', '-e', 'http.request.uri', '-e', 'http.response.code']);
      const rows = http.stdout.trim().split('\n').map((l) => l.split('\t'));
      expect(rows).toContainEqual([expect.any(String), '443', 'GET', '/echo', '']);
      expect(rows).toContainEqual(['443', expect.any(String), '', '', '200']);
      expect(rows).toContainEqual([expect.any(String), '80', 'GET', '/bytes/1000', '']);
      expect(rows).toContainEqual([expect.any(String), '8080', 'GET', '/', '']);
      const comments = await tshark(['-r', file, '-Y', 'frame.comment && tcp.port == 443', '-T', 'fields', '-e', 'tcp.flags.str', '-e', 'frame.comment']);
      expect(comments.stdout).toMatch(/··S·\t198\.18\.0\.1:\d+ → :443 LISTEN → SYN-RECEIVED/);
      expect(comments.stdout).toMatch(/A····\t198\.18\.0\.1:\d+ → :443 SYN-RECEIVED → ESTABLISHED/);
    } finally {
      if (pcap) rmSync(resolve(ROOT, pcap), { force: true });
    }
    const ns = /namespace (tunstack-\d+)/.exec(out)?.[1];
    expect(ns).toBeDefined();
    expect(await netnsList()).not.toContain(ns);
  });

  it('removes_its_namespace_processes_and_temporary_ca_when_interrupted', async () => {
    // No TUNSTACK_STATE: the demo keeps its CA in a temporary directory of its own.
    const child = spawn(process.execPath, [CLI, 'demo'], { cwd: ROOT, env: { ...process.env, TUNSTACK_STATE: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    await new Promise<void>((ready) => {
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (/^== HTTP/m.test(out)) ready();
      });
      void exited.then(() => ready());
    });
    child.kill('SIGINT');
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const code = await exited;
    clearTimeout(killer);
    const pcap = /capturing every packet to (\S+)/.exec(out)?.[1];
    if (pcap) rmSync(resolve(ROOT, pcap), { force: true });
    expect(code).toBe(130);
    const ca = /local CA in (\S+) \(temporary, removed at the end\)/.exec(out)?.[1];
    expect(ca).toMatch(/tunstack-demo-ca-/);
    expect(existsSync(ca!)).toBe(false);
    const ns = /namespace (tunstack-\d+)/.exec(out)![1];
    expect(await netnsList()).not.toContain(ns);
    const leftovers = await sh('pgrep', ['-f', `ip netns exec ${ns} `]);
    expect(leftovers.stdout.trim()).toBe('');
  });

  it('says_what_to_run_when_not_root', async () => {
    const r = await sh('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, 'demo']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('tunstack demo creates a network namespace and a TUN device, which needs root: run `sudo npm start`');
    expect(r.stdout).toBe('');
  });
});
