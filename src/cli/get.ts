// `tunstack get URL`: an HTTP client on tunstack's TCP (active open) — fetches from a server on the
// kernel side of the TUN, writes the body to a file or stdout, and closes first (FIN-WAIT-1 →
// FIN-WAIT-2 → TIME-WAIT → CLOSED), lingering through TIME-WAIT so the trace shows the whole close.

import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { parseArgs } from 'node:util';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseIpv4Addr } from '../wire/addr.js';
import { asUsage, intFlag, STACK_FLAGS, stackOptions } from './args.js';
import { UsageError } from './errors.js';
import { cryptoProvider, loadTicket, parseGroups, parseSuites, saveTicket } from './https.js';
import { RunningStack } from './running-stack.js';
import { CAPTURE_FLAGS, captureOptions } from './capture-options.js';
import type { TlsSocket } from '../socket/tls-socket.js';
import { CipherSuite, NamedGroup, nameOf } from '../tls/constants.js';
import type { ResumptionTicket } from '../tls/engine-api.js';
import { loadRoots } from '../tls/x509/verify.js';

export const GET_HELP = `Usage: tunstack get URL [-o FILE] [options]

Fetches URL (http://ADDR[:PORT]/PATH or https://ADDR[:PORT]/PATH, ADDR on the kernel side of the TUN)
with node:http running on tunstack's TCP — and for https, tunstack's own TLS 1.3 — as the client, and
writes the body to FILE or stdout. The server's certificate is verified against --cacert FILE or the
system's roots (/etc/ssl/certs/ca-certificates.crt) and must name ADDR (or --servername); a failure
ends the command with the reason and the alert sent, e.g. "certificate verify failed: certificate is
for other.test, not 198.18.0.1 (sent alert bad_certificate)". tunstack closes the connection
first and stays through TIME-WAIT, so --trace shows SYN-SENT → ESTABLISHED → FIN-WAIT-1 →
FIN-WAIT-2 → TIME-WAIT → CLOSED. A summary (status, bytes, time) goes to stderr.

Options:
  -o, --output FILE  write the body to FILE (default: stdout)
  --cacert FILE      trust the CA certificates in FILE (PEM) instead of the system's
  --insecure         do not verify the server's certificate at all (prints a warning)
  --servername NAME  send NAME as SNI and verify the certificate for NAME (default: the URL's host;
                     no SNI for an IP address)
  --resume FILE      offer the session ticket saved in FILE (if any) and save the newest one there
  --tls-provider P   noble (pure JS, default) or node (node:crypto/OpenSSL)
  --ciphers LIST     TLS 1.3 suites to offer, preferred first (e.g. TLS_AES_256_GCM_SHA384)
  --groups LIST      groups to offer, preferred first; the key share is for the first (e.g. P-384,X25519)
  --netns NAME       use (or create) network namespace NAME for the TUN's kernel side
  --addr ADDR        tunstack's own address                      (default 198.18.0.2)
  --peer CIDR        the kernel side's address on the TUN device  (default 198.18.0.1/24)
  --tun NAME         TUN device name                             (default: kernel-chosen)
  --mtu N            device MTU                                  (default 1500)
  --pcap FILE        capture every packet to FILE (pcapng, TLS secrets inside); - streams it to stdout
                     (then give -o FILE for the body); a named pipe works too
  --pcap-rotate SIZE new capture file every SIZE bytes (10M, 500K): FILE, FILE-1.pcapng, FILE-2.pcapng …
  --pcap-port N      capture only TCP/UDP packets with port N (and ICMP errors about them); repeatable
  --no-offload       open a plain TUN (default: IFF_VNET_HDR with TSO/GRO offloads)
  --msl MS           maximum segment lifetime; TIME-WAIT lasts 2*MSL (default 250: this process owns
                     its address and gives it up on exit, so no old duplicate can meet a new connection)
  --trace            print TCP state changes, TLS handshake messages and every packet on stderr
  --trace-states     print only the TCP state changes and TLS handshake messages
  -h, --help         show this help`;

