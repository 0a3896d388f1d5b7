// `tunstack demo` (what `sudo npm start` runs): a private namespace and TUN device, tunstack on it
// serving HTTP with node:http on its own TCP; the kernel pings it, curl fetches two pages on one
// keep-alive connection, tunstack fetches from a server on the kernel side, a closed port refuses —
// every packet and TCP state change traced, everything captured.

import { execFile, spawn } from 'node:child_process';
import { request } from 'node:http';
import { relative } from 'node:path';
import { promisify } from 'node:util';
import { netnsName } from '../link/netns.js';
import { formatCounters } from './format-counters.js';
import { isRoot } from './errors.js';
import { capturePath } from './paths.js';
import { RunningStack } from './running-stack.js';

const run = promisify(execFile);

export const DEMO_HELP = `Usage: tunstack demo

Creates network namespace tunstack-<pid> with a TUN device (kernel side 198.18.0.1/24), runs tunstack
on 198.18.0.2 with HTTP on port 80, and drives it: ping (and a fragmented one), curl fetching two
URLs over one keep-alive connection, tunstack fetching from a server on the kernel side (active open),
a TCP connection to a closed port (refused by tunstack's RST) and a UDP datagram (ICMP port
unreachable). Prints every packet and TCP state change as it happens, writes
captures/demo-<time>.pcapng, and removes everything it created. Needs root.`;

export async function demo(argv: string[]): Promise<number> {
  if (argv.includes('-h') || argv.includes('--help')) {
    process.stdout.write(DEMO_HELP + '\n');
    return 0;
  }
  if (!isRoot()) {
    process.stderr.write(
      'tunstack demo creates a network namespace and a TUN device, which needs root: run `sudo npm start`\n',
    );
    return 1;
  }
  const ns = netnsName();
  const pcap = capturePath('demo');
  const t0 = performance.now();
  const say = (line: string) => process.stdout.write(line + '\n');
  const trace = (line: string) => say(`  ${((performance.now() - t0) / 1000).toFixed(4)}s  ${line}`);

  say(`== namespace ${ns}: kernel side 198.18.0.1/24 on a TUN device, tunstack on 198.18.0.2`);
  const running = await RunningStack.start({ addr: '198.18.0.2', peer: '198.18.0.1/24', mtu: 1500, netns: ns, pcap, trace, httpPort: 80 });
  let failed = false;
  try {
    const inNs = (cmd: string, args: string[]) =>
      run('ip', ['netns', 'exec', ns, cmd, ...args], { timeout: 10_000 }).then(
        (r) => ({ code: 0, out: r.stdout + r.stderr }),
        (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? 1, out: (e.stdout ?? '') + (e.stderr ?? '') }),
      );

    say('\n== the kernel pings tunstack: ping -c 3 -i 0.2 198.18.0.2');
    const ping = await inNs('ping', ['-c', '3', '-i', '0.2', '-W', '1', '198.18.0.2']);
    say(indent(ping.out.split('\n').filter((l) => /transmitted|rtt/.test(l)).join('\n')));
    if (ping.code !== 0) failed = true;

    say('\n== a 3000-byte ping arrives in fragments: tunstack reassembles it and fragments its reply (RFC 791 §3.2)');
    const big = await inNs('ping', ['-c', '1', '-W', '1', '-s', '3000', '198.18.0.2']);
    say(indent(big.out.split('\n').filter((l) => /bytes from|transmitted/.test(l)).join('\n')));
    if (big.code !== 0) failed = true;

    say('\n== curl fetches two URLs over one keep-alive connection: node:http on tunstack TCP');
    const ka = await inNs('curl', ['-sSv', '--max-time', '5', '-o', '/dev/null', '-o', '/dev/null', 'http://198.18.0.2/echo', 'http://198.18.0.2/bytes/3000']);
    say(indent(ka.out.split('\n').filter((l) => /^< HTTP|Re-using|Connected to|left intact/.test(l)).join('\n') + `\n(curl exit ${ka.code})`));
    if (ka.code !== 0) failed = true;

    say('\n== tunstack as the client: an active open to a node:http server on the kernel side (198.18.0.1:8080)');
    const kernelServer = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', KERNEL_SERVER], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      await new Promise<void>((resolve, reject) => {
        kernelServer.stdout!.once('data', () => resolve());
        kernelServer.once('exit', () => reject(new Error('the kernel-side server did not start')));
      });
      const body = await fetchThrough(running, 'http://198.18.0.1:8080/');
      say(indent(`GET http://198.18.0.1:8080/ → ${body.status}, ${JSON.stringify(body.text.trim())}`));
      if (body.status !== 200) failed = true;
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      kernelServer.kill();
    }

    say('\n== curl to a port nobody listens on: tunstack answers the SYN with RST,ACK (RFC 9293 §3.10.7.1)');
    const curl = await inNs('curl', ['-sSv', '--max-time', '3', 'http://198.18.0.2:9/']);
    say(indent(curl.out.split('\n').filter((l) => /Trying|refused|curl:/.test(l)).join('\n') + `\n(curl exit ${curl.code})`));
    if (curl.code !== 7) failed = true;

    say('\n== UDP to a closed port: ICMP port unreachable (RFC 1122 §4.1.3.1)');
    const udp = await inNs(process.execPath, ['-e', UDP_PROBE]);
    say(indent(udp.out.trim()));
  } finally {
    say(`\n== counters\n${formatCounters(running.stack.counters())}`);
    await running.close();
  }
  say(`\n== capture: ${relative(process.cwd(), pcap) || pcap}`);
  say(`   wireshark ${pcap}`);
  say(`   tshark -r ${pcap}`);
  say(`== removed namespace ${ns} and its TUN device`);
  return failed ? 1 : 0;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => '   ' + l)
    .join('\n');
}

// A tiny node:http server on the kernel side of the TUN, inside the namespace.
const KERNEL_SERVER = `
require('http').createServer((req, res) => res.end('hello from the kernel side, ' + req.socket.remoteAddress + '\\n'))
  .listen(8080, '0.0.0.0', () => console.log('ready'));
setTimeout(() => process.exit(0), 20000).unref();
`;

/** GET through tunstack's own TCP (active open), closing first. */
function fetchThrough(running: RunningStack, url: string): Promise<{ status: number; text: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = running.stack.connect({ host: u.hostname, port: Number(u.port) });
    const req = request({ host: u.hostname, port: Number(u.port), path: u.pathname, createConnection: () => socket }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => {
        socket.end();
        resolve({ status: res.statusCode ?? 0, text });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

// Runs inside the namespace: a connected UDP socket learns of the ICMP error as ECONNREFUSED.
const UDP_PROBE = `
const s = require('node:dgram').createSocket('udp4');
let done = false;
const finish = (m) => { if (done) return; done = true; console.log(m); s.close(); };
const t = setTimeout(() => finish('no answer within 2 s'), 2000);
s.on('error', (e) => { clearTimeout(t); finish('send to 198.18.0.2:9 -> ' + e.code + ' (ICMP port unreachable)'); });
s.connect(9, '198.18.0.2', () => { s.send('hello'); setTimeout(() => { if (!done) s.send('again'); }, 100); });
`;
