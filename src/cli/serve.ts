// `tunstack serve`: own an address on a TUN device and answer for it until told to stop.

import { formatCounters } from './format-counters.js';
import { parseArgs } from 'node:util';
import { parseImpairment } from '../link/fault-link.js';
import { asUsage, intFlag, STACK_FLAGS, stackOptions } from './args.js';
import { RunningStack } from './running-stack.js';
import { describeError, UsageError } from './errors.js';
import { cryptoProvider, defaultStateDir, httpsServerConfig, parseGroups, parseSuites } from './https.js';
import { installHardStop, removeHardStop } from './signals.js';
import { CAPTURE_FLAGS, CAPTURE_HELP, captureOptions } from './capture-options.js';

export const SERVE_HELP = `Usage: tunstack serve [options]

Owns an IPv4 address on a TUN device and serves HTTP on it with node:http running on tunstack's
own TCP: / (a built-in page or --root DIR), /echo (returns the request), /bytes/N (N deterministic
bytes), POST /sink (answers with the body's sha256 and length) — over plain HTTP on port 80 and over
HTTPS (tunstack's own TLS 1.3) on port 443. Answers ping, refuses other TCP ports with a RST, answers
UDP with ICMP port unreachable. Prints "ready <addr>" on stdout once it answers (on stderr when
--pcap - makes stdout the capture).

The HTTPS certificate comes from a local CA kept in --state DIR (created on first run); trust it with
  curl --cacert ~/.tunstack/ca.pem https://198.18.0.2/

Options:
  --netns NAME     put the TUN device (and the kernel-side address) in network namespace NAME,
                   creating it if missing; everything created is removed on exit
  --addr ADDR      tunstack's own address                      (default 198.18.0.2)
  --peer CIDR      the kernel side's address on the TUN device  (default 198.18.0.1/24)
  --tun NAME       TUN device name                             (default: kernel-chosen tunN)
  --mtu N          device MTU, 576..65535                      (default 1500)
${CAPTURE_HELP}
  --http PORT      HTTP port                                    (default 80; 0 turns HTTP off)
  --root DIR       serve the files in DIR at /                  (default: a built-in page)
  --https PORT     HTTPS port                                   (default 443; 0 turns HTTPS off)
  --no-https       no HTTPS
  --state DIR      where the local CA and the server certificate live (default $TUNSTACK_STATE or ~/.tunstack)
  --cert FILE      serve this certificate chain (PEM) instead, with --key FILE; repeat the pair for
  --key FILE       more names: the client's SNI picks the certificate (the first is the default)
  --tls-provider P noble (pure JS, default) or node (node:crypto/OpenSSL) for TLS cryptography
  --ciphers LIST   TLS 1.3 suites in preference order, e.g. TLS_CHACHA20_POLY1305_SHA256,TLS_AES_128_GCM_SHA256
  --groups LIST    key exchange groups in preference order, e.g. X25519,P-256,P-384 (a client whose key
                   share is for another group gets a HelloRetryRequest)
  --no-offload     open a plain TUN: by default it has IFF_VNET_HDR and TUNSETOFFLOAD (CSUM, TSO4), so
                   the kernel hands over GRO-coalesced segments of up to 64 KB and cuts tunstack's
                   64 KB super-segments (falls back to a plain TUN when the kernel refuses)
  --impair SPEC    impair the packets the kernel sends to tunstack, as netem on the kernel side's
                   device would: loss=2%,delay=5ms,reorder=10% (that share skips the delay),duplicate=1%;
                   seeded, so runs repeat (for kernels without sch_netem). Impairment is per TCP
                   segment, offloads or not: a 64 KB super-segment that draws a loss, duplicate or
                   reorder is cut into its MSS-sized segments first
  --impair-out SPEC  the same for the packets tunstack sends
  --trace          print every TCP state change, every TLS handshake message (suites, groups,
                   HelloRetryRequest, resumption, KeyUpdate, alerts) and one line per packet on stderr
  --trace-states   print only the TCP state changes and the TLS messages

TLS secrets go to $SSLKEYLOGFILE when it is set, and into the --pcap capture as Decryption Secrets
Blocks, so wireshark/tshark decrypt the HTTPS traffic from the capture file alone.
  -h, --help       show this help

Signals: SIGINT/SIGTERM stop and clean up; SIGUSR1 prints the counters as a "stats {json}" line and the
live connections (state, queues, RTT, retransmissions) as a "connections [json]" line on stdout
(stderr with --pcap -).
Needs CAP_NET_ADMIN (run with sudo).`;

