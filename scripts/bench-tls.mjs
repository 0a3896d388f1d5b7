#!/usr/bin/env node
// TLS figures for `npm run bench` (issue 4), one table, each tunstack figure beside a baseline measured in
// the same run, for both crypto providers (noble = the default, pure JS; node = node:crypto/OpenSSL):
//   1. AEAD MB/s on 16 KiB records: the provider's raw Aead.seal/open vs the record layer
//      (RecordProtection.seal/open) on the same provider — the record layer should keep ≥ 80% of raw;
//   2. in-process handshakes/s (client engine ↔ server engine, no I/O), ECDSA P-256 and RSA-2048 leaf
//      certificates, full and resumed, vs node:tls (OpenSSL) client ↔ server over an in-memory stream pair;
//   3. through the TUN, when `tunstack serve --https PORT` exists: HTTPS connections/s (openssl s_time, a new
//      connection and a GET each; full and resumed handshakes) and a 100 MiB HTTPS download (curl), tunstack
//      vs node:https on the kernel's TCP over a veth pair, same ECDSA P-256 certificate, same suite.
// Part 3 needs root; namespaces tunstack-<pid>-…, addresses in 198.18.0.0/15, removed on exit. Every loop is
// bounded in count and time (BENCH_TLS_SLICE_MS per in-process figure with a count cap, s_time -time, curl
// --max-time). Needs `npm run build:ts` first; the whole run takes about a minute.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import { cleanup, cli, root, startChild, startServe, vethPair } from './bench-lib.mjs';

if (!existsSync(join(root, 'dist/tls/client.js'))) {
  console.error('the TLS bench imports dist/tls: run `npm run build:ts` first');
  process.exit(1);
}
const dist = (p) => import(join(root, 'dist', p));
const [{ nobleProvider }, { nodeProvider }, { RecordProtection }, { ContentType, CipherSuite }, { suiteHash }] = await Promise.all([
  dist('tls/crypto/noble.js'),
  dist('tls/crypto/node.js'),
  dist('tls/record.js'),
  dist('tls/constants.js'),
  dist('tls/crypto/provider.js'),
]);
const [{ createClientConnection }, { createServerConnection }, { createLocalCa, issueCertificate }, { parseCertificate }, { verifyServerChain }] =
  await Promise.all([
    dist('tls/client.js'),
    dist('tls/server.js'),
    dist('tls/x509/local-ca.js'),
    dist('tls/x509/certificate.js'),
    dist('tls/x509/verify.js'),
  ]);

/** Milliseconds per in-process figure and side, split into ROUNDS alternating slices (baseline, tunstack, …).
 *  BENCH_TLS_SLICE_MS changes it; BENCH_TLS_PARTS (default 123) picks the parts to run. */
const SLICE = Number(process.env.BENCH_TLS_SLICE_MS ?? 600);
const ROUNDS = 12;
const RECORD = 16 * 1024;
const PROVIDERS = [nobleProvider, nodeProvider];
const SUITES = [
  ['AES-128-GCM', CipherSuite.TLS_AES_128_GCM_SHA256],
  ['AES-256-GCM', CipherSuite.TLS_AES_256_GCM_SHA384],
  ['ChaCha20-Poly1305', CipherSuite.TLS_CHACHA20_POLY1305_SHA256],
];

/**
 * One slice: ops per CPU-second of `fn` (this process's user+system time, so that other work on a shared
 * machine does not count against either side), for up to `ms` of wall time and `maxOps` calls (at least one).
 */
async function slice(fn, ms, maxOps, async) {
  const end = performance.now() + ms;
  const c0 = process.cpuUsage();
  let ops = 0;
  do {
    if (async) await fn();
    else fn();
    ops++;
  } while (performance.now() < end && ops < maxOps);
  const c = process.cpuUsage(c0);
  return ops / (Math.max(1, c.user + c.system) / 1e6);
}

/**
 * ops/s of a baseline and of tunstack, measured in alternating slices so that load from elsewhere on the
 * machine falls on both alike; each figure is the best slice. Bounded: ROUNDS × 2 slices of SLICE/ROUNDS ms.
 */
