// tunstack's TLS 1.3 server (node:http over TlsSocket over tunstack TCP) with the kernel side's curl,
// openssl s_client and python as clients: every suite and group with ECDSA and RSA certificates, a
// 100 MiB download, HelloRetryRequest, resumption, KeyUpdate both ways, a capture tshark decrypts
// from its own Decryption Secrets Blocks, and bad input that draws the right alert.

import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deterministicBytes } from '../../src/apps/http-handler.js';
import { RunningStack } from '../../src/cli/running-stack.js';
import { certifiedKeyFromPem } from '../../src/socket/tls-server.js';
import type { TlsSocket } from '../../src/socket/tls-socket.js';
import { CipherSuite, NamedGroup, SignatureScheme } from '../../src/tls/constants.js';
import { nobleProvider } from '../../src/tls/crypto/noble.js';
import type { HandshakeSummary } from '../../src/tls/engine-api.js';
import { createLocalCa, issueCertificate } from '../../src/tls/x509/local-ca.js';
import { freshNetns, inNs, isRoot, netnsList, ROOT, sh } from '../helpers/harness.js';

const MiB100 = 100 * 1024 * 1024;

function sha256OfDeterministic(n: number): string {
  const h = createHash('sha256');
  for (let off = 0; off < n; off += 1 << 20) h.update(deterministicBytes(off, Math.min(1 << 20, n - off)));
  return h.digest('hex');
}