export async function get(argv: string[]): Promise<number> {
  const { values, positionals } = asUsage(() =>
    parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: {
        ...STACK_FLAGS,
        ...CAPTURE_FLAGS,
        output: { type: 'string', short: 'o' },
        msl: { type: 'string' },
        cacert: { type: 'string' },
        insecure: { type: 'boolean', default: false },
        servername: { type: 'string' },
        resume: { type: 'string' },
        'tls-provider': { type: 'string' },
        ciphers: { type: 'string' },
        groups: { type: 'string' },
      },
    }),
  );
  if (values.help) {
    process.stdout.write(GET_HELP + '\n');
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('tunstack get wants exactly one URL (see --help)');
  let url: URL;
  try {
    url = new URL(positionals[0]!);
  } catch {
    throw new UsageError(`not a URL: ${positionals[0]}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`only http:// and https:// URLs, not ${url.protocol}`);
  const https = url.protocol === 'https:';
  if (parseIpv4Addr(url.hostname) === undefined) throw new UsageError(`the URL's host must be an IPv4 address on the kernel side, not ${url.hostname}`);
  const stackOpts = stackOptions(values);
  const capture = captureOptions(values, 'tunstack get');
  if (values.pcap === '-' && values.output === undefined) {
    throw new UsageError('--pcap - makes stdout the capture: write the body elsewhere with -o FILE');
  }
  const msl = intFlag('msl', values.msl, 250, 1, 120_000);
  const port = url.port ? Number(url.port) : https ? 443 : 80;
  const tlsOptions = https ? tlsClientOptions(values) : undefined;

  const running = await RunningStack.start({ ...stackOpts, ...capture, tcp: { mslMs: msl } });
  try {
    const started = performance.now();
    let tls: TlsSocket | undefined;
    let ticket: ResumptionTicket | undefined;
    if (tlsOptions) {
      const session = values.resume !== undefined ? loadTicket(values.resume, performance.now()) : undefined;
      tls = running.connectTls({ host: url.hostname, port, handshakeTimeoutMs: 30_000, ...tlsOptions, ...(session ? { session } : {}) });
      tls.on('session', (t: ResumptionTicket) => (ticket = t));
      tls.once('secureConnect', () => process.stderr.write(`tunstack get: ${describeTls(tls!, url.hostname, tlsOptions)}\n`));
    }
    const socket = tls ?? running.stack.connect({ host: url.hostname, port });
    const res = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
      const req = request(
        {
          host: url.hostname,
          port,
          path: url.pathname + url.search,
          headers: { Host: url.host, Connection: 'keep-alive', 'User-Agent': 'tunstack' },
          createConnection: () => socket,
        },
        resolve,
      );
      req.on('error', reject);
      req.end();
    });
    let bytes = 0;
    res.on('data', (d: Buffer) => (bytes += d.length));
    const sink = values.output ? createWriteStream(values.output) : stdoutSink();
    await pipeline(res, sink);
    const secs = (performance.now() - started) / 1000;
    process.stderr.write(
      `tunstack get: ${res.statusCode} ${res.statusMessage}, ${bytes} bytes in ${secs.toFixed(3)} s ` +
        `(${((bytes * 8) / secs / 1e6).toFixed(1)} Mbit/s)${values.output ? ` → ${values.output}` : ''}\n`,
    );
    if (values.resume !== undefined && ticket) saveTicket(values.resume, ticket, performance.now());
    // We close first (close_notify, then) FIN-WAIT-1 → FIN-WAIT-2 → TIME-WAIT, then wait out TIME-WAIT (bounded).
    socket.end();
    await waitFor(() => running.stack.tcp.size === 0, 4 * msl + 5000);
    return res.statusCode !== undefined && res.statusCode < 400 ? 0 : 1;
  } finally {
    await running.close();
  }
}

function stdoutSink(): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      process.stdout.write(chunk, (err) => cb(err ?? null));
    },
  });
}

function waitFor(pred: () => boolean, maxMs: number): Promise<void> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const tick = () => {
      if (pred() || performance.now() - t0 > maxMs) resolve();
      else setTimeout(tick, 20);
    };
    tick();
  });
}

interface TlsFlagValues {
  cacert?: string;
  insecure?: boolean;
  servername?: string;
  'tls-provider'?: string;
  ciphers?: string;
  groups?: string;
}

/** The TLS client options the flags ask for; trust comes from --cacert, the system, or (loudly) nowhere. */
function tlsClientOptions(values: TlsFlagValues) {
  const crypto = cryptoProvider(values['tls-provider']);
  const cipherSuites = parseSuites(values.ciphers);
  const groups = parseGroups(values.groups);
  let ca: ReturnType<typeof loadRoots> | undefined;
  if (values.insecure) {
    process.stderr.write(
      'tunstack get: WARNING: --insecure: the server certificate is NOT verified — anyone on the path can read and change this connection\n',
    );
  } else if (values.cacert !== undefined) {
    if (!existsSync(values.cacert)) throw new UsageError(`--cacert: no such file: ${values.cacert}`);
    ca = loadRoots(readFileSync(values.cacert, 'utf8'));
    if (ca.length === 0) throw new UsageError(`--cacert ${values.cacert} holds no readable PEM certificate`);
  }
  return {
    crypto,
    insecure: Boolean(values.insecure),
    ...(ca ? { ca } : {}),
    ...(values.servername !== undefined ? { servername: values.servername } : {}),
    ...(cipherSuites ? { cipherSuites } : {}),
    ...(groups ? { groups } : {}),
  };
}

/** "TLSv1.3 TLS_AES_128_GCM_SHA256 x25519, certificate verified for 198.18.0.1, resumed" */
function describeTls(tls: TlsSocket, host: string, opts: { insecure: boolean; servername?: string }): string {
  const s = tls.summary!;
  return [
    `TLSv1.3 ${nameOf(CipherSuite, s.suite)}${s.group !== undefined ? ` ${nameOf(NamedGroup, s.group)}` : ''}`,
    s.helloRetry ? 'after HelloRetryRequest' : undefined,
    s.resumed ? 'resumed' : opts.insecure ? 'certificate NOT verified (--insecure)' : `certificate verified for ${opts.servername ?? host}`,
    s.alpn ? `alpn ${s.alpn}` : undefined,
  ]
    .filter((x) => x !== undefined)
    .join(', ');
}
