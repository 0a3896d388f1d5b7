#!/usr/bin/env node
// Runs before `npm test`: makes sure the system tools the privileged tests drive are present
// (installing them with apt-get when run as root on Debian, else saying exactly what is missing),
// and that the native addon and the compiled CLI are built and current.

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

// command → Debian package that provides it
export const TOOLS = {
  ip: 'iproute2',
  ping: 'iputils-ping',
  curl: 'curl',
  openssl: 'openssl',
  tshark: 'tshark',
  python3: 'python3',
  tcpdump: 'tcpdump', // ladder interop: classic pcap of a kernel-to-kernel connection
  chromium: 'chromium', // ladder interop: renders the HTML diagrams headless to a PNG
};

function have(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

const missing = Object.entries(TOOLS).filter(([cmd]) => !have(cmd));
if (missing.length > 0) {
  const pkgs = [...new Set(missing.map(([, pkg]) => pkg))];
  const isRoot = process.getuid?.() === 0;
  if (isRoot && have('apt-get')) {
    console.error(`pretest: installing ${pkgs.join(' ')} with apt-get`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    // tshark asks whether non-root users may capture; answer no without a prompt.
    spawnSync('sh', ['-c', 'echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections'], { stdio: 'inherit', env });
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...pkgs], { stdio: 'inherit', env });
  } else {
    console.error(
      `pretest: the tests need ${missing.map(([c]) => c).join(', ')}; install them with:\n` +
        `  sudo apt-get install ${pkgs.join(' ')}`,
    );
    process.exit(1);
  }
}

// Build what is missing or stale: node-gyp only when the addon is absent, tsc always (incremental, fast);
// then type-check the tests too (vitest itself only strips types).
if (!existsSync(join(root, 'native/build/Release/tun.node'))) {
  execFileSync('npm', ['run', 'build:native'], { cwd: root, stdio: 'inherit' });
}
execFileSync('npm', ['run', '--silent', 'build:ts'], { cwd: root, stdio: 'inherit' });
execFileSync('npm', ['run', '--silent', 'typecheck'], { cwd: root, stdio: 'inherit' });
