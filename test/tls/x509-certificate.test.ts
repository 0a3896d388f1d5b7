// parseCertificate against Node's X509Certificate and OpenSSL, the local CA's certificates as OpenSSL sees
// them (`openssl verify`, `openssl x509 -text`), and the system root bundle.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nobleProvider } from '../../src/tls/crypto/noble.js';
import { type CertInfo, parseCertificate } from '../../src/tls/x509/certificate.js';
import { createLocalCa, issueCertificate, issueIntermediateCa, type Issued } from '../../src/tls/x509/local-ca.js';
import { formatIp, parseIpLiteral } from '../../src/tls/x509/hostname.js';
import { KeyUsage, Oid } from '../../src/tls/x509/oids.js';
import { pemDecodeAll } from '../../src/tls/x509/pem.js';
import { loadRoots } from '../../src/tls/x509/verify.js';

const crypto = nobleProvider;
const NOW = Date.UTC(2025, 0, 15, 12, 0, 0);
const DAY = 86_400_000;
const dir = mkdtempSync(join(tmpdir(), 'tunstack-x509-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function openssl(args: string[]): { code: number; out: string } {
  try {
    return { code: 0, out: execFileSync('openssl', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) };
  } catch (e) {
    const err = e as { status?: number; stdout?: string; stderr?: string };
    return { code: err.status ?? 1, out: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  }
}

function write(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

function parsed(der: Uint8Array): CertInfo {
  const r = parseCertificate(der);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

let files = 0;
/** `openssl verify` at NOW (seconds), so the result does not depend on the wall clock. */
function opensslVerify(ca: Issued, leaf: Issued, untrusted?: Issued): { code: number; out: string } {
  const tag = ++files;
  const args = ['verify', '-attime', String(Math.floor(NOW / 1000)), '-CAfile', write(`ca-${tag}.pem`, ca.certPem)];
  if (untrusted) args.push('-untrusted', write(`int-${tag}.pem`, untrusted.certPem));
  args.push(write(`leaf-${tag}.pem`, leaf.certPem));
  return openssl(args);
}

describe('local CA certificates as OpenSSL sees them', () => {
  it.each([
    ['ecdsa-p256', 'ecdsa-p256'],
    ['ecdsa-p256', 'rsa-2048'],
    ['rsa-2048', 'ecdsa-p256'],
    ['rsa-2048', 'rsa-2048'],
    ['ecdsa-p256', 'ecdsa-p384'],
    ['rsa-2048', 'ed25519'],
  ] as const)('openssl_verify_accepts_a_%s_ca_issuing_a_%s_leaf', (caKind, leafKind) => {
    const ca = createLocalCa({ crypto, now: NOW, keyKind: caKind });
    const leaf = issueCertificate({
      ca,
      crypto,
      now: NOW,
      commonName: 'server.test',
      dnsNames: ['server.test'],
      ipAddresses: ['198.18.0.2'],
      keyKind: leafKind,
    });
    const r = opensslVerify(ca, leaf);
    expect(r.out).toContain(': OK');
    expect(r.code).toBe(0);
    // OpenSSL's own purpose check for a TLS server.
    const args = ['verify', '-attime', String(Math.floor(NOW / 1000)), '-purpose', 'sslserver', '-CAfile', write('p-ca.pem', ca.certPem), write('p-leaf.pem', leaf.certPem)];
    expect(openssl(args).code).toBe(0);
  });

  it('openssl_verify_accepts_a_chain_through_an_intermediate', () => {
    const root = createLocalCa({ crypto, now: NOW });
    const int = issueIntermediateCa({ ca: root, crypto, now: NOW, commonName: 'tunstack intermediate', pathLen: 0 });
    const leaf = issueCertificate({ ca: int, crypto, now: NOW, commonName: 'a.test', dnsNames: ['a.test'], ipAddresses: [], keyKind: 'ecdsa-p256' });
    const r = opensslVerify(root, leaf, int);
    expect(r.code).toBe(0);
  });

  it('openssl_verify_rejects_an_expired_leaf', () => {
    const ca = createLocalCa({ crypto, now: NOW });
    const leaf = issueCertificate({
      ca, crypto, now: NOW, commonName: 'old.test', dnsNames: ['old.test'], ipAddresses: [], keyKind: 'ecdsa-p256',
      notBefore: NOW - 30 * DAY, notAfter: NOW - DAY,
    });
    const r = opensslVerify(ca, leaf);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/expired/);
  });

  it('openssl_x509_text_shows_the_sans_constraints_and_usages', () => {
    const ca = createLocalCa({ crypto, now: NOW, commonName: 'Test Root' });
    const leaf = issueCertificate({
      ca,
      crypto,
      now: NOW,
      commonName: 'web.test',
      dnsNames: ['web.test', '*.web.test'],
      ipAddresses: ['198.18.0.2', '2001:db8::7'],
      keyKind: 'rsa-2048',
    });
    const text = openssl(['x509', '-noout', '-text', '-in', write('text-leaf.pem', leaf.certPem)]).out;
    expect(text).toContain('Version: 3 (0x2)');
    expect(text).toMatch(/DNS:web\.test, DNS:\*\.web\.test, IP Address:198\.18\.0\.2, IP Address:2001:DB8:0:0:0:0:0:7/i);
    expect(text).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
    expect(text).toMatch(/Key Usage: critical\s+Digital Signature, Key Encipherment/);
    expect(text).toMatch(/Extended Key Usage:\s+TLS Web Server Authentication, TLS Web Client Authentication/);
    expect(text).toContain('Issuer: O = tunstack, CN = Test Root');
    expect(text).toContain('Signature Algorithm: ecdsa-with-SHA256');
    const caText = openssl(['x509', '-noout', '-text', '-in', write('text-ca.pem', ca.certPem)]).out;
    expect(caText).toMatch(/Basic Constraints: critical\s+CA:TRUE/);
    expect(caText).toMatch(/Key Usage: critical\s+Certificate Sign, CRL Sign/);
    expect(caText).toContain('Subject Key Identifier');
    // The leaf's AKI is the CA's SKI.
    const ski = /Subject Key Identifier:\s+([0-9A-F:]+)/.exec(caText)?.[1];
    expect(ski).toBeDefined();
    expect(text).toContain(ski!);
  });

  it('writes_a_16_byte_positive_serial_and_backdates_notbefore_by_an_hour', () => {
    const ca = createLocalCa({ crypto, now: NOW });
    const info = parsed(ca.certDer);
    expect(info.serialNumber).toMatch(/^[4-7][0-9a-f]{31}$/);
    expect(info.notBefore).toBe(NOW - 3_600_000);
    expect(info.notAfter).toBe(NOW + 3650 * DAY);
  });

  it('writes_a_pem_key_openssl_can_read', () => {
    const ca = createLocalCa({ crypto, now: NOW, keyKind: 'rsa-2048' });
    const r = openssl(['pkey', '-noout', '-in', write('k.pem', ca.keyPem)]);
    expect(r.code).toBe(0);
  });
});

describe('parseCertificate', () => {
  const ca = createLocalCa({ crypto, now: NOW, commonName: 'Agreement CA' });
  const leaf = issueCertificate({
    ca,
    crypto,
    now: NOW,
    commonName: 'agree.test',
    dnsNames: ['agree.test', 'www.agree.test'],
    ipAddresses: ['10.0.0.1', '::1'],
    keyKind: 'ecdsa-p256',
  });

  it('agrees_with_x509certificate_on_names_dates_and_sans', () => {
    for (const der of [ca.certDer, leaf.certDer]) {
      const info = parsed(der);
      const x = info.x509;
      expect(info.subject).toBe(x.subject.split('\n').join(', '));
      expect(info.issuer).toBe(x.issuer.split('\n').join(', '));
      expect(info.notBefore).toBe(Date.parse(x.validFrom));
      expect(info.notAfter).toBe(Date.parse(x.validTo));
      expect(info.isCA).toBe(x.ca);
      expect(info.serialNumber.toUpperCase()).toBe(x.serialNumber.toUpperCase());
      // Node prints IPv6 uncompressed (0:0:0:0:0:0:0:1); ours is RFC 5952 (::1): compare the addresses.
      const san = (x.subjectAltName ?? '')
        .split(', ')
        .filter(Boolean)
        .map((e) => (e.startsWith('IP Address:') ? `IP Address:${formatIp(parseIpLiteral(e.slice(11))!)}` : e));
      expect(san).toEqual([...info.dnsNames.map((d) => `DNS:${d}`), ...info.ipAddresses.map((i) => `IP Address:${i}`)]);
      expect(info.ipAddresses).toEqual(der === leaf.certDer ? ['10.0.0.1', '::1'] : []);
    }
  });

  it('extracts_what_x509certificate_does_not_expose', () => {
    const info = parsed(leaf.certDer);
    expect(info.version).toBe(3);
    expect(info.signatureAlgorithm).toBe(Oid.ecdsaWithSha256);
    expect(info.signatureScheme).toBe(0x0403);
    expect(info.keyUsage).toBe(KeyUsage.digitalSignature);
    expect(info.extendedKeyUsage).toEqual([Oid.serverAuth, Oid.clientAuth]);
    expect(info.pathLen).toBeUndefined();
    expect(info.commonName).toBe('agree.test');
    expect(info.publicKey.kind).toBe('ec');
    expect(info.authorityKeyId).toEqual(parsed(ca.certDer).subjectKeyId);
    expect(info.unhandledCriticalExtensions).toEqual([]);
    // The tbs bytes are exactly what was signed: the CA key verifies them.
    expect(crypto.verify(0x0403, parsed(ca.certDer).publicKey, info.tbs, info.signature)).toBe(true);
    expect(Buffer.from(info.tbs).equals(Buffer.from(info.x509.raw).subarray(4, 4 + info.tbs.length))).toBe(true);
    const caInfo = parsed(ca.certDer);
    expect(caInfo.keyUsage).toBe(KeyUsage.keyCertSign | KeyUsage.cRLSign);
    expect(caInfo.issuerDer).toEqual(caInfo.subjectDer);
  });

  it('maps_openssl_made_signature_algorithms_to_tls_schemes', () => {
    const cases: [string[], number | undefined, string][] = [
      [['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384', '-sha384'], 0x0503, Oid.ecdsaWithSha384],
      [['-newkey', 'rsa:2048', '-sha384'], 0x0501, Oid.sha384WithRsa],
      [['-newkey', 'rsa:2048', '-sha512'], 0x0601, Oid.sha512WithRsa],
      [['-newkey', 'ed25519'], 0x0807, Oid.ed25519],
      [['-newkey', 'rsa:2048', '-sha256', '-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:32'], 0x0804, Oid.rsassaPss],
      [['-newkey', 'rsa:2048', '-sha256', '-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:20'], undefined, Oid.rsassaPss],
      [['-newkey', 'rsa:2048', '-sha1'], undefined, Oid.sha1WithRsa],
    ];
    cases.forEach(([extra, scheme, oid], i) => {
      const out = join(dir, `alg-${i}.pem`);
      const r = openssl(['req', '-x509', '-nodes', '-subj', '/CN=alg', '-days', '1', '-keyout', join(dir, `alg-${i}-key.pem`), '-out', out, ...extra]);
      expect(r.code, r.out).toBe(0);
      const info = parsed(pemDecodeAll(readFileSync(out, 'utf8'))[0]!);
      expect(info.signatureAlgorithm).toBe(oid);
      expect(info.signatureScheme).toBe(scheme);
      if (scheme !== undefined) expect(crypto.verify(scheme as 0x0403, info.publicKey, info.tbs, info.signature)).toBe(true);
    });
  });

  it('rejects_garbage_truncation_and_trailing_bytes_with_a_reason', () => {
    const der = leaf.certDer;
    for (const bad of [new Uint8Array(0), der.subarray(0, der.length - 1), Uint8Array.from([...der, 0]), Uint8Array.of(0x30, 0x00)]) {
      const r = parseCertificate(bad);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toMatch(/malformed certificate/);
    }
  });

  it('copies_the_input_so_later_writes_to_it_do_not_change_the_result', () => {
    const buf = leaf.certDer.slice();
    const info = parsed(buf);
    buf.fill(0);
    expect(info.der).toEqual(leaf.certDer);
    expect(info.subject).toBe('CN=agree.test');
    expect(info.tbs[0]).toBe(0x30);
  });
});

describe('system roots', () => {
  const bundle = '/etc/ssl/certs/ca-certificates.crt';
  it.skipIf(!existsSync(bundle))('load_more_than_100_roots_whose_self_signatures_verify', () => {
    const text = readFileSync(bundle, 'utf8');
    const roots = loadRoots(text);
    expect(roots.length).toBeGreaterThan(100);
    expect(roots.length).toBeLessThanOrEqual(pemDecodeAll(text).length);
    let checked = 0;
    for (const r of roots) {
      expect(r.x509.subject.split('\n').join(', ')).toBe(r.subject);
      if (r.signatureScheme === undefined) continue; // SHA-1 self-signatures: a root's own signature is not relied upon
      expect(crypto.verify(r.signatureScheme, r.publicKey, r.tbs, r.signature), r.subject).toBe(true);
      checked++;
    }
    expect(checked).toBeGreaterThan(100);
  });

  it('loadroots_skips_unparsable_entries_and_never_throws', () => {
    const good = createLocalCa({ crypto, now: NOW });
    const junk = '-----BEGIN CERTIFICATE-----\nMIIBAA==\n-----END CERTIFICATE-----\n';
    expect(loadRoots(`${junk}${good.certPem}garbage\n${junk}`)).toHaveLength(1);
    expect(loadRoots('')).toEqual([]);
  });
});
