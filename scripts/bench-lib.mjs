// Shared pieces of the bench scripts: namespaces that are always removed, a veth pair between two
// namespaces (the kernel baseline), and `tunstack serve` started and awaited.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const cli = join(root, 'dist/cli/main.js');

const created = [];
const children = new Set();
export function cleanup() {
  for (const c of children) c.kill('SIGTERM');
  children.clear();
  for (const ns of created.splice(0)) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

export const ip = (...args) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

/** A namespace name tunstack-<pid>-<tag>, removed on exit. */
export function namespace(tag) {
  const ns = `tunstack-${process.pid}-${tag}`;
  created.push(ns);
  return ns;
}

/** Two namespaces joined by a veth pair with addresses a.1 and a.2 of `net` (e.g. '198.18.1'). Returns [nsA, nsB]. */
export function vethPair(tag, net) {
  const a = namespace(`${tag}a`);
  const b = namespace(`${tag}b`);
  ip('netns', 'add', a);
  ip('netns', 'add', b);
  ip('-n', a, 'link', 'add', 'veth0', 'type', 'veth', 'peer', 'name', 'veth1', 'netns', b);
  ip('-n', a, 'addr', 'add', `${net}.1/24`, 'dev', 'veth0');
  ip('-n', b, 'addr', 'add', `${net}.2/24`, 'dev', 'veth1');
  for (const [ns, dev] of [[a, 'veth0'], [b, 'veth1']]) {
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('-n', ns, 'link', 'set', dev, 'up');
  }
  return [a, b];
}

/** Spawns a child that is killed on exit, resolving once its stdout matches `ready`. Its stderr so far: `proc.stderrText()`. */
export function startChild(cmd, args, ready) {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  let err = '';
  proc.stderr.on('data', (d) => (err += d));
  proc.stderrText = () => err;
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (d) => {
      out += d;
      if (ready.test(out)) resolve(proc);
    });
    proc.on('exit', (code) => reject(new Error(`${cmd} exited with ${code} before it was ready`)));
    setTimeout(() => reject(new Error(`${cmd} not ready in 15 s`)), 15_000).unref();
  });
}

/** `tunstack serve --netns <tag ns>`, awaited; returns the namespace and the process. */
export async function startServe(tag, extra = []) {
  const ns = namespace(tag);
  const proc = await startChild(process.execPath, [cli, 'serve', '--netns', ns, ...extra], /^ready /m);
  return { ns, proc };
}

export function stop(proc) {
  proc.kill('SIGTERM');
  children.delete(proc);
  return new Promise((r) => (proc.exitCode !== null ? r() : proc.on('exit', r)));
}
