// `tunstack get https://…` — tunstack's TLS 1.3 client on its own TCP — against openssl s_server and a
// Node https server on the kernel side: verification succeeds, or fails with the reason and the alert
// (wrong name, unknown CA, expired); --insecure, --servername, HelloRetryRequest, --resume, the key
// log, --trace, and a client-side capture that tshark decrypts from its Decryption Secrets Blocks.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nobleProvider } from '../../src/tls/crypto/noble.js';
import { createLocalCa, issueCertificate } from '../../src/tls/x509/local-ca.js';
import { CLI, freshNetns, isRoot, netnsList, sh } from '../helpers/harness.js';

const DAY = 86_400_000;

describe.skipIf(!isRoot)('tunstack get https:// against openssl and node on the kernel side (root)', () => {
  const ns = freshNetns();
  const dir = mkdtempSync(join(tmpdir(), 'tunstack-tls-get-'));
  const f = (name: string) => join(dir, name);
  const servers: { proc: ChildProcess; out: () => string }[] = [];

  /** Starts a server inside the namespace; resolves when `ready` shows up in its output. */
  function startServer(cmd: string[], ready: RegExp): Promise<{ proc: ChildProcess; out: () => string }> {
    const proc = spawn('ip', ['netns', 'exec', ns, ...cmd], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    const s = { proc, out: () => out };
    servers.push(s);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${cmd.join(' ')} did not start: ${out}`)), 10_000);
      const on = (d: Buffer) => {
        out += d.toString();
        if (ready.test(out)) {
          clearTimeout(timer);
          resolve(s);
        }
      };
      proc.stdout!.on('data', on);
      proc.stderr!.on('data', on);
    });
  }

  const sServer = (port: number, cert: string, extra: string[] = []) =>
    startServer(['openssl', 's_server', '-tls1_3', '-www', '-accept', String(port), '-cert', f(`${cert}.pem`), '-key', f(`${cert}-key.pem`), ...extra], /ACCEPT/);

  const NODE_SERVER = `
    const https = require('https'), fs = require('fs');
    const body = 'hello over TLS from node\\n';
    const s = https.createServer({ cert: fs.readFileSync(process.argv[1]), key: fs.readFileSync(process.argv[2]), minVersion: 'TLSv1.3' },
      (req, res) => res.end(body + (req.socket.isSessionReused() ? 'resumed\\n' : 'full handshake\\n')));
    s.on('tlsClientError', (e) => console.log('tlsClientError ' + e.message));
    s.listen(9443, '0.0.0.0', () => console.log('listening'));
    setTimeout(() => process.exit(0), 300000).unref();`;

  beforeAll(async () => {
    const now = Date.now();
    const ca = createLocalCa({ crypto: nobleProvider, now, commonName: 'tunstack client-test CA' });
    const other = createLocalCa({ crypto: nobleProvider, now, commonName: 'some other CA' });
    const issue = (name: string, by: typeof ca, o: { dns?: string[]; ip?: string[]; notBefore?: number; notAfter?: number; kind?: 'ecdsa-p256' | 'rsa-2048' }) => {
      const c = issueCertificate({
        ca: by,
        crypto: nobleProvider,
        now,
        commonName: o.ip?.[0] ?? o.dns?.[0] ?? name,
        dnsNames: o.dns ?? [],
        ipAddresses: o.ip ?? [],
        keyKind: o.kind ?? 'ecdsa-p256',
        ...(o.notBefore !== undefined ? { notBefore: o.notBefore, notAfter: o.notAfter } : {}),
      });
      writeFileSync(f(`${name}.pem`), c.certPem);
      writeFileSync(f(`${name}-key.pem`), c.keyPem);
    };
    writeFileSync(f('ca.pem'), ca.certPem);
    issue('good', ca, { ip: ['198.18.0.1'] });
    issue('rsa', ca, { ip: ['198.18.0.1'], kind: 'rsa-2048' });
    issue('wrongname', ca, { dns: ['other.test'] });
    issue('unknownca', other, { ip: ['198.18.0.1'] });
    issue('expired', ca, { ip: ['198.18.0.1'], notBefore: now - 30 * DAY, notAfter: now - DAY });

    await sh('ip', ['netns', 'add', ns]);
    await sh('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);
    await Promise.all([
      sServer(8443, 'good'),
      sServer(8444, 'wrongname'),
      sServer(8445, 'unknownca'),
      sServer(8446, 'expired'),
      sServer(8447, 'rsa', ['-groups', 'X25519']),
      startServer([process.execPath, '-e', NODE_SERVER, f('good.pem'), f('good-key.pem')], /listening/),
    ]);
  });

  afterAll(async () => {
    for (const s of servers) s.proc.kill();
    if ((await netnsList()).includes(ns)) await sh('ip', ['netns', 'del', ns]);
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (args: string[], env: string[] = []) =>
    sh('env', [...env, process.execPath, CLI, 'get', '--netns', ns, ...args], 60_000);

  it('fetches_from_openssl_s_server_after_verifying_its_certificate', async () => {
    const r = await get(['--cacert', f('ca.pem'), 'https://198.18.0.1:8443/', '-o', f('s_server.html')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/tunstack get: TLSv1\.3 TLS_AES_128_GCM_SHA256 x25519, certificate verified for 198\.18\.0\.1/);
    expect(readFileSync(f('s_server.html'), 'utf8')).toMatch(/Protocol\s*: TLSv1\.3/);
  });

  it('fetches_from_a_node_https_server_and_traces_the_tls_messages', async () => {
    const r = await get(['--cacert', f('ca.pem'), '--trace-states', 'https://198.18.0.1:9443/']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('hello over TLS from node\nfull handshake\n');
    expect(r.stderr).toMatch(/tls :\d+ → 198\.18\.0\.1:9443 {2}out ClientHello suites=\[/);
    expect(r.stderr).toMatch(/tls :\d+ → 198\.18\.0\.1:9443 {2}in {2}ServerHello/);
    expect(r.stderr).toMatch(/tls :\d+ → 198\.18\.0\.1:9443 {2}out Alert close_notify/);
    expect(r.stderr).toMatch(/tcp :\d+ → 198\.18\.0\.1:9443 {2}FIN-WAIT-2 → TIME-WAIT/);
  });

  it('verifies_an_rsa_certificate_and_answers_a_hello_retry_request', async () => {
    // We offer P-384 first (our only key share); that server takes only X25519: HelloRetryRequest.
    const r = await get(['--cacert', f('ca.pem'), '--groups', 'P-384,X25519', 'https://198.18.0.1:8447/', '-o', '/dev/null']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/TLSv1\.3 TLS_AES_128_GCM_SHA256 x25519, after HelloRetryRequest, certificate verified/);
  });

  const failures: Array<[string, number, RegExp, RegExp]> = [
    [
      'a_certificate_for_another_name',
      8444,
      /^tunstack: certificate verify failed: certificate is for other\.test, not 198\.18\.0\.1 \(sent alert bad_certificate\)$/m,
      /alert bad certificate|alert number 42/,
    ],
    ['a_certificate_from_an_unknown_ca', 8445, /^tunstack: certificate verify failed: .* \(sent alert unknown_ca\)$/m, /alert unknown ca|alert number 48/],
    ['an_expired_certificate', 8446, /^tunstack: certificate verify failed: .*expired.* \(sent alert certificate_expired\)$/m, /alert certificate expired|alert number 45/],
  ];
  for (const [what, port, message, serverSaw] of failures) {
    it(`refuses_${what}_with_one_line_and_the_alert`, async () => {
      const r = await get(['--cacert', f('ca.pem'), `https://198.18.0.1:${port}/`]);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(message);
      expect(r.stderr.split('\n').filter((l) => l.startsWith('tunstack:'))).toHaveLength(1);
      // The alert reached the server.
      await new Promise((res) => setTimeout(res, 200));
      const server = servers.find((s) => s.proc.spawnargs.includes(String(port)))!;
      expect(server.out()).toMatch(serverSaw);
    });
  }

  it('insecure_skips_verification_with_a_loud_warning', async () => {
    const r = await get(['--insecure', 'https://198.18.0.1:8444/', '-o', '/dev/null']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/WARNING: --insecure: the server certificate is NOT verified/);
    expect(r.stderr).toMatch(/certificate NOT verified \(--insecure\)/);
  });

  it('servername_sends_sni_and_verifies_that_name', async () => {
    const r = await get(['--cacert', f('ca.pem'), '--servername', 'other.test', 'https://198.18.0.1:8444/', '-o', '/dev/null']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/certificate verified for other\.test/);
  });

  it('without_cacert_the_system_roots_do_not_trust_a_local_ca', async () => {
    const r = await get(['https://198.18.0.1:8443/']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\(sent alert unknown_ca\)/);
  });

  it('resume_saves_a_ticket_and_the_next_run_resumes_with_it', async () => {
    const sess = f('node.session');
    const first = await get(['--cacert', f('ca.pem'), '--resume', sess, 'https://198.18.0.1:9443/']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/full handshake/);
    expect(existsSync(sess)).toBe(true);
    const second = await get(['--cacert', f('ca.pem'), '--resume', sess, 'https://198.18.0.1:9443/']);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/, resumed/);
    expect(second.stdout).toMatch(/^hello over TLS from node\nresumed\n$/);
  });

  it('writes_every_secret_to_SSLKEYLOGFILE', async () => {
    const keylog = f('keys.log');
    const r = await get(['--cacert', f('ca.pem'), 'https://198.18.0.1:9443/'], [`SSLKEYLOGFILE=${keylog}`]);
    expect(r.code, r.stderr).toBe(0);
    const lines = readFileSync(keylog, 'utf8').trim().split('\n');
    expect(lines.map((l) => l.split(' ')[0])).toEqual(
      expect.arrayContaining(['CLIENT_HANDSHAKE_TRAFFIC_SECRET', 'SERVER_HANDSHAKE_TRAFFIC_SECRET', 'CLIENT_TRAFFIC_SECRET_0', 'SERVER_TRAFFIC_SECRET_0']),
    );
    for (const l of lines) expect(l).toMatch(/^[A-Z_0-9]+ [0-9a-f]{64} ([0-9a-f]{64}|[0-9a-f]{96})$/);
  });

  it('its_capture_decrypts_in_tshark_from_the_decryption_secrets_blocks_alone', async () => {
    // The client's case: the server's encrypted flight arrives in the same segment as the ServerHello,
    // before the keys exist; the tap holds that batch back until the stack processed it.
    const pcap = f('get.pcapng');
    const r = await get(['--cacert', f('ca.pem'), '--pcap', pcap, 'https://198.18.0.1:9443/hello']);
    expect(r.code, r.stderr).toBe(0);
    const t = await sh('tshark', ['-r', pcap, '-Y', 'http', '-T', 'fields', '-e', 'http.request.uri', '-e', 'http.response.code', '-e', 'http.file_data']);
    expect(t.code).toBe(0);
    const rows = t.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/^\/hello\t\t/);
    expect(rows[1]).toMatch(/^\t200\t/);
    expect(rows[1]).toMatch(/hello over TLS from node/);
    const hs = await sh('tshark', ['-r', pcap, '-Y', 'tls.handshake.type == 11', '-T', 'fields', '-e', 'tls.handshake.type']);
    expect(hs.stdout.trim()).not.toBe(''); // the server's Certificate was decrypted too
  });
});