async function compare(base, ours, { ms = SLICE, maxOps = 1e5, baseAsync = false } = {}) {
  // Warm-up (JIT tiers, lazy tables): a few slices each, not counted.
  for (let r = 0; r < 1; r++) {
    await slice(base, ms / ROUNDS, maxOps / ROUNDS, baseAsync);
    await slice(ours, ms / ROUNDS, maxOps / ROUNDS, false);
  }
  let b = 0;
  let o = 0;
  for (let r = 0; r < ROUNDS; r++) {
    b = Math.max(b, await slice(base, ms / ROUNDS, maxOps / ROUNDS, baseAsync));
    o = Math.max(o, await slice(ours, ms / ROUNDS, maxOps / ROUNDS, false));
  }
  return [b, o];
}

const rows = []; // [measure, provider, baselineName, baseline, value, note]
const row = (measure, provider, baselineName, baseline, value, note = '') => rows.push([measure, provider, baselineName, baseline, value, note]);

// ───────────────────────────── 1. AEAD and the record layer ─────────────────────────────

async function aeadRows(provider) {
  const content = new Uint8Array(RECORD).fill(0xa5);
  // Warm up every cipher of this provider first, so that the JIT's tiering does not land in one side's slices.
  for (const [, suite] of SUITES) {
    const aead = provider.aead(suite, new Uint8Array(suite === CipherSuite.TLS_AES_128_GCM_SHA256 ? 16 : 32));
    const nonce = new Uint8Array(12);
    const end = performance.now() + 200;
    while (performance.now() < end) aead.open(nonce, aead.seal(nonce, content, nonce), nonce);
  }
  for (const [name, suite] of SUITES) {
    const hash = provider.hash(suiteHash(suite));
    const secret = new Uint8Array(hash.outputLen).fill(3);
    const key = new Uint8Array(suite === CipherSuite.TLS_AES_128_GCM_SHA256 ? 16 : 32).fill(1);
    const nonce = new Uint8Array(12).fill(2);
    const aad = new Uint8Array([23, 3, 3, (RECORD + 17) >> 8, (RECORD + 17) & 0xff]);
    const aead = provider.aead(suite, key);
    // Raw: what the record layer wraps — the same AEAD on the same bytes (content + type byte), header as AAD.
    const inner = new Uint8Array(RECORD + 1).fill(0xa5);
    inner[RECORD] = ContentType.application_data;
    const sealedOnce = aead.seal(nonce, inner, aad);
    // Record layer on the same provider and suite; open reads records sealed in order by a twin sender.
    const tx = new RecordProtection(provider, suite, hash, secret);
    const N = 64;
    const sender = new RecordProtection(provider, suite, hash, secret);
    const records = Array.from({ length: N }, () => sender.seal(ContentType.application_data, content));
    const frames = records.map((r) => ({ contentType: r[0], legacyVersion: 0x0303, header: r.subarray(0, 5), fragment: r.subarray(5) }));
    let rx;
    let i = N;
    const [rawSeal, recSeal] = await compare(
      () => aead.seal(nonce, inner, aad),
      () => tx.seal(ContentType.application_data, content),
    );
    const [rawOpen, recOpen] = await compare(
      () => {
        if (!aead.open(nonce, sealedOnce, aad)) throw new Error(`${provider.name} ${name}: raw open failed`);
      },
      () => {
        if (i === N) {
          rx = new RecordProtection(provider, suite, hash, secret); // key set-up once per 64 records (1 MiB)
          i = 0;
        }
        const out = rx.open(frames[i++]);
        if ('alert' in out) throw new Error(`${provider.name} ${name}: record open failed: ${out.reason}`);
      },
    );
    const mb = (opsPerSec) => (opsPerSec * RECORD) / 1e6;
    const flag = (r) => (r >= 0.8 ? '' : 'below the 0.80 target');
    row(`${name} seal 16 KiB (MB/s)`, provider.name, 'raw Aead', mb(rawSeal), mb(recSeal), flag(recSeal / rawSeal));
    row(`${name} open 16 KiB (MB/s)`, provider.name, 'raw Aead', mb(rawOpen), mb(recOpen), flag(recOpen / rawOpen));
  }
}

// ───────────────────────────── 2. in-process handshakes ─────────────────────────────

