// verifyServerChain: path building to a root (intermediates out of order, extras, the root sent along),
// validity, CA rules, leaf usage, RFC 6125 names — on local-CA chains and on chains OpenSSL generates —
// and ensureServerIdentity's state directory.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nobleProvider } from '../../src/tls/crypto/noble.js';
import { type CertInfo, parseCertificate } from '../../src/tls/x509/certificate.js';
import { checkServerIdentity, dnsNameMatches, formatIp, parseIpLiteral } from '../../src/tls/x509/hostname.js';
import { createLocalCa, issueCertificate, issueIntermediateCa, type Issued, type IssueOptions } from '../../src/tls/x509/local-ca.js';
import { pemDecodeAll } from '../../src/tls/x509/pem.js';
import { ensureServerIdentity } from '../../src/socket/tls-state-dir.js';
import { serverChainVerifier, verifyServerChain } from '../../src/tls/x509/verify.js';
import type { VerifyOutcome } from '../../src/tls/engine-api.js';
import { mulberry32 } from '../helpers/prng.js';

const crypto = nobleProvider;
const NOW = Date.UTC(2025, 0, 15, 12, 0, 0);
const DAY = 86_400_000;
const dir = mkdtempSync(join(tmpdir(), 'tunstack-verify-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function info(der: Uint8Array): CertInfo {
  const r = parseCertificate(der);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

const root = createLocalCa({ crypto, now: NOW, commonName: 'Verify Root' });
const roots = [info(root.certDer)];

function leafOf(ca: Issued, over: Partial<IssueOptions> = {}): Issued {
  return issueCertificate({
    ca,
    crypto,
    now: NOW,
    commonName: 'server.test',
    dnsNames: ['server.test', '*.apps.test'],
    ipAddresses: ['198.18.0.2'],
    keyKind: 'ecdsa-p256',
    ...over,
  });
}

function verify(chain: readonly (Issued | Uint8Array)[], name: string | undefined = 'server.test', now = NOW, trust: CertInfo[] = roots): VerifyOutcome {
  const ders = chain.map((c) => (c instanceof Uint8Array ? c : c.certDer));
  return verifyServerChain({ chain: ders, roots: trust, now, name, crypto });
}

function expectFailure(out: VerifyOutcome, alert: string, reason: RegExp): void {
  expect(out.ok).toBe(false);
  if (!out.ok) {
    expect(out.alert).toBe(alert);
    expect(out.reason).toMatch(reason);
  }
}

describe('verifyServerChain: paths', () => {
  const leaf = leafOf(root);
  const int = issueIntermediateCa({ ca: root, crypto, now: NOW, commonName: 'Verify Intermediate' });
  const intLeaf = leafOf(int);

  it('accepts_a_leaf_issued_by_a_trusted_root', () => {
    expect(verify([leaf])).toEqual({ ok: true });
  });

  it('accepts_a_leaf_through_an_intermediate', () => {
    expect(verify([intLeaf, int])).toEqual({ ok: true });
  });

  it('accepts_intermediates_out_of_order_with_unrelated_extras_and_the_root_sent_along', () => {
    const int2 = issueIntermediateCa({ ca: int, crypto, now: NOW, commonName: 'Verify Intermediate 2' });
    const deep = leafOf(int2);
    const stranger = createLocalCa({ crypto, now: NOW });
    expect(verify([deep, root, stranger, int, int2])).toEqual({ ok: true });
    expect(verify([deep, int2, int, root])).toEqual({ ok: true });
  });

  it('accepts_a_leaf_that_is_itself_in_the_root_store', () => {
    // Pinning: the leaf is trusted directly, whoever issued it.
    const other = createLocalCa({ crypto, now: NOW });
    const pinned = leafOf(other);
    expect(verify([pinned], 'server.test', NOW, [info(pinned.certDer)])).toEqual({ ok: true });
  });

  it('applies_leaf_rules_to_a_trusted_self_signed_ca_used_as_a_server_certificate', () => {
    // The local CA's keyUsage is keyCertSign|cRLSign: it may not sign a TLS handshake.
    const selfSigned = createLocalCa({ crypto, now: NOW, commonName: 'server.test' });
    expectFailure(verify([selfSigned], 'server.test', NOW, [info(selfSigned.certDer)]), 'bad_certificate', /keyUsage lacks digitalSignature/);
  });

  it('answers_unknown_ca_for_a_leaf_from_another_ca', () => {
    const other = createLocalCa({ crypto, now: NOW, commonName: 'Other CA' });
    expectFailure(verify([leafOf(other)]), 'unknown_ca', /^certificate chain does not lead to a trusted CA: .*Other CA/);
  });

  it('answers_unknown_ca_when_the_intermediate_is_missing', () => {
    expectFailure(verify([intLeaf]), 'unknown_ca', /does not lead to a trusted CA.*Verify Intermediate/);
  });

  it('answers_unknown_ca_for_a_same_named_ca_with_a_different_key', () => {
    const twin = createLocalCa({ crypto, now: NOW, commonName: 'Verify Root' });
    expectFailure(verify([leafOf(twin)]), 'unknown_ca', /does not lead to a trusted CA/);
  });

  it('answers_unknown_ca_with_an_empty_root_store', () => {
    expectFailure(verify([leaf], 'server.test', NOW, []), 'unknown_ca', /does not lead to a trusted CA/);
  });

  it('answers_bad_certificate_for_a_tampered_signature', () => {
    // The issuer is found by name and key identifier, and its key does not verify the signature: that is a
    // forged or damaged certificate, reported as bad_certificate rather than unknown_ca.
    const der = leaf.certDer.slice();
    der[der.length - 1] ^= 0x01;
    expectFailure(verify([der]), 'bad_certificate', /signature on certificate "server\.test" does not verify/);
  });

  it('answers_bad_certificate_for_a_tampered_tbs', () => {
    const der = leaf.certDer.slice();
    const at = Buffer.from(der).indexOf(Buffer.from('server.test'));
    der[at] = 'S'.charCodeAt(0);
    expectFailure(verify([der], 'Server.test'), 'bad_certificate', /does not verify/);
  });

  it('answers_certificate_unknown_for_an_empty_chain_and_bad_certificate_for_garbage', () => {
    expectFailure(verify([]), 'certificate_unknown', /sent no certificate/);
    expectFailure(verify([Uint8Array.of(0x30, 0x03, 1, 2, 3)]), 'bad_certificate', /could not be read/);
  });

  it('ignores_unreadable_extra_certificates', () => {
    expect(verify([intLeaf, new Uint8Array(10), int])).toEqual({ ok: true });
  });

  it('never_throws_on_1000_seeded_mutations_of_a_two_certificate_chain', () => {
    const prng = mulberry32(0xc4a1);
    const ders = [intLeaf.certDer, int.certDer];
    for (let i = 0; i < 1000; i++) {
      const chain = ders.map((d, k) => (k === i % 2 ? prng.mutate(d) : d));
      const out = verify(chain);
      if (!out.ok) expect(out.reason.length).toBeGreaterThan(0);
    }
  });

  it('works_as_a_clientconfig_verify_callback', () => {
    const cb = serverChainVerifier(roots, crypto);
    expect(cb([leaf.certDer], NOW, 'server.test')).toEqual({ ok: true });
    expect(cb([leaf.certDer], NOW, 'other.test').ok).toBe(false);
  });
});

describe('verifyServerChain: validity', () => {
  it('answers_certificate_expired_for_an_expired_leaf', () => {
    const old = leafOf(root, { notBefore: NOW - 30 * DAY, notAfter: NOW - DAY });
    expectFailure(verify([old]), 'certificate_expired', /"server\.test" expired on 2025-01-14T12:00:00Z/);
  });

  it('answers_certificate_expired_for_a_not_yet_valid_leaf', () => {
    const future = leafOf(root, { notBefore: NOW + DAY, notAfter: NOW + 30 * DAY });
    expectFailure(verify([future]), 'certificate_expired', /is not valid until 2025-01-16T12:00:00Z/);
  });

  it('answers_certificate_expired_for_an_expired_intermediate_or_root', () => {
    const oldInt = issueIntermediateCa({ ca: root, crypto, now: NOW, commonName: 'Old Int', notBefore: NOW - 10 * DAY, notAfter: NOW - DAY });
    expectFailure(verify([leafOf(oldInt), oldInt]), 'certificate_expired', /"Old Int" expired/);
    const oldRoot = createLocalCa({ crypto, now: NOW, commonName: 'Old Root', notBefore: NOW - 10 * DAY, notAfter: NOW - DAY });
    expectFailure(verify([leafOf(oldRoot)], 'server.test', NOW, [info(oldRoot.certDer)]), 'certificate_expired', /"Old Root" expired/);
  });

  it('accepts_exactly_at_the_ends_of_the_window', () => {
    const l = leafOf(root, { notBefore: NOW, notAfter: NOW + DAY });
    expect(verify([l], 'server.test', NOW).ok).toBe(true);
    expect(verify([l], 'server.test', NOW + DAY).ok).toBe(true);
    expect(verify([l], 'server.test', NOW - 1000).ok).toBe(false);
    expect(verify([l], 'server.test', NOW + DAY + 1000).ok).toBe(false);
  });
});

describe('verifyServerChain: CA rules', () => {
  it('answers_bad_certificate_when_a_non_ca_certificate_issues_the_leaf', () => {
    const notCa = leafOf(root, { commonName: 'Not A CA' });
    const forged = leafOf(notCa);
    expectFailure(verify([forged, notCa]), 'bad_certificate', /"Not A CA" issued "server\.test" but is not a CA certificate/);
  });

  it('answers_bad_certificate_when_a_path_length_constraint_is_exceeded', () => {
    const int1 = issueIntermediateCa({ ca: root, crypto, now: NOW, commonName: 'Int pathLen 0', pathLen: 0 });
    const int2 = issueIntermediateCa({ ca: int1, crypto, now: NOW, commonName: 'Int below' });
    expectFailure(verify([leafOf(int2), int2, int1]), 'bad_certificate', /"Int pathLen 0" allows 0 intermediate CA\(s\) below it, but the chain has 1/);
    expect(verify([leafOf(int1), int1]).ok).toBe(true);
  });
});

describe('verifyServerChain: names', () => {
  const leaf = leafOf(root);

  it('matches_dns_names_case_insensitively_and_wildcards_for_one_label', () => {
    expect(verify([leaf], 'SERVER.test').ok).toBe(true);
    expect(verify([leaf], 'server.test.').ok).toBe(true);
    expect(verify([leaf], 'x.apps.test').ok).toBe(true);
    expect(verify([leaf], undefined).ok).toBe(true);
  });

  it('answers_bad_certificate_for_a_wrong_name', () => {
    expectFailure(verify([leaf], 'evil.test'), 'bad_certificate', /^certificate is for server\.test, \*\.apps\.test, 198\.18\.0\.2, not evil\.test$/);
    expectFailure(verify([leaf], 'a.b.apps.test'), 'bad_certificate', /not a\.b\.apps\.test/);
    expectFailure(verify([leaf], 'apps.test'), 'bad_certificate', /not apps\.test/);
  });

  it('matches_an_ipv4_literal_only_against_ip_sans', () => {
    expect(verify([leaf], '198.18.0.2').ok).toBe(true);
    expectFailure(verify([leaf], '198.18.0.3'), 'bad_certificate', /^certificate is for .*, not 198\.18\.0\.3$/);
    const dnsOnly = leafOf(root, { dnsNames: ['198.18.0.2'], ipAddresses: [] });
    expectFailure(verify([dnsOnly], '198.18.0.2'), 'bad_certificate', /not 198\.18\.0\.2/);
  });

  it('matches_ipv6_literals_in_any_text_form', () => {
    const v6 = leafOf(root, { ipAddresses: ['2001:db8::1'] });
    expect(verify([v6], '2001:0db8:0:0:0:0:0:1').ok).toBe(true);
    expect(verify([v6], '[2001:db8::1]').ok).toBe(true);
    expect(verify([v6], '2001:db8::2').ok).toBe(false);
  });
});

describe('RFC 6125 name matching', () => {
  it.each([
    ['www.example.com', 'www.example.com', true],
    ['WWW.Example.COM', 'www.example.com', true],
    ['foo.example.com', '*.example.com', true],
    ['example.com', '*.example.com', false],
    ['a.b.example.com', '*.example.com', false],
    ['foo.com', '*.com', false],
    ['wfoo.example.com', 'w*.example.com', false],
    ['foo.example.com', 'f*o.example.com', false],
    ['foo.example.com', '*.*.com', false],
    ['foo.example.com', 'foo.*.com', false],
    ['', '*.example.com', false],
  ])('%s_against_%s_is_%s', (ref, presented, want) => {
    expect(dnsNameMatches(ref, presented)).toBe(want);
  });

  it('uses_the_cn_only_when_there_is_no_subjectaltname_and_never_for_ips', () => {
    const base = { dnsNames: [], ipAddresses: [], commonName: 'cn.test' };
    expect(checkServerIdentity({ ...base, hasSubjectAltName: false }, 'cn.test')).toBeUndefined();
    expect(checkServerIdentity({ ...base, hasSubjectAltName: true }, 'cn.test')).toMatch(/not cn\.test/);
    expect(checkServerIdentity({ ...base, commonName: '10.0.0.1', hasSubjectAltName: false }, '10.0.0.1')).toMatch(/not 10\.0\.0\.1/);
  });

  it('parses_and_prints_ip_literals', () => {
    expect(formatIp(parseIpLiteral('2001:db8:0:0:1:0:0:1')!)).toBe('2001:db8::1:0:0:1');
    expect(formatIp(parseIpLiteral('::ffff:1.2.3.4')!)).toBe('::ffff:102:304');
    expect(formatIp(parseIpLiteral('::')!)).toBe('::');
    expect(formatIp(parseIpLiteral('1::')!)).toBe('1::');
    expect(formatIp(parseIpLiteral('1:2:3:4:5:6:7:8')!)).toBe('1:2:3:4:5:6:7:8');
    expect(parseIpLiteral('010.0.0.1')).toBeUndefined();
    expect(parseIpLiteral('256.0.0.1')).toBeUndefined();
    expect(parseIpLiteral('1:2:3:4:5:6:7:8:9')).toBeUndefined();
    expect(parseIpLiteral('1::2::3')).toBeUndefined();
    expect(parseIpLiteral('example.com')).toBeUndefined();
  });
});

describe('verifyServerChain on OpenSSL-generated chains', () => {
  function openssl(args: string[]): string {
    return execFileSync('openssl', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  }
  function read(name: string): Uint8Array {
    return pemDecodeAll(readFileSync(join(dir, name), 'utf8'))[0]!;
  }
  /** A CSR for `cn` signed by the `ca` files with the given extensions. */
  function opensslLeaf(name: string, ca: string, cn: string, ext: string, keyArgs = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']): Uint8Array {
    writeFileSync(join(dir, `${name}.ext`), ext);
    openssl(['req', '-new', '-nodes', ...keyArgs, '-subj', `/CN=${cn}`, '-keyout', `${name}-key.pem`, '-out', `${name}.csr`]);
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}-key.pem`, '-CAcreateserial', '-days', '30', '-sha256', '-extfile', `${name}.ext`, '-out', `${name}.pem`]);
    return read(`${name}.pem`);
  }

  // `openssl req -x509` gives a v3 CA (basicConstraints critical CA:TRUE, SKI, AKI) from the default config.
  openssl(['req', '-x509', '-nodes', '-newkey', 'rsa:2048', '-sha256', '-days', '30', '-subj', '/C=US/O=OpenSSL Test/CN=OpenSSL Root', '-keyout', 'osroot-key.pem', '-out', 'osroot.pem']);
  const osRoot = info(read('osroot.pem'));
  const at = osRoot.notBefore + 3_600_000; // inside every validity window, whatever the wall clock says
  const vfy = (chain: Uint8Array[], name: string | undefined, trust = [osRoot]): VerifyOutcome =>
    verifyServerChain({ chain, roots: trust, now: at, name, crypto });

  it('verifies_a_root_intermediate_leaf_chain_made_by_openssl', () => {
    const int = opensslLeaf('osint', 'osroot', 'OpenSSL Intermediate', 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384']);
    const leaf = opensslLeaf('osleaf', 'osint', 'os.test', 'subjectAltName=DNS:os.test,IP:198.18.0.9\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n');
    expect(vfy([leaf, int], 'os.test')).toEqual({ ok: true });
    expect(vfy([leaf, int], '198.18.0.9')).toEqual({ ok: true });
    expect(vfy([leaf], 'os.test').ok).toBe(false);
    expect(execFileSync('openssl', ['verify', '-CAfile', 'osroot.pem', '-untrusted', 'osint.pem', 'osleaf.pem'], { cwd: dir, encoding: 'utf8' })).toContain('OK');
  });

  it('verifies_an_rsa_leaf_without_sans_by_its_cn', () => {
    const leaf = opensslLeaf('oscn', 'osroot', 'cn-only.test', 'basicConstraints=CA:FALSE\n', ['-newkey', 'rsa:2048']);
    expect(vfy([leaf], 'cn-only.test')).toEqual({ ok: true });
    expectFailure(vfy([leaf], 'other.test'), 'bad_certificate', /certificate is for cn-only\.test, not other\.test/);
  });

  it('rejects_a_leaf_whose_key_usage_lacks_digital_signature', () => {
    const leaf = opensslLeaf('osku', 'osroot', 'ku.test', 'subjectAltName=DNS:ku.test\nkeyUsage=critical,keyEncipherment\n', ['-newkey', 'rsa:2048']);
    expectFailure(vfy([leaf], 'ku.test'), 'bad_certificate', /keyUsage lacks digitalSignature/);
  });

  it('rejects_a_leaf_only_for_client_auth', () => {
    const leaf = opensslLeaf('oseku', 'osroot', 'eku.test', 'subjectAltName=DNS:eku.test\nextendedKeyUsage=clientAuth\n');
    expectFailure(vfy([leaf], 'eku.test'), 'bad_certificate', /not for TLS servers/);
  });

  it('rejects_an_intermediate_without_keycertsign', () => {
    const int = opensslLeaf('osnoks', 'osroot', 'No KeyCertSign', 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature\n');
    const leaf = opensslLeaf('osnoksleaf', 'osnoks', 'nks.test', 'subjectAltName=DNS:nks.test\n');
    expectFailure(vfy([leaf, int], 'nks.test'), 'bad_certificate', /"No KeyCertSign" is not allowed to sign certificates/);
  });

  it('rejects_a_critical_extension_it_does_not_process', () => {
    const int = opensslLeaf('osnc', 'osroot', 'Constrained', 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\nnameConstraints=critical,permitted;DNS:nc.test\n');
    const leaf = opensslLeaf('osncleaf', 'osnc', 'a.nc.test', 'subjectAltName=DNS:a.nc.test\n');
    expectFailure(vfy([leaf, int], 'a.nc.test'), 'unsupported_certificate', /critical extension .*2\.5\.29\.30/);
  });
});

describe('ensureServerIdentity', () => {
  const state = join(dir, 'state');

  it('creates_a_ca_and_a_server_certificate_on_first_run_with_private_keys_0600', () => {
    const id = ensureServerIdentity(state, { address: '198.18.0.2', crypto, now: NOW });
    expect(id.created).toBe(true);
    expect(id.caPath).toBe(join(state, 'ca.pem'));
    expect(id.certPath).toBe(join(state, 'server-198.18.0.2.pem'));
    expect(id.keyPath).toBe(join(state, 'server-198.18.0.2-key.pem'));
    expect(statSync(join(state, 'ca-key.pem')).mode & 0o777).toBe(0o600);
    expect(statSync(id.keyPath).mode & 0o777).toBe(0o600);
    expect(readFileSync(id.certPath, 'utf8')).toBe(id.certPem);
    const ca = info(pemDecodeAll(id.caPem)[0]!);
    const leaf = info(pemDecodeAll(id.certPem)[0]!);
    expect(leaf.ipAddresses).toEqual(['198.18.0.2']);
    expect(leaf.dnsNames).toEqual(['tunstack.test']);
    const chain = [pemDecodeAll(id.certPem)[0]!];
    expect(verifyServerChain({ chain, roots: [ca], now: NOW, name: '198.18.0.2', crypto })).toEqual({ ok: true });
    expect(verifyServerChain({ chain, roots: [ca], now: NOW, name: 'tunstack.test', crypto })).toEqual({ ok: true });
  });

  it('reuses_everything_on_the_next_run', () => {
    const first = ensureServerIdentity(state, { address: '198.18.0.2', crypto, now: NOW });
    const again = ensureServerIdentity(state, { address: '198.18.0.2', crypto, now: NOW + 10 * DAY });
    expect(again.created).toBe(false);
    expect(again.certPem).toBe(first.certPem);
    expect(again.keyPem).toBe(first.keyPem);
    expect(again.caPem).toBe(first.caPem);
  });

  it('reissues_a_missing_or_nearly_expired_server_certificate_under_the_same_ca', () => {
    const first = ensureServerIdentity(state, { address: '198.18.0.2', crypto, now: NOW });
    unlinkSync(first.certPath);
    const reissued = ensureServerIdentity(state, { address: '198.18.0.2', crypto, now: NOW });
    expect(reissued.created).toBe(true);
    expect(reissued.caPem).toBe(first.caPem);
    expect(reissued.certPem).not.toBe(first.certPem);
    const notAfter = info(pemDecodeAll(reissued.certPem)[0]!).notAfter;
    const late = ensureServerIdentity(state, { address: '198.18.0.2', crypto, now: notAfter - DAY / 2 });
    expect(late.created).toBe(true);
    expect(late.caPem).toBe(first.caPem);
    expect(info(pemDecodeAll(late.certPem)[0]!).notAfter).toBeGreaterThan(notAfter);
  });

  it('keeps_one_certificate_per_address_and_honours_the_key_kind', () => {
    const other = ensureServerIdentity(state, { address: '198.18.0.7', crypto, now: NOW, keyKind: 'ed25519' });
    expect(other.created).toBe(true);
    expect(existsSync(join(state, 'server-198.18.0.7.pem'))).toBe(true);
    expect(info(pemDecodeAll(other.certPem)[0]!).publicKey.kind).toBe('ed25519');
    const switched = ensureServerIdentity(state, { address: '198.18.0.7', crypto, now: NOW, keyKind: 'ecdsa-p256' });
    expect(switched.created).toBe(true);
    expect(info(pemDecodeAll(switched.certPem)[0]!).publicKey.kind).toBe('ec');
  });

  it('refuses_to_replace_an_unreadable_ca_and_says_what_to_do', () => {
    const broken = join(dir, 'broken');
    ensureServerIdentity(broken, { address: '198.18.0.2', crypto, now: NOW });
    writeFileSync(join(broken, 'ca-key.pem'), 'not a key');
    expect(() => ensureServerIdentity(broken, { address: '198.18.0.2', crypto, now: NOW })).toThrow(/remove ca\.pem and ca-key\.pem/);
  });
});