export async function serve(argv: string[]): Promise<number> {
  const { values } = asUsage(() =>
    parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        ...STACK_FLAGS,
        ...CAPTURE_FLAGS,
        http: { type: 'string' },
        impair: { type: 'string' },
        'impair-out': { type: 'string' },
        root: { type: 'string' },
        https: { type: 'string' },
        'no-https': { type: 'boolean', default: false },
        state: { type: 'string' },
        cert: { type: 'string', multiple: true },
        key: { type: 'string', multiple: true },
        'tls-provider': { type: 'string' },
        ciphers: { type: 'string' },
        groups: { type: 'string' },
      },
    }),
  );
  if (values.help) {
    process.stdout.write(SERVE_HELP + '\n');
    return 0;
  }
  const stackOpts = stackOptions(values);
  const capture = captureOptions(values, 'tunstack');
  const { addr, peer, mtu } = stackOpts;
  // With --pcap - stdout carries the capture: every line for people (ready, stats) goes to stderr.
  const out = values.pcap === '-' ? process.stderr : process.stdout;
  const httpPort = intFlag('http', values.http, 80, 0, 65535);
  const impair = values.impair !== undefined ? asUsage(() => parseImpairment(values.impair!)) : undefined;
  const impairOut = values['impair-out'] !== undefined ? asUsage(() => parseImpairment(values['impair-out']!)) : undefined;
  const httpsPort = values['no-https'] ? 0 : intFlag('https', values.https, 443, 0, 65535);
  if (httpsPort > 0 && httpsPort === httpPort) throw new UsageError(`--http and --https are both ${httpPort}`);
  const stateDir = values.state ?? defaultStateDir();
  const tls =
    httpsPort > 0
      ? httpsServerConfig({
          address: addr,
          stateDir,
          certs: values.cert ?? [],
          keys: values.key ?? [],
          crypto: cryptoProvider(values['tls-provider']),
          cipherSuites: parseSuites(values.ciphers),
          groups: parseGroups(values.groups),
        })
      : undefined;
  const running = await RunningStack.start({
    // Impairment keeps the offloads: FaultLink impairs per TCP segment, cutting a super-segment
    // into its segments when they meet different fates (what netem on the device would see).
    ...stackOpts,
    ...capture,
    ...(impair ? { impair } : {}),
    ...(impairOut ? { impairOut } : {}),
    ...(httpPort > 0 ? { httpPort } : {}),
    ...(values.root !== undefined ? { httpRoot: values.root } : {}),
    ...(tls ? { https: { port: httpsPort, config: tls.config } } : {}),
  });
  const where = values.netns ? ` in namespace ${values.netns}` : '';
  process.stderr.write(
    `tunstack: ${addr} on ${running.tun.name}${where}, kernel side ${peer}, mtu ${mtu}` +
      (httpPort > 0 ? `, http on port ${httpPort}` : '') +
      (tls ? `, https on port ${httpsPort} (${tls.config.crypto.name} crypto)` : '') +
      (running.tun.offload ? ', offloads on' : running.tun.offloadUnavailable ? `, offloads unavailable (${running.tun.offloadUnavailable})` : '') +
      (values.pcap ? `, capture ${values.pcap}` : '') +
      '\n',
  );
  if (tls?.identity) {
    const url = `https://${addr}${httpsPort === 443 ? '' : `:${httpsPort}`}/`;
    if (tls.identity.created) process.stderr.write(`tunstack: created a local CA and a certificate for ${addr} in ${stateDir}\n`);
    process.stderr.write(`tunstack: trust it: curl --cacert ${tls.identity.caPath} ${url}\n`);
  }
  out.write(`ready ${addr}\n`);

  return await new Promise<number>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      process.off('SIGUSR1', stats);
      installHardStop(); // a second signal exits at once, still running the synchronous cleanups
      process.stderr.write(`tunstack: ${signal}, stopping\n${formatCounters(running.stack.counters())}\n`);
      running.close().then(
        () => resolve(0),
        (e: unknown) => {
          process.stderr.write(`tunstack: cleanup failed: ${describeError(e)}\n`);
          resolve(1);
        },
      );
    };
    const stats = () =>
      out.write(
        `stats ${JSON.stringify(running.stack.counters())}\nconnections ${JSON.stringify(running.stack.connectionTable())}\n`,
      );
    removeHardStop();
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    process.on('SIGUSR1', stats);
  });
}