const NOW0 = Date.UTC(2026, 10, 28, 9, 0, 0);
const NAMES = ['tunstack.test', '198.18.0.2'];
const ca = createLocalCa({ crypto: nodeProvider, now: NOW0 - 86_400_000, commonName: 'tunstack bench CA' });
const leaves = Object.fromEntries(
  ['ecdsa-p256', 'rsa-2048'].map((kind) => [
    kind,
    issueCertificate({ ca, crypto: nodeProvider, now: NOW0 - 86_400_000, commonName: NAMES[0], dnsNames: [NAMES[0]], ipAddresses: [NAMES[1]], keyKind: kind }),
  ]),
);
const caInfo = parseCertificate(ca.certDer);
if (!caInfo.ok) throw new Error(`bench CA does not parse: ${caInfo.error}`);
const TICKET_KEY = new Uint8Array(32).fill(7);

function configs(provider, kind) {
  const leaf = leaves[kind];
  const server = {
    crypto: provider,
    certificates: [{ chain: [leaf.certDer], key: provider.signingKey(leaf.key), names: NAMES }],
    ticketKey: TICKET_KEY,
    alpn: ['http/1.1'],
  };
  const client = {
    crypto: provider,
    serverName: NAMES[0],
    alpn: ['http/1.1'],
    verify: (chain, now, name) => verifyServerChain({ chain, roots: [caInfo.value], now, name, crypto: provider }),
  };
  return { server, client };
}

/**
 * One handshake, client engine ↔ server engine, bytes moved in memory until both are quiet (so it includes the
 * server's NewSessionTickets, as a real server sends them); returns the client's first ticket.
 */
function engineHandshake(cfg, resume) {
  const c = createClientConnection(resume ? { ...cfg.client, resume } : cfg.client);
  const s = createServerConnection(cfg.server);
  let ticket;
  const drain = (conn) => {
    for (let ev = conn.pollEvent(); ev; ev = conn.pollEvent()) {
      if (ev.type === 'failed') throw new Error(`${conn.role} failed: ${ev.reason}`);
      if (ev.type === 'ticket') ticket ??= ev.ticket;
      if (ev.type === 'handshake' && conn === c && ev.summary.resumed !== Boolean(resume)) {
        throw new Error(`in-process handshake ${resume ? 'did not resume' : 'resumed unasked'}`);
      }
    }
  };
  c.start(NOW0);
  for (let round = 0; round < 50; round++) {
    let moved = false;
    for (const [from, to] of [[c, s], [s, c]]) {
      drain(from);
      const out = from.pollOutput();
      if (out) {
        to.handleBytes(NOW0, out);
        moved = true;
      }
      drain(to);
    }
    if (!moved) break;
  }
  if (!c.handshakeDone || !s.handshakeDone || !ticket) throw new Error('in-process handshake did not complete with a ticket');
  return ticket;
}

/** Two in-memory Duplex ends: what one writes, the other reads (no sockets). */
function duplexPair() {
  const make = () => new Duplex({ read() {}, write(chunk, _enc, cb) { this.peer.push(chunk); cb(); }, final(cb) { this.peer.push(null); cb(); } });
  const a = make();
  const b = make();
  a.peer = b;
  b.peer = a;
  return [a, b];
}

function nodeTlsContexts(kind) {
  const leaf = leaves[kind];
  return {
    server: tls.createSecureContext({ cert: leaf.certPem, key: leaf.keyPem, minVersion: 'TLSv1.3', ciphers: 'TLS_AES_128_GCM_SHA256' }),
    // Both contexts made once, as the engines' configs are (a per-connection `ca:` would re-parse the CA each time).
    client: {
      secureContext: tls.createSecureContext({ ca: ca.certPem, minVersion: 'TLSv1.3', ciphers: 'TLS_AES_128_GCM_SHA256', ecdhCurve: 'X25519' }),
      servername: NAMES[0],
      ALPNProtocols: ['http/1.1'],
    },
  };
}

/**
 * One node:tls (OpenSSL) handshake over a duplex pair: a full one is done once the client is connected and
 * holds the server's first ticket (as engineHandshake); a resumed one once the client is connected (OpenSSL
 * sends no new ticket after a resumption). Resolves with the ticket; rejects when a resumption was asked for
 * and not made, or after 5 s.
 */
