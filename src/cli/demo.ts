// `tunstack demo` (what `sudo npm start` runs): a private namespace and TUN device, tunstack on it serving
// HTTP and HTTPS (its own TCP and TLS 1.3), driven by curl from the kernel side and by tunstack's own
// client; prints the whole conversation as a timeline (demo-steps.ts, timeline.ts), writes a capture
// with the TLS secrets inside, and removes everything it created — on success, failure and Ctrl-C.

import { spawnSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { isatty } from 'node:tty';
import { netnsName } from '../link/netns.js';
import { describeCaptureError } from './capture-options.js';
import { runDemoSteps, type DemoContext } from './demo-steps.js';
import { isRoot } from './errors.js';
import { formatCounters } from './format-counters.js';
import { cryptoProvider, defaultStateDir, httpsServerConfig } from './https.js';
import { capturePath } from './paths.js';
import { RunningStack } from './running-stack.js';
import { Timeline } from './timeline.js';

export const DEMO_HELP = `Usage: tunstack demo

Creates network namespace tunstack-<pid> with a TUN device (kernel side 198.18.0.1/24) and runs
tunstack on 198.18.0.2 with HTTP on port 80 and HTTPS (tunstack's own TLS 1.3) on port 443, then
drives it: a ping; curl fetching two URLs over one keep-alive HTTP connection; curl fetching one
HTTPS URL with certificate verification (--cacert); tunstack fetching from a server on the kernel
side (an active open that closes first, through TIME-WAIT); a connection to a closed port (RST) and
a UDP datagram to one (ICMP port unreachable).

Prints a timeline: each segment with flags, seq/ack relative to each side's initial sequence number,
window and length; each TLS handshake message; each TCP state change of tunstack (its own events)
and of the kernel (inferred from the segments, marked *). Colour only on a terminal (NO_COLOR=1 turns it off).

Writes captures/demo-<time>.pcapng with the TLS secrets inside (Decryption Secrets Blocks) and a
comment on every packet that changed a connection's state, and prints the wireshark/tshark commands
to open it. The HTTPS certificate comes from a local CA in $TUNSTACK_STATE when that is set, otherwise
in a temporary directory the demo removes at the end (your ~/.tunstack is left alone). Removes the
namespace, its device and every process it started, also on Ctrl-C or failure. Needs root: sudo npm start.`;

/** The demo ends itself (cleaning up) if it ever runs this long. */
const DEADLINE_MS = 28_000;

export async function demo(argv: string[]): Promise<number> {
  if (argv.includes('-h') || argv.includes('--help')) {
    process.stdout.write(DEMO_HELP + '\n');
    return 0;
  }
  if (!isRoot()) {
    process.stderr.write('tunstack demo creates a network namespace and a TUN device, which needs root: run `sudo npm start`\n');
    return 1;
  }
  for (const [tool, pkg] of [['curl', 'curl'], ['ping', 'iputils-ping'], ['ip', 'iproute2']] as const) {
    if (spawnSync(tool, ['-V'], { stdio: 'ignore' }).error) {
      process.stderr.write(`tunstack demo drives ${tool} on the kernel side and cannot find it: install it (apt-get install ${pkg})\n`);
      return 1;
    }
  }
  // `sudo npm start | head`: once the reader is gone, the demo goes on quietly (and still cleans up).
  let readerGone = false;
  process.stdout.on('error', () => (readerGone = true));
  const say = (line: string) => {
    if (!readerGone) process.stdout.write(line + '\n');
  };
  const color = isatty(1) && !process.env.NO_COLOR;
  const ns = netnsName();
  const pcap = capturePath('demo');
  const envState = process.env.TUNSTACK_STATE;
  const tempState = envState !== undefined && envState !== '' ? undefined : mkdtempSync(join(tmpdir(), 'tunstack-demo-ca-'));
  const stateDir = tempState ?? defaultStateDir();
  const children = new Set<import('node:child_process').ChildProcess>();
  // Whatever ends the process (Ctrl-C → exit 130, the deadline, a crash), these go with it; the
  // RunningStack's own exit handler removes the device and the namespace.
  const cleanupSync = () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    if (tempState) rmSync(tempState, { recursive: true, force: true });
  };
  process.on('exit', cleanupSync);
  const deadline = setTimeout(() => {
    process.stderr.write(`tunstack demo: still running after ${DEADLINE_MS / 1000} s: stopping and cleaning up\n`);
    process.exit(1);
  }, DEADLINE_MS);
  deadline.unref();

  const timeline = new Timeline({ write: say, color });
  const https = httpsServerConfig({ address: '198.18.0.2', stateDir, certs: [], keys: [], crypto: cryptoProvider(undefined) });
  const caPath = https.identity!.caPath;
  say(`tunstack demo: namespace ${ns}, a TUN device with the kernel side on 198.18.0.1/24 and tunstack on 198.18.0.2`);
  say(
    `  tunstack serves HTTP on :80 and HTTPS on :443; the certificate comes from a local CA in ${stateDir}` +
      (tempState ? ' (temporary, removed at the end)' : ' ($TUNSTACK_STATE)'),
  );
  const shown = relative(process.cwd(), pcap);
  const file = shown !== '' && !shown.startsWith('..') ? shown : pcap;
  say(`  capturing every packet to ${file}`);
  let captureError: Error | undefined;
  const running = await RunningStack.start({
    addr: '198.18.0.2',
    peer: '198.18.0.1/24',
    mtu: 1500,
    netns: ns,
    pcap,
    httpPort: 80,
    https: { port: 443, config: https.config },
    // tunstack's TIME-WAIT lasts 2×MSL: 0.5 s here, so the timeline shows it end (this process owns
    // its address and gives it up on exit, so no old duplicate can meet a new connection).
    tcp: { mslMs: 250 },
    events: (e) => timeline.event(e),
    observe: (batch, direction) => timeline.packets(batch, direction),
    onCaptureError: (e) => (captureError = e),
  });
  let ok = false;
  try {
    timeline.section('the timeline');
    timeline.legend();
    const ctx: DemoContext = { ns, running, timeline, say, caPath, children, color };
    ok = await runDemoSteps(ctx);
  } finally {
    timeline.section('counters');
    say(formatCounters(running.stack.counters()));
    await running.close();
    clearTimeout(deadline);
  }
  giveToSudoUser(pcap);
  timeline.section(`capture: ${file}`);
  if (captureError) say(`  ${describeCaptureError(captureError)}`);
  say(`  TLS secrets are inside the file (Decryption Secrets Blocks): no key log file needed. Open it with`);
  say(`   wireshark ${file}`);
  say(`   tshark -r ${file} -Y http`);
  say(`   tshark -r ${file} -Y frame.comment -T fields -e frame.number -e frame.comment`);
  say(`  or draw each connection as a ladder diagram (SVG in an HTML page; open it in a browser):`);
  say(`   tunstack ladder ${file}        (from the checkout: node dist/cli/main.js ladder ${file})`);
  say(`== removed namespace ${ns}, its TUN device and the kernel-side processes${tempState ? `, and the temporary CA in ${tempState}` : ''}`);
  return ok && !captureError ? 0 : 1;
}

/** Under sudo, the capture belongs to the person who ran it (so they can open and delete it). */
function giveToSudoUser(path: string): void {
  const uid = Number(process.env.SUDO_UID);
  const gid = Number(process.env.SUDO_GID);
  if (!Number.isInteger(uid) || !Number.isInteger(gid) || uid <= 0) return;
  for (const p of [path, dirname(path)]) {
    try {
      chownSync(p, uid, gid);
    } catch {
      // Not ours to insist on: the file is still readable.
    }
  }
}
