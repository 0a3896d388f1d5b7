// `tunstack demo` (what `sudo npm start` runs): a private namespace and TUN device, tunstack on it,
// the kernel pinging it and being refused on a closed TCP port, every packet traced and captured.

import { execFile } from 'node:child_process';
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
on 198.18.0.2, and drives the kernel against it: ping, a TCP connection to a closed port (refused by
tunstack's RST) and a UDP datagram (answered with ICMP port unreachable). Prints every packet as it
passes, writes captures/demo-<time>.pcapng, and removes everything it created. Needs root.`;

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
  const running = await RunningStack.start({ addr: '198.18.0.2', peer: '198.18.0.1/24', mtu: 1500, netns: ns, pcap, trace });
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

// Runs inside the namespace: a connected UDP socket learns of the ICMP error as ECONNREFUSED.
const UDP_PROBE = `
const s = require('node:dgram').createSocket('udp4');
let done = false;
const finish = (m) => { if (done) return; done = true; console.log(m); s.close(); };
const t = setTimeout(() => finish('no answer within 2 s'), 2000);
s.on('error', (e) => { clearTimeout(t); finish('send to 198.18.0.2:9 -> ' + e.code + ' (ICMP port unreachable)'); });
s.connect(9, '198.18.0.2', () => { s.send('hello'); setTimeout(() => { if (!done) s.send('again'); }, 100); });
`;