function nodeTlsHandshake(ctx, session) {
  return new Promise((resolve, reject) => {
    const [a, b] = duplexPair();
    const server = new tls.TLSSocket(b, { isServer: true, secureContext: ctx.server, ALPNProtocols: ['http/1.1'] });
    const client = tls.connect({ ...ctx.client, socket: a, session });
    client.resume(); // read the tickets as they come
    let connected = false;
    let ticket;
    const timer = setTimeout(() => finish(new Error('node:tls handshake took over 5 s')), 5_000);
    const finish = (err) => {
      clearTimeout(timer);
      client.destroy();
      server.destroy();
      if (err) reject(err);
      else resolve(ticket);
    };
    client.once('secureConnect', () => {
      connected = true;
      if (session) finish(client.isSessionReused() ? undefined : new Error('node:tls did not resume'));
      else if (ticket) finish();
    });
    client.once('session', (t) => {
      ticket = t;
      if (connected && !session) finish();
    });
    for (const s of [client, server]) s.on('error', finish);
  });
}

async function handshakeRows() {
  for (const [kind, label] of [['ecdsa-p256', 'ECDSA P-256'], ['rsa-2048', 'RSA-2048']]) {
    const ctx = nodeTlsContexts(kind);
    for (const provider of PROVIDERS) {
      const cfg = configs(provider, kind);
      const [base, ours] = await compare(() => nodeTlsHandshake(ctx), () => engineHandshake(cfg), { baseAsync: true, maxOps: 20_000 });
      row(`full handshakes/s, ${label} leaf`, provider.name, 'node:tls', base, ours);
    }
  }
  // Resumption (RFC 8446 §2.2: PSK with (EC)DHE, no certificate): tickets from an ECDSA full handshake.
  const ctx = nodeTlsContexts('ecdsa-p256');
  const session = await nodeTlsHandshake(ctx);
  for (const provider of PROVIDERS) {
    const cfg = configs(provider, 'ecdsa-p256');
    const ticket = engineHandshake(cfg);
    if (!ticket) throw new Error('no ticket from the full handshake');
    const [base, ours] = await compare(() => nodeTlsHandshake(ctx, session), () => engineHandshake(cfg, ticket), { baseAsync: true, maxOps: 20_000 });
    row('resumed handshakes/s (psk_dhe_ke)', provider.name, 'node:tls', base, ours);
  }
}

// ───────────────────────────── 3. HTTPS through the TUN ─────────────────────────────

const HTTPS_BYTES = 100 * 1024 * 1024;
const S_TIME_SECONDS = 4;
const TLS13_SUITE = 'TLS_AES_128_GCM_SHA256'; // both servers' first choice; the clients offer only this

const inNs = (ns, cmd, args, timeout = 60_000) =>
  spawnSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', timeout, maxBuffer: 16 << 20 });

/** `tunstack serve --help` text (its options decide what part 3 can do). */
function serveHelp() {
  return spawnSync(process.execPath, [cli, 'serve', '--help'], { encoding: 'utf8', timeout: 10_000 }).stdout ?? '';
}

/** The kernel baseline: node:https (OpenSSL on the kernel's TCP) in namespace B of a veth pair, curl etc. in A. */
async function kernelHttps(files) {
  const [a, b] = vethPair('tls', '198.18.3');
  const app = join(root, 'dist/apps/http-handler.js');
  const code =
    `const fs = require('fs'); import('${app}').then((m) => { require('https').createServer(` +
    `{ cert: fs.readFileSync('${files.cert}'), key: fs.readFileSync('${files.key}'), minVersion: 'TLSv1.3' }, m.createHttpApp())` +
    `.listen(443, '198.18.3.2', () => console.log('ready')); })`;
  await startChild('ip', ['netns', 'exec', b, process.execPath, '-e', code], /ready/);
  return { name: 'node:https on kernel TCP', ns: a, host: '198.18.3.2:443' };
}

/**
 * HTTPS connections/s with `openssl s_time` (-new: a full handshake each; -reuse: resumed), a GET of 100 bytes
 * each. s_time prints whole "real seconds" (its loop stops on a time() tick, so it runs -time to -time+1 s):
 * the rate here divides by the wall time measured around it instead.
 */
