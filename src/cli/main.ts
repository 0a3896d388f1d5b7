#!/usr/bin/env node
// The `tunstack` command: dispatches to serve / get / lb / demo / ladder and turns every failure into one readable line.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { demo, DEMO_HELP } from './demo.js';
import { get, GET_HELP } from './get.js';
import { ladder, LADDER_HELP } from './ladder.js';
import { lb, LB_HELP } from './lb.js';
import { describeError, UsageError } from './errors.js';
import { packageRoot } from './paths.js';
import { serve, SERVE_HELP } from './serve.js';
import { installHardStop } from './signals.js';

const HELP = `Usage: tunstack <command> [options]

tunstack is a userspace TCP/IPv4 stack that owns an address on a Linux TUN device.

Commands:
  serve     own an address on a TUN device and serve HTTP and HTTPS (TLS 1.3) on it (tunstack serve --help)
  get       fetch an http:// or https:// URL from the kernel side through tunstack's TCP and TLS (tunstack get --help)
  lb        an L4 load balancer (nat or proxy mode) in front of backends (tunstack lb --help)
  demo      run the guided demo in a private network namespace (what \`sudo npm start\` runs)
  ladder    draw a capture's TCP connections (and their TLS/HTTP messages) as ladder diagrams (tunstack ladder --help)
  help      show this help, or \`tunstack help <command>\`

Options:
  -h, --help      show this help
  -v, --version   print the version

Examples:
  sudo tunstack serve --netns tunstack-lab --pcap captures/lab.pcapng --trace-states
  sudo ip netns exec tunstack-lab curl http://198.18.0.2/echo
  sudo ip netns exec tunstack-lab curl --cacert ~/.tunstack/ca.pem https://198.18.0.2/echo
  sudo ip netns add tunstack-web; sudo ip netns exec tunstack-web python3 -m http.server 8080 &
  sudo tunstack get --netns tunstack-web --trace-states http://198.18.0.1:8080/ -o index.html
  tunstack ladder captures/lab.pcapng -o lab.html`;

const commands: Record<string, { run: (argv: string[]) => Promise<number>; help: string }> = {
  serve: { run: serve, help: SERVE_HELP },
  get: { run: get, help: GET_HELP },
  lb: { run: lb, help: LB_HELP },
  demo: { run: demo, help: DEMO_HELP },
  ladder: { run: ladder, help: LADDER_HELP },
};

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '-h' || cmd === '--help') {
    process.stdout.write(HELP + '\n');
    return cmd === undefined ? 1 : 0;
  }
  if (cmd === '-v' || cmd === '--version') {
    const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
    process.stdout.write(pkg.version + '\n');
    return 0;
  }
  if (cmd === 'help') {
    const topic = rest[0] !== undefined ? commands[rest[0]] : undefined;
    process.stdout.write((topic ? topic.help : HELP) + '\n');
    return 0;
  }
  const command = commands[cmd];
  if (!command) throw new UsageError(`unknown command "${cmd}" (see tunstack --help)`);
  return command.run(rest);
}

installHardStop();
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`tunstack: ${describeError(e)}\n`);
    process.exit(e instanceof UsageError ? 2 : 1);
  },
);
