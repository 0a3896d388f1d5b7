// `tunstack ladder` on a client-side capture (root): `tunstack get --pcap` fetching over HTTPS from a
// Node (OpenSSL) server on the kernel side. tunstack opened the connection, so it is A; the key log
// it wrote as the client decrypts OpenSSL's handshake flight, tickets and response, as tshark does.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCaptureFile } from '../../src/ladder/capture.js';
import { buildLadder } from '../../src/ladder/reconstruct.js';
import { nobleProvider } from '../../src/tls/crypto/noble.js';
import { createLocalCa, issueCertificate } from '../../src/tls/x509/local-ca.js';
import { CLI, freshNetns, isRoot, netnsList, sh } from '../helpers/harness.js';

const NODE_SERVER = `
  const https = require('https'), fs = require('fs');
  https.createServer({ cert: fs.readFileSync(process.argv[1]), key: fs.readFileSync(process.argv[2]), minVersion: 'TLSv1.3' },
    (req, res) => res.end('hello over TLS from node\\n'))
    .listen(9443, '0.0.0.0', () => console.log('listening'));
  setTimeout(() => process.exit(0), 60000).unref();`;

describe.skipIf(!isRoot)('tunstack ladder on a tunstack get capture (root)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tunstack-ladder-get-'));
  const ns = freshNetns();
  let server: ChildProcess | undefined;
  afterAll(async () => {
    server?.kill('SIGKILL');
    if ((await netnsList()).includes(ns)) await sh('ip', ['netns', 'del', ns]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('draws_tunstack_as_the_side_that_opened_and_decrypts_an_openssl_server', async () => {
    const now = Date.now();
    const ca = createLocalCa({ crypto: nobleProvider, now, commonName: 'ladder test CA' });
    const leaf = issueCertificate({ ca, crypto: nobleProvider, now, commonName: '198.18.0.1', dnsNames: [], ipAddresses: ['198.18.0.1'], keyKind: 'rsa-2048' });
    writeFileSync(join(dir, 'ca.pem'), ca.certPem);
    writeFileSync(join(dir, 'cert.pem'), leaf.certPem);
    writeFileSync(join(dir, 'key.pem'), leaf.keyPem);
    expect((await sh('ip', ['netns', 'add', ns])).code).toBe(0);
    await sh('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);
    server = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', NODE_SERVER, join(dir, 'cert.pem'), join(dir, 'key.pem')], { stdio: ['ignore', 'pipe', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the node https server did not start')), 15_000);
      server!.stdout!.on('data', (d: Buffer) => {
        if (d.toString().includes('listening')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });

    const pcap = join(dir, 'get.pcapng');
    const got = await sh(process.execPath, [CLI, 'get', '--netns', ns, '--cacert', join(dir, 'ca.pem'), '--pcap', pcap, 'https://198.18.0.1:9443/hello'], 60_000);
    expect(got.code, got.stderr).toBe(0);
    expect(got.stdout).toBe('hello over TLS from node\n');

    const cap = readCaptureFile(readFileSync(pcap));
    if (!cap.ok) throw new Error(cap.error);
    const ladder = buildLadder(cap.value);
    const c = ladder.connections.find((x) => x.b.port === 9443)!;
    expect(c.a.addr).toBe('198.18.0.2');
    expect(c.b).toEqual({ addr: '198.18.0.1', port: 9443 });
    expect(c.summary.handshake).toBe('complete');
    expect(c.tls).toMatchObject({ version: 'TLS 1.3', keysFound: true, opaqueRecords: 0 });
    const story = c.segments.flatMap((s) => s.notes.map((n) => `${s.from} ${n.kind === 'http' ? n.line : n.message}`));
    const order = ['A ClientHello', 'B ServerHello', 'B EncryptedExtensions', 'B Certificate', 'B CertificateVerify', 'B Finished', 'A Finished', 'A GET /hello HTTP/1.1', 'B HTTP/1.1 200 OK'];
    let at = 0;
    for (const want of order) {
      const i = story.indexOf(want, at);
      expect(i, `${want} in ${JSON.stringify(story)}`).toBeGreaterThanOrEqual(at);
      at = i + 1;
    }
    const cv = c.segments.flatMap((s) => s.notes).find((n) => n.kind === 'tls' && n.message === 'CertificateVerify');
    expect(cv).toMatchObject({ detail: expect.stringMatching(/^rsa_pss_rsae_sha256 sig=256B$/), protection: 'decrypted' });
  });
});
