// `tunstack get URL`: an HTTP client on tunstack's TCP (active open) — fetches from a server on the
// kernel side of the TUN, writes the body to a file or stdout, and closes first (FIN-WAIT-1 →
// FIN-WAIT-2 → TIME-WAIT → CLOSED), lingering through TIME-WAIT so the trace shows the whole close.

import { createWriteStream } from 'node:fs';
import { request } from 'node:http';
import { parseArgs } from 'node:util';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseIpv4Addr } from '../wire/addr.js';
import { asUsage, intFlag, STACK_FLAGS, stackOptions } from './args.js';
import { UsageError } from './errors.js';
import { RunningStack } from './running-stack.js';

export const GET_HELP = `Usage: tunstack get URL [-o FILE] [options]

Fetches URL (http://ADDR[:PORT]/PATH, ADDR on the kernel side of the TUN) with node:http running on
tunstack's TCP as the client, and writes the body to FILE or stdout. tunstack closes the connection
first and stays through TIME-WAIT, so --trace shows SYN-SENT → ESTABLISHED → FIN-WAIT-1 →
FIN-WAIT-2 → TIME-WAIT → CLOSED. A summary (status, bytes, time) goes to stderr.

Options:
  -o, --output FILE  write the body to FILE (default: stdout)
  --netns NAME       use (or create) network namespace NAME for the TUN's kernel side
  --addr ADDR        tunstack's own address                      (default 198.18.0.2)
  --peer CIDR        the kernel side's address on the TUN device  (default 198.18.0.1/24)
  --tun NAME         TUN device name                             (default: kernel-chosen)
  --mtu N            device MTU                                  (default 1500)
  --pcap FILE        capture every packet to FILE (pcapng)
  --no-offload       open a plain TUN (default: IFF_VNET_HDR with TSO/GRO offloads)
  --msl MS           maximum segment lifetime; TIME-WAIT lasts 2*MSL (default 250: this process owns
                     its address and gives it up on exit, so no old duplicate can meet a new connection)
  --trace            print TCP state changes and every packet on stderr
  --trace-states     print only the TCP state changes
  -h, --help         show this help`;

export async function get(argv: string[]): Promise<number> {
  const { values, positionals } = asUsage(() =>
    parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: {
        ...STACK_FLAGS,
        output: { type: 'string', short: 'o' },
        msl: { type: 'string' },
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
  if (url.protocol !== 'http:') throw new UsageError(`only http:// URLs for now, not ${url.protocol}`);
  if (parseIpv4Addr(url.hostname) === undefined) throw new UsageError(`the URL's host must be an IPv4 address on the kernel side, not ${url.hostname}`);
  const stackOpts = stackOptions(values);
  const msl = intFlag('msl', values.msl, 250, 1, 120_000);
  const port = url.port ? Number(url.port) : 80;

  const running = await RunningStack.start({ ...stackOpts, tcp: { mslMs: msl } });
  try {
    const socket = running.stack.connect({ host: url.hostname, port });
    const started = performance.now();
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
    // We close first: FIN-WAIT-1 → FIN-WAIT-2 → TIME-WAIT, then wait out TIME-WAIT (bounded).
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