function sTime(t, mode) {
  const t0 = performance.now();
  const r = inNs(t.ns, 'openssl', ['s_time', '-connect', t.host, `-${mode}`, '-tls1_3', '-ciphersuites', TLS13_SUITE, '-time', String(S_TIME_SECONDS), '-www', '/bytes/100'], (S_TIME_SECONDS + 20) * 1000);
  const secs = (performance.now() - t0) / 1000;
  const m = /(\d+) connections in [\d.]+s?;/.exec(r.stdout ?? '');
  if (!m || Number(m[1]) === 0) throw new Error(`openssl s_time -${mode} against ${t.name} failed: ${(r.stdout ?? '').slice(-300)}${(r.stderr ?? '').slice(-300)}`);
  if (mode === 'reuse') {
    // One character per connection after "starting": r = resumed, * = a full TLS 1.3 handshake.
    const marks = (r.stdout.split('starting')[1] ?? '').replace(/[^r*]/g, '');
    const full = marks.replace(/r/g, '').length;
    if (full > marks.length / 10) throw new Error(`openssl s_time -reuse: ${t.name} resumed only ${marks.length - full} of ${marks.length}`);
  }
  return Number(m[1]) / secs;
}

/** MB/s of one HTTPS download of HTTPS_BYTES with curl (TLS 1.3, AES-128-GCM), bounded by --max-time. */
function download(t) {
  const r = inNs(t.ns, 'curl', ['-sS', '-k', '--tlsv1.3', '--tls13-ciphers', TLS13_SUITE, '--max-time', '40', '-o', '/dev/null', '-w', '%{size_download} %{time_total}', `https://${t.host}/bytes/${HTTPS_BYTES}`], 60_000);
  const [bytes, secs] = (r.stdout ?? '').trim().split(' ').map(Number);
  if (bytes !== HTTPS_BYTES || !secs) throw new Error(`curl https download from ${t.name} failed (${bytes} bytes): ${r.stderr}`);
  return bytes / secs / 1e6;
}

/** `serve`'s option naming the crypto provider (--tls-provider noble|node), if it has one. */
const providerFlag = (help) => /--tls-provider\b/.exec(help)?.[0];
/** The providers `serve` can be told to use; without the option, only its default (noble). */
const providersOfServe = (help) => (providerFlag(help) ? ['noble', 'node'] : ['noble']);
const serveCryptoArgs = (help, provider) => (providerFlag(help) ? [providerFlag(help), provider] : []);
/** The bench certificate for `serve` (--cert FILE --key FILE), and a state directory in the bench's temp dir, never ~/.tunstack. */
const serveCertArgs = (help, files) => [
  ...(/--cert\b/.test(help) && /--key\b/.test(help) ? ['--cert', files.cert, '--key', files.key] : []),
  ...(/--state\b/.test(help) ? ['--state', files.state] : []),
];

/**
 * `tunstack serve --https 443` (HTTP off) with the bench certificate, once per crypto provider the CLI can
 * select; each in its own namespace tunstack-<pid>-tls<provider>, removed on exit.
 */
async function startTunstackHttps(help, files) {
  const targets = [];
  for (const provider of providersOfServe(help)) {
    try {
      const { ns } = await startServe(`tls${provider}`, ['--http', '0', '--https', '443', ...serveCertArgs(help, files), ...serveCryptoArgs(help, provider)]);
      targets.push({ name: `tunstack serve --https (${provider})`, provider, ns, host: '198.18.0.2:443' });
    } catch (e) {
      notes.push(`tunstack serve --https with the ${provider} provider did not start: ${e.message}`);
    }
  }
  return targets;
}

