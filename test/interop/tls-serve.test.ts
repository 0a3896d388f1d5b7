// `tunstack serve` with HTTPS: the local CA created on first run in --state DIR (and reused after),
// the "trust it" hint, --trace showing TLS messages beside the TCP states, --cert/--key pairs chosen
// by SNI, --no-https, --tls-provider node, and a one-line complaint for a missing certificate file.

import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { nobleProvider } from '../../src/tls/crypto/noble.js';
import { createLocalCa, issueCertificate } from '../../src/tls/x509/local-ca.js';
import { CLI, freshNetns, inNs, isRoot, netnsList, sh, startServe, type ServeProcess } from '../helpers/harness.js';

describe.skipIf(!isRoot)('tunstack serve --https (root)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tunstack-tls-serve-'));
  const state = join(dir, 'state');
  let serve: ServeProcess | undefined;
  let ns = '';

  const start = async (args: string[]) => {
    ns = freshNetns();
    serve = await startServe(['--netns', ns, ...args]);
    return serve;
  };

  afterEach(async () => {
    if (serve) await serve.stop();
    serve = undefined;
    if (ns && (await netnsList()).includes(ns)) await sh('ip', ['netns', 'del', ns]);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('creates_a_local_ca_on_first_run_says_how_to_trust_it_and_serves_https_beside_http', async () => {
    const s = await start(['--state', state, '--trace-states']);
    expect(s.stderr()).toMatch(new RegExp(`created a local CA and a certificate for 198\\.18\\.0\\.2 in ${state}`));
    expect(s.stderr()).toContain(`trust it: curl --cacert ${join(state, 'ca.pem')} https://198.18.0.2/`);
    expect(s.stderr()).toMatch(/http on port 80, https on port 443 \(noble crypto\)/);
    const https = await inNs(ns, 'curl', ['-sS', '--max-time', '10', '--cacert', join(state, 'ca.pem'), 'https://198.18.0.2/echo']);
    expect(https.stderr).toBe('');
    expect(https.stdout).toMatch(/^GET \/echo HTTP\/1\.1/);
    const http = await inNs(ns, 'curl', ['-sS', '--max-time', '10', 'http://198.18.0.2/echo']);
    expect(http.stdout).toMatch(/^GET \/echo HTTP\/1\.1/);
    // --trace-states: the TLS messages between the TCP state changes of the same connection.
    await new Promise((r) => setTimeout(r, 200));
    const lines = s.stderr().split('\n');
    const port = lines.find((l) => /tls 198\.18\.0\.1:\d+ → :443 {2}in {2}ClientHello/.test(l))!.match(/198\.18\.0\.1:(\d+)/)![1];
    const conn = lines.filter((l) => l.includes(`198.18.0.1:${port} → :443`)).map((l) => l.replace(/^[\d.]+ /, ''));
    expect(conn[0]).toMatch(/^tcp .* LISTEN → SYN-RECEIVED$/);
    expect(conn.some((l) => /^tls .* out ServerHello TLS_AES_128_GCM_SHA256 key_share=x25519$/.test(l))).toBe(true);
    expect(conn.some((l) => /^tls .* in {2}Finished/.test(l))).toBe(true);
    expect(conn.at(-1)).toMatch(/→ CLOSED$/);
  });

  it('reuses_the_ca_on_the_next_run', async () => {
    const ca = readFileSync(join(state, 'ca.pem'), 'utf8');
    const s = await start(['--state', state]);
    expect(s.stderr()).not.toMatch(/created a local CA/);
    expect(s.stderr()).toContain(`trust it: curl --cacert ${join(state, 'ca.pem')}`);
    expect(readFileSync(join(state, 'ca.pem'), 'utf8')).toBe(ca);
    const r = await inNs(ns, 'curl', ['-sS', '--max-time', '10', '--cacert', join(state, 'ca.pem'), 'https://198.18.0.2/bytes/100000', '-o', '/dev/null', '-w', '%{http_code}']);
    expect(r.stdout).toBe('200');
  });

  it('serves_cert_and_key_pairs_chosen_by_sni_on_another_port', async () => {
    const now = Date.now();
    const ca = createLocalCa({ crypto: nobleProvider, now });
    const write = (name: string, dns: string[], ip: string[], keyKind: 'ecdsa-p384' | 'rsa-2048') => {
      const c = issueCertificate({ ca, crypto: nobleProvider, now, commonName: dns[0] ?? ip[0]!, dnsNames: dns, ipAddresses: ip, keyKind });
      writeFileSync(join(dir, `${name}.pem`), c.certPem);
      writeFileSync(join(dir, `${name}-key.pem`), c.keyPem);
    };
    writeFileSync(join(dir, 'own-ca.pem'), ca.certPem);
    write('one', ['one.test'], ['198.18.0.2'], 'ecdsa-p384');
    write('two', ['two.test'], [], 'rsa-2048');
    await start(['--https', '8443', '--http', '0', '--cert', join(dir, 'one.pem'), '--key', join(dir, 'one-key.pem'), '--cert', join(dir, 'two.pem'), '--key', join(dir, 'two-key.pem')]);
    const curl = (args: string[]) => inNs(ns, 'curl', ['-sS', '-v', '--max-time', '10', '--cacert', join(dir, 'own-ca.pem'), '-o', '/dev/null', ...args]);
    const byIp = await curl(['https://198.18.0.2:8443/']);
    expect(byIp.code, byIp.stderr).toBe(0);
    expect(byIp.stderr).toMatch(/subject: CN=one\.test/);
    const bySni = await curl(['--resolve', 'two.test:8443:198.18.0.2', 'https://two.test:8443/']);
    expect(bySni.code, bySni.stderr).toBe(0);
    expect(bySni.stderr).toMatch(/subject: CN=two\.test/);
    const http = await inNs(ns, 'curl', ['-sS', '--max-time', '3', 'http://198.18.0.2/']);
    expect(http.code).toBe(7); // --http 0: refused
  });

  it('no_https_turns_it_off', async () => {
    const s = await start(['--no-https']);
    expect(s.stderr()).not.toMatch(/https on port/);
    const r = await inNs(ns, 'curl', ['-sS', '--max-time', '3', '-k', 'https://198.18.0.2/']);
    expect(r.code).toBe(7);
  });

  it('tls_provider_node_serves_the_same', async () => {
    const s = await start(['--state', state, '--tls-provider', 'node']);
    expect(s.stderr()).toMatch(/https on port 443 \(node crypto\)/);
    const r = await inNs(ns, 'curl', ['-sS', '--max-time', '10', '--cacert', join(state, 'ca.pem'), 'https://198.18.0.2/echo']);
    expect(r.stdout).toMatch(/^GET \/echo/);
  });

  it('a_missing_certificate_file_is_one_line_and_exit_2', async () => {
    const r = await sh(process.execPath, [CLI, 'serve', '--cert', join(dir, 'nope.pem'), '--key', join(dir, 'nope-key.pem')]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(`tunstack: no such file: ${join(dir, 'nope.pem')}`);
  });
});
