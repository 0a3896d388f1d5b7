// Nothing outlives tunstack: SIGINT removes the namespace and device serve created; a SIGKILLed
// serve leaves only a namespace named after a dead pid, which the suite's reaper removes.

import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { reapStaleNetns } from '../../src/link/netns.js';
import { CLI, freshNetns, isRoot, netnsList, sh, startServe } from '../helpers/harness.js';

async function tunDevices(): Promise<string[]> {
  const r = await sh('ip', ['-o', 'link', 'show', 'type', 'tun']);
  return r.stdout.split('\n').filter(Boolean).map((l) => l.split(': ')[1]!.split('@')[0]!);
}

describe.skipIf(!isRoot)('cleanup (root)', () => {
  const leftovers: string[] = [];
  afterAll(async () => {
    for (const ns of leftovers) if ((await netnsList()).includes(ns)) await sh('ip', ['netns', 'del', ns]);
  });

  it('sigint_removes_the_namespace_and_device_serve_created', async () => {
    const ns = freshNetns();
    leftovers.push(ns);
    const tun = `tci${process.pid % 100000}`;
    const serve = await startServe(['--netns', ns, '--tun', tun]);
    expect((await sh('ip', ['-n', ns, 'link', 'show', tun])).code).toBe(0);
    serve.proc.kill('SIGINT');
    expect(await serve.exited()).toBe(0);
    expect(await netnsList()).not.toContain(ns);
    expect(await tunDevices()).not.toContain(tun);
  });

  it('a_sigkilled_serve_leaves_no_device_and_its_namespace_is_reaped', async () => {
    // Name the namespace after a pid that has already exited, as a crashed test worker's would be.
    const dead = spawnSync('true').pid!;
    const ns = `tunstack-${dead}-1`;
    leftovers.push(ns);
    const tun = `tck${process.pid % 100000}`;
    const serve = await startServe(['--netns', ns, '--tun', tun]);
    serve.proc.kill('SIGKILL');
    await serve.stop();
    // The kernel destroys a non-persistent TUN device when its last fd closes.
    expect(await tunDevices()).not.toContain(tun);
    expect((await sh('ip', ['-n', ns, 'link', 'show', tun])).code).not.toBe(0);
    expect(await netnsList()).toContain(ns);
    expect(await reapStaleNetns()).toContain(ns);
    expect(await netnsList()).not.toContain(ns);
  });

  it('refuses_an_address_outside_the_peer_subnet_before_creating_anything', async () => {
    const ns = freshNetns();
    const r = await sh(process.execPath, [CLI, 'serve', '--netns', ns, '--addr', '198.19.0.2', '--peer', '198.18.0.1/24']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--addr 198\.19\.0\.2 is not inside --peer 198\.18\.0\.1\/24/);
    expect(await netnsList()).not.toContain(ns);
  });
});