describe.skipIf(!isRoot)('HTTPS on tunstack: curl, openssl and python on the kernel side (root)', () => {
  const ns = freshNetns();
  const dir = mkdtempSync(join(tmpdir(), 'tunstack-tls-'));
  const caPath = join(dir, 'ca.pem');
  const pcap = join(dir, 'https.pcapng');
  let running: RunningStack;
  /** Each established server connection, in order, with the KeyUpdates it saw. */
  const conns: { socket: TlsSocket; summary: HandshakeSummary; keyUpdates: string[] }[] = [];
  const clientErrors: string[] = [];
  /** Called with each new server connection (a test sets it to act on the server side). */
  let onSecure: ((s: TlsSocket) => void) | undefined;

  beforeAll(async () => {
    const now = Date.now();
    const ca = createLocalCa({ crypto: nobleProvider, now, commonName: 'tunstack interop CA' });
    const ecdsa = issueCertificate({
      ca, crypto: nobleProvider, now, commonName: '198.18.0.2', dnsNames: ['tunstack.test'], ipAddresses: ['198.18.0.2'], keyKind: 'ecdsa-p256',
    });
    const rsa = issueCertificate({
      ca, crypto: nobleProvider, now, commonName: 'rsa.tunstack.test', dnsNames: ['rsa.tunstack.test'], ipAddresses: [], keyKind: 'rsa-2048',
    });
    writeFileSync(caPath, ca.certPem);
    running = await RunningStack.start({
      addr: '198.18.0.2',
      peer: '198.18.0.1/24',
      mtu: 1500,
      netns: ns,
      pcap,
      https: {
        port: 443,
        config: {
          crypto: nobleProvider,
          // The ECDSA certificate is the default; SNI rsa.tunstack.test picks the RSA one.
          certificates: [
            certifiedKeyFromPem(ecdsa.certPem, ecdsa.keyPem, nobleProvider),
            certifiedKeyFromPem(rsa.certPem, rsa.keyPem, nobleProvider),
          ],
          ticketKey: new Uint8Array(32).fill(9),
          alpn: ['http/1.1'],
        },
      },
    });
    const tls = running.https!.tls;
    tls.on('secureConnection', (socket: TlsSocket) => {
      const entry = { socket, summary: socket.summary!, keyUpdates: [] as string[] };
      socket.on('keyUpdate', (k: { direction: string; requested: boolean }) => entry.keyUpdates.push(`${k.direction}${k.requested ? ' requested' : ''}`));
      conns.push(entry);
      onSecure?.(socket);
    });
    tls.on('tlsClientError', (e: Error) => clientErrors.push(e.message));
  });

  afterAll(async () => {
    await running?.close();
    if ((await netnsList()).includes(ns)) await sh('ip', ['netns', 'del', ns]);
    rmSync(dir, { recursive: true, force: true });
  });

  const curl = (args: string[], timeoutMs?: number) =>
    inNs(ns, 'curl', ['-sS', '--max-time', '30', '--tlsv1.3', '--cacert', caPath, ...args], timeoutMs);
  const rsaUrl = ['--resolve', 'rsa.tunstack.test:443:198.18.0.2', 'https://rsa.tunstack.test/echo'];

  const suites = [
    ['TLS_AES_128_GCM_SHA256', CipherSuite.TLS_AES_128_GCM_SHA256],
    ['TLS_AES_256_GCM_SHA384', CipherSuite.TLS_AES_256_GCM_SHA384],
    ['TLS_CHACHA20_POLY1305_SHA256', CipherSuite.TLS_CHACHA20_POLY1305_SHA256],
  ] as const;
  const curves = [
    ['X25519', NamedGroup.x25519],
    ['P-256', NamedGroup.secp256r1],
    ['P-384', NamedGroup.secp384r1],
  ] as const;
  const certs = [
    ['ECDSA', ['https://198.18.0.2/echo'], SignatureScheme.ecdsa_secp256r1_sha256],
    ['RSA', rsaUrl, SignatureScheme.rsa_pss_rsae_sha256],
  ] as const;

  for (const [certName, url, scheme] of certs) {
    for (const [suiteName, suite] of suites) {
      it(`curl_fetches_over_${suiteName}_with_the_${certName}_certificate`, async () => {
        const r = await curl(['--tls13-ciphers', suiteName, ...url]);
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(/^GET \/echo HTTP\/1\.1/);
        expect(conns.at(-1)!.summary).toMatchObject({ suite, signatureScheme: scheme, alpn: 'http/1.1', resumed: false });
      });
    }
    for (const [curveName, group] of curves) {
      it(`curl_fetches_with_key_exchange_${curveName}_and_the_${certName}_certificate`, async () => {
        const r = await curl(['--curves', curveName, ...url]);
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        expect(conns.at(-1)!.summary).toMatchObject({ group, signatureScheme: scheme, helloRetry: false });
      });
    }
  }

  it('sni_picks_the_certificate_and_is_reported_in_the_summary', async () => {
    const r = await curl(['-v', ...rsaUrl]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/subject: CN=rsa\.tunstack\.test/);
    expect(conns.at(-1)!.summary.serverName).toBe('rsa.tunstack.test');
  });

  it('openssl_s_client_offering_only_a_P384_share_gets_a_hello_retry_request_then_succeeds', async () => {
    const r = await inNs(ns, 'sh', [
      '-c',
      `printf 'GET /echo HTTP/1.0\\r\\n\\r\\n' | openssl s_client -tls1_3 -groups P-384:X25519 -CAfile ${caPath} -connect 198.18.0.2:443 -ign_eof -msg 2>&1`,
    ]);
    // Two ClientHellos in the -msg trace: the second answers the HelloRetryRequest (RFC 8446 §4.1.4).
    expect(r.stdout.match(/>>> TLS 1\.3, Handshake \[length [0-9a-f]+\], ClientHello/g)).toHaveLength(2);
    expect(r.stdout).toMatch(/New, TLSv1\.3, Cipher is TLS_AES_128_GCM_SHA256/);
    expect(r.stdout).toMatch(/Verify return code: 0 \(ok\)/);
    expect(r.stdout).toMatch(/HTTP\/1\.1 200 OK/);
    expect(conns.at(-1)!.summary).toMatchObject({ helloRetry: true, group: NamedGroup.x25519 });
  });

  it('openssl_s_client_resumes_with_the_ticket_it_saved', async () => {
    const sess = join(dir, 'sess.pem');
    const run = (flag: string) =>
      inNs(ns, 'sh', [
        '-c',
        `printf 'GET /echo HTTP/1.0\\r\\n\\r\\n' | openssl s_client -tls1_3 -CAfile ${caPath} -connect 198.18.0.2:443 -ign_eof ${flag} ${sess} 2>&1`,
      ]);
    const first = await run('-sess_out');
    expect(first.stdout).toMatch(/New, TLSv1\.3/);
    const second = await run('-sess_in');
    expect(second.stdout).toMatch(/Reused, TLSv1\.3/);
    expect(second.stdout).toMatch(/HTTP\/1\.1 200 OK/);
    expect(conns.at(-1)!.summary).toMatchObject({ resumed: true, signatureScheme: undefined });
  });

  it('openssl_s_client_key_updates_k_and_K_are_answered_and_data_still_flows', async () => {
    const r = await inNs(ns, 'sh', [
      '-c',
      `(sleep 0.5; echo k; sleep 0.3; echo K; sleep 0.3; printf 'GET /echo HTTP/1.0\\r\\n\\r\\n'; sleep 1) | openssl s_client -tls1_3 -CAfile ${caPath} -connect 198.18.0.2:443 -msg 2>&1`,
    ]);
    expect(r.stdout.match(/>>> TLS 1\.3, Handshake \[length 0005\], KeyUpdate/g)).toHaveLength(2);
    // Our answer to update_requested (RFC 8446 §4.6.3).
    expect(r.stdout).toMatch(/<<< TLS 1\.3, Handshake \[length 0005\], KeyUpdate/);
    expect(r.stdout).toMatch(/HTTP\/1\.1 200 OK/);
    expect(conns.at(-1)!.keyUpdates).toEqual(['received', 'received requested', 'sent']);
  });

  it('a_server_initiated_key_update_is_answered_by_openssl', async () => {
    onSecure = (s) => s.keyUpdate(true);
    try {
      const r = await inNs(ns, 'sh', [
        '-c',
        `(sleep 0.5; printf 'GET /echo HTTP/1.0\\r\\n\\r\\n'; sleep 1) | openssl s_client -tls1_3 -CAfile ${caPath} -connect 198.18.0.2:443 -msg 2>&1`,
      ]);
      expect(r.stdout).toMatch(/<<< TLS 1\.3, Handshake \[length 0005\], KeyUpdate/);
      expect(r.stdout).toMatch(/>>> TLS 1\.3, Handshake \[length 0005\], KeyUpdate/);
      expect(r.stdout).toMatch(/HTTP\/1\.1 200 OK/);
      expect(conns.at(-1)!.keyUpdates).toEqual(['sent requested', 'received']);
    } finally {
      onSecure = undefined;
    }
  });

  const bad: Array<[string, string]> = [
    ['truncated_client_hello', 'decode_error'],
    ['bad_lengths', 'decode_error'],
    ['flipped_tag_bit', 'bad_record_mac'],
    ['oversized_record', 'record_overflow'],
    ['ccs_after_handshake', 'unexpected_message'],
  ];
  for (const [kase, alert] of bad) {
    it(`answers_${kase}_with_${alert}_and_keeps_serving`, async () => {
      const r = await inNs(ns, 'python3', [join(ROOT, 'test/interop/tls-bad-input.py'), kase, '198.18.0.2', '443', caPath]);
      expect(r.stderr).toBe('');
      expect(JSON.parse(r.stdout)).toMatchObject({ case: kase, alert });
      const ok = await curl(['https://198.18.0.2/echo']);
      expect(ok.code).toBe(0);
    });
  }

  it('a_client_that_sends_nothing_does_not_block_others', async () => {
    const idle = spawn('ip', ['netns', 'exec', ns, 'bash', '-c', 'exec 3<>/dev/tcp/198.18.0.2/443; sleep 3'], { stdio: 'ignore' });
    try {
      const ok = await curl(['https://198.18.0.2/echo']);
      expect(ok.code).toBe(0);
    } finally {
      idle.kill();
    }
  });

  it('the_capture_decrypts_in_tshark_with_only_its_decryption_secrets_blocks', async () => {
    // No key log file is given to tshark: the secrets come from the DSBs tunstack wrote into the capture.
    const r = await sh('tshark', ['-r', pcap, '-Y', 'http', '-T', 'fields', '-e', 'http.request.method', '-e', 'http.request.uri', '-e', 'http.response.code']);
    expect(r.code).toBe(0);
    const rows = r.stdout.trim().split('\n');
    expect(rows.filter((l) => l === 'GET\t/echo\t').length).toBeGreaterThanOrEqual(12);
    expect(rows.filter((l) => l === '\t\t200').length).toBeGreaterThanOrEqual(12);
  });
});