/** Part 3 rows, one per measure and tunstack target, each beside the kernel baseline measured just before it. */
async function httpsRows(help) {
  const tmp = mkdtempSync(join(tmpdir(), 'tunstack-bench-tls-'));
  process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
  // One ECDSA P-256 certificate for both servers, valid for both addresses.
  const leaf = issueCertificate({ ca, crypto: nodeProvider, now: Date.now() - 86_400_000, commonName: NAMES[0], dnsNames: [NAMES[0]], ipAddresses: ['198.18.0.2', '198.18.3.2'], keyKind: 'ecdsa-p256' });
  const files = { cert: join(tmp, 'cert.pem'), key: join(tmp, 'key.pem'), ca: join(tmp, 'ca.pem'), state: join(tmp, 'state') };
  writeFileSync(files.cert, leaf.certPem);
  writeFileSync(files.key, leaf.keyPem, { mode: 0o600 });
  writeFileSync(files.ca, ca.certPem);
  const kernel = await kernelHttps(files);
  const targets = await startTunstackHttps(help, files);
  for (const [what, fn] of [
    ['HTTPS conn/s, full handshake each', (t) => sTime(t, 'new')],
    ['HTTPS conn/s, resumed each', (t) => sTime(t, 'reuse')],
    [`HTTPS download ${HTTPS_BYTES >> 20} MiB (MB/s)`, download],
  ]) {
    for (const t of targets) {
      const k = attempt(() => fn(kernel));
      const o = attempt(() => fn(t));
      row(what, t.provider, 'node:https, kernel', k.value, o.value, [k.error && `baseline: ${k.error}`, o.error && `tunstack: ${o.error}`].filter(Boolean).join('; '));
    }
  }
}

/** A measurement that may fail without losing the rest of the table. */
function attempt(fn) {
  try {
    return { value: fn() };
  } catch (e) {
    return { value: NaN, error: String(e.message ?? e).split('\n')[0].slice(0, 160) };
  }
}

// ───────────────────────────── the table ─────────────────────────────

const t0 = performance.now();
const notes = [];
const parts = process.env.BENCH_TLS_PARTS ?? '123'; // e.g. BENCH_TLS_PARTS=12: only the in-process parts
if (parts.includes('1')) for (const p of PROVIDERS) await aeadRows(p);
if (parts.includes('2')) await handshakeRows();
const help = serveHelp();
if (!parts.includes('3')) notes.push('HTTPS through the TUN not run (BENCH_TLS_PARTS)');
else if (!/--https\b/.test(help)) notes.push('HTTPS through the TUN skipped: this build of `tunstack serve` has no --https');
else if (process.getuid?.() !== 0) notes.push('HTTPS through the TUN skipped: it creates namespaces and TUN devices, which needs root');
else await httpsRows(help).catch((e) => notes.push(`HTTPS through the TUN failed: ${e.message}`));

const f = (v) => (Number.isNaN(v) ? 'failed' : v < 100 ? v.toFixed(1) : Math.round(v).toLocaleString('en-US'));
const ratio = (v, b) => (Number.isNaN(v / b) ? '—' : (v / b).toFixed(2));
console.log('TLS 1.3, one run. provider: which CryptoProvider tunstack ran — noble (the default, pure JS: @noble/ciphers,');
console.log('@noble/curves) or node (src/tls/crypto/node.ts: node:crypto, i.e. OpenSSL). In-process figures are per CPU-second');
console.log('(best of alternating baseline/tunstack slices). Baselines: "raw Aead" = the same provider\'s Aead.seal/open on the');
console.log('same 16 KiB + 1 bytes (tunstack = RecordProtection.seal/open; target ≥ 0.80); "node:tls" = node:tls client ↔ server');
console.log('in one process over an in-memory stream (tunstack = client engine ↔ server engine, no I/O; x25519, AES-128-GCM);');
console.log('"node:https" = node:https on the kernel\'s TCP over a veth pair (tunstack = serve --https over the TUN), same ECDSA');
console.log('P-256 certificate, clients openssl s_time and curl offering only TLS_AES_128_GCM_SHA256; these rows are wall-clock rates.');
console.log(`  ${'measure'.padEnd(40)} ${'provider'.padEnd(8)} ${'baseline'.padEnd(18)} ${'baseline'.padStart(9)} ${'tunstack'.padStart(9)} ${'ratio'.padStart(6)}`);
for (const [what, prov, bname, b, v, note] of rows) {
  console.log(`  ${what.padEnd(40)} ${prov.padEnd(8)} ${bname.padEnd(18)} ${f(b).padStart(9)} ${f(v).padStart(9)} ${ratio(v, b).padStart(6)}${note ? `  ${note}` : ''}`);
}
for (const n of notes) console.log(`  (${n})`);
console.log(`  (TLS bench took ${((performance.now() - t0) / 1000).toFixed(0)} s)`);
cleanup();
process.exit(0);