describe.skipIf(!isRoot)('a large HTTPS download from tunstack (root)', () => {
  const ns = freshNetns();
  const dir = mkdtempSync(join(tmpdir(), 'tunstack-tls-big-'));
  let running: RunningStack;
  let suite = 0;

  beforeAll(async () => {
    const now = Date.now();
    const ca = createLocalCa({ crypto: nobleProvider, now });
    const leaf = issueCertificate({ ca, crypto: nobleProvider, now, commonName: '198.18.0.2', dnsNames: [], ipAddresses: ['198.18.0.2'], keyKind: 'ecdsa-p256' });
    writeFileSync(join(dir, 'ca.pem'), ca.certPem);
    running = await RunningStack.start({
      addr: '198.18.0.2',
      peer: '198.18.0.1/24',
      mtu: 1500,
      netns: ns,
      https: {
        port: 443,
        config: { crypto: nobleProvider, certificates: [certifiedKeyFromPem(leaf.certPem, leaf.keyPem, nobleProvider)], ticketKey: new Uint8Array(32) },
      },
    });
    running.https!.tls.on('secureConnection', (s: TlsSocket) => (suite = s.summary!.suite));
  });

  afterAll(async () => {
    await running?.close();
    if ((await netnsList()).includes(ns)) await sh('ip', ['netns', 'del', ns]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('downloads_100_MiB_over_https_byte_exact', async () => {
    const out = join(dir, 'big.bin');
    const r = await inNs(
      ns,
      'curl',
      ['-sS', '--max-time', '240', '--tlsv1.3', '--cacert', join(dir, 'ca.pem'), '-w', '%{time_total} %{speed_download}', '-o', out, `https://198.18.0.2/bytes/${MiB100}`],
      300_000,
    );
    expect(r.stderr).toBe('');
    const [secs, bps] = r.stdout.trim().split(' ').map(Number);
    console.log(`100 MiB over HTTPS (noble, ${nameOfSuite(suite)}): ${secs!.toFixed(2)} s, ${((bps! * 8) / 1e6).toFixed(0)} Mbit/s`);
    const sum = await sh('sha256sum', [out]);
    expect(sum.stdout.split(' ')[0]).toBe(sha256OfDeterministic(MiB100));
  }, 300_000);
});

function nameOfSuite(s: number): string {
  return Object.entries(CipherSuite).find(([, v]) => v === s)?.[0] ?? String(s);
}
