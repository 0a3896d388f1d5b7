// TunLink and the native TUN addon against the real kernel (privileged: needs root and /dev/net/tun; runs in CI).
// Everything lives in namespaces tunstack-<pid>-<n> that afterAll removes, also on failure.

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createNetns,
  deleteNetns,
  listNetns,
  listTunstackNetns,
  netnsName,
  netnsPid,
  nsCommand,
  reapStaleNetns,
  run,
} from '../../src/link/netns.js';
import { TunLink } from '../../src/link/tun-link.js';
import { ADDON_MISSING_MESSAGE, addonPath, findPackageRoot, loadTunAddon, type TunHandle } from '../../src/link/tun-native.js';

const execFileAsync = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..', '..');

const privileged = process.getuid?.() === 0 && existsSync('/dev/net/tun') && existsSync(addonPath());

// ---- bookkeeping: whatever is created here is removed in afterAll ---------------------------------
let nsCounter = 0;
const namespaces = new Set<string>();
const links: TunLink[] = [];
const handles: TunHandle[] = [];

function freshNs(): string {
  const ns = netnsName(process.pid, ++nsCounter);
  namespaces.add(ns);
  return ns;
}

afterAll(async () => {
  for (const h of handles) h.close();
  for (const l of links) await l.close().catch(() => undefined);
  for (const ns of namespaces) await deleteNetns(ns).catch(() => undefined);
});

// ---- hand-made ICMP echo replies (deliberately not src/wire) ---------------------------------------
function checksum(bytes: Uint8Array, start: number, end: number): number {
  let sum = 0;
  for (let i = start; i < end; i += 2) sum += (bytes[i]! << 8) | (i + 1 < end ? bytes[i + 1]! : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function ipv4(bytes: Uint8Array): { ihl: number; total: number; proto: number; src: string; dst: string } {
  const addr = (o: number) => `${bytes[o]}.${bytes[o + 1]}.${bytes[o + 2]}.${bytes[o + 3]}`;
  return {
    ihl: (bytes[0]! & 0x0f) * 4,
    total: (bytes[2]! << 8) | bytes[3]!,
    proto: bytes[9]!,
    src: addr(12),
    dst: addr(16),
  };
}

/** RFC 792: an echo reply is the request with addresses swapped, type 0 and both checksums recomputed. */
function echoReply(request: Uint8Array): Uint8Array {
  const p = Uint8Array.from(request);
  const { ihl, total } = ipv4(p);
  const src = p.slice(12, 16);
  p.copyWithin(12, 16, 20);
  p.set(src, 16);
  p[8] = 64; // TTL
  p[10] = 0;
  p[11] = 0;
  const ipSum = checksum(p, 0, ihl);
  p[10] = ipSum >>> 8;
  p[11] = ipSum & 0xff;
  p[ihl] = 0; // type: echo reply
  p[ihl + 1] = 0; // code
  p[ihl + 2] = 0;
  p[ihl + 3] = 0;
  const icmpSum = checksum(p, ihl, total);
  p[ihl + 2] = icmpSum >>> 8;
  p[ihl + 3] = icmpSum & 0xff;
  return p;
}

// ---- unprivileged parts ------------------------------------------------------------------------------
describe('tun-native loader', () => {
  it('finds the addon under the package root from src/ and from dist/', () => {
    const expected = join(repoRoot, 'native', 'build', 'Release', 'tun.node');
    expect(findPackageRoot(join(repoRoot, 'src', 'link'))).toBe(repoRoot);
    expect(addonPath(join(repoRoot, 'src', 'link'))).toBe(expected);
    expect(addonPath(join(repoRoot, 'dist', 'link'))).toBe(expected);
    expect(addonPath()).toBe(expected);
  });

  it('says how to build the addon when the .node file is missing', () => {
    expect(() => loadTunAddon(join(repoRoot, 'native', 'build', 'Release', 'no-such-addon.node'))).toThrow(ADDON_MISSING_MESSAGE);
    expect(ADDON_MISSING_MESSAGE).toBe("tunstack's native addon is not built: run `npm install` (or `npm run build:native`)");
  });
});

describe('netns helpers', () => {
  it('names namespaces after the pid and prefixes commands', () => {
    expect(netnsName(42)).toBe('tunstack-42');
    expect(netnsName(42, 3)).toBe('tunstack-42-3');
    expect(netnsName()).toBe(`tunstack-${process.pid}`);
    expect(netnsPid('tunstack-42-bench')).toBe(42);
    expect(netnsPid('tunstack-x')).toBeUndefined();
    expect(nsCommand('tunstack-42', ['ping', '-c', '1', '198.18.0.2'])).toEqual(['ip', 'netns', 'exec', 'tunstack-42', 'ping', '-c', '1', '198.18.0.2']);
    expect(() => nsCommand('bad name', ['true'])).toThrow(TypeError);
  });

  it('shows the command and its stderr when it fails', async () => {
    await expect(run('ip', ['link', 'show', 'tunstack-no-such-dev'])).rejects.toThrow(/`ip link show tunstack-no-such-dev` failed: .*does not exist/);
  });

  it.skipIf(!privileged)('reaps namespaces whose pid is gone, and only those', async () => {
    const ns = freshNs();
    await createNetns(ns);
    expect(await listTunstackNetns()).toContain(ns);
    // Pretend this process died; every other pid counts as alive so that other users' namespaces are untouched.
    const reaped = await reapStaleNetns({ isAlive: (pid) => pid !== process.pid });
    expect(reaped).toEqual([ns]);
    expect(await listNetns()).not.toContain(ns);
  });
});

// ---- privileged parts --------------------------------------------------------------------------------
describe.skipIf(!privileged)('TunLink on a real TUN device', () => {
  it('carries ping: echo requests arrive in batches, hand-made replies go back', async () => {
    const ns = freshNs();
    const link = await TunLink.open({ netns: ns });
    links.push(link);
    expect(link.netns).toBe(ns);
    expect(link.ownsNetns).toBe(true);
    expect(link.mtu).toBe(1500);
    expect(link.name).toMatch(/^tun\d+$/);
    // The device now lives in the namespace, with the peer address, up, and the MTU set before the move.
    const { stdout: shown } = await run('ip', ['-n', ns, '-o', 'addr', 'show', 'dev', link.name]);
    expect(shown).toContain('inet 198.18.0.1/24');
    const { stdout: linkShown } = await run('ip', ['-n', ns, '-o', 'link', 'show', 'dev', link.name]);
    expect(linkShown).toMatch(/mtu 1500/);
    expect(linkShown).toMatch(/[<,]UP[,>]/);
    await expect(run('ip', ['link', 'show', link.name])).rejects.toThrow(/does not exist/); // not in the root namespace

    const requests: Uint8Array[] = [];
    const batchSizes: number[] = [];
    link.setReceiver((packets) => {
      batchSizes.push(packets.length);
      for (const p of packets) {
        if (p.length < 20 || p[0]! >> 4 !== 4) continue;
        const h = ipv4(p);
        if (h.proto === 1 && p[h.ihl] === 8) {
          requests.push(Uint8Array.from(p));
          link.send([echoReply(p)]);
        }
      }
    });

    const [cmd, ...args] = nsCommand(ns, ['ping', '-c', '3', '-i', '0.2', '-W', '1', '198.18.0.2']);
    const { stdout } = await execFileAsync(cmd!, args, { timeout: 10_000 });
    expect(stdout).toMatch(/3 packets transmitted, 3 received/);

    expect(requests).toHaveLength(3);
    for (const r of requests) {
      const h = ipv4(r);
      expect(r[0]! >> 4).toBe(4);
      expect(h.proto).toBe(1);
      expect(h.src).toBe('198.18.0.1');
      expect(h.dst).toBe('198.18.0.2');
      expect(checksum(r, 0, h.ihl)).toBe(0); // the kernel's header checksum verifies
    }
    expect(batchSizes.length).toBeGreaterThanOrEqual(1);
    const s = link.stats();
    expect(s.packetsRead).toBeGreaterThanOrEqual(3);
    expect(s.batches).toBe(batchSizes.length);
    expect(s.packetsWritten).toBe(3);
    expect(s.writeErrors).toBe(0);
    expect(s.readErrors).toBe(0);

    await link.close();
    await link.close(); // idempotent
    expect(link.closed).toBe(true);
    expect(await listNetns()).not.toContain(ns);
    await expect(run('ip', ['-n', ns, 'link'])).rejects.toThrow(/Cannot open network namespace/);
    namespaces.delete(ns);
  });

  it('close() removes the device but keeps a namespace it did not create', async () => {
    const ns = freshNs();
    await createNetns(ns);
    const link = await TunLink.open({ netns: ns, name: `ts${process.pid % 100000}k`, mtu: 1400 });
    links.push(link);
    expect(link.ownsNetns).toBe(false);
    const { stdout } = await run('ip', ['-n', ns, '-o', 'link', 'show', 'dev', link.name]);
    expect(stdout).toMatch(/mtu 1400/);
    link.closeSync();
    await link.close();
    expect(await listNetns()).toContain(ns);
    await expect(run('ip', ['-n', ns, 'link', 'show', 'dev', link.name])).rejects.toThrow(/does not exist/);
    const { stdout: left } = await run('ip', ['-n', ns, '-o', 'link']);
    expect(left.trim().split('\n')).toHaveLength(1); // only lo
    await deleteNetns(ns);
  });

  it('reports a busy device name in one line', async () => {
    const addon = loadTunAddon();
    const name = `tb${process.pid % 100000}`;
    // Held in the root namespace only for the duration of this test: down, no address.
    const first = addon.open({ name });
    handles.push(first);
    try {
      expect(first.name).toBe(name);
      let caught: unknown;
      try {
        addon.open({ name });
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(Error);
      expect((caught as Error).message).toBe(`TUN device ${name} is busy: pick another --tun name`);
      expect((caught as { code?: string }).code).toBe('EBUSY');
      const ns = freshNs();
      await expect(TunLink.open({ name, netns: ns })).rejects.toThrow(`TUN device ${name} is busy: pick another --tun name`);
      expect(await listNetns()).not.toContain(ns);
    } finally {
      first.close();
    }
    await expect(run('ip', ['link', 'show', name])).rejects.toThrow(/does not exist/);
  });

  it('undoes a half-done set-up: the fd is closed when the move into the namespace fails', async () => {
    const ns = freshNs();
    await createNetns(ns);
    const name = `tu${process.pid % 100000}`;
    await run('ip', ['-n', ns, 'tuntap', 'add', 'dev', name, 'mode', 'tun']); // a persistent device taking the name inside
    await expect(TunLink.open({ name, netns: ns })).rejects.toThrow(/`ip link set .* netns .*` failed: .*(File exists|same name exists)/);
    await expect(run('ip', ['link', 'show', name])).rejects.toThrow(/does not exist/); // nothing left in the root namespace
    expect(await listNetns()).toContain(ns); // not ours to delete
    await deleteNetns(ns);
  });

  it('validates its options', async () => {
    await expect(TunLink.open({ mtu: 10 })).rejects.toThrow(RangeError);
    await expect(TunLink.open({ peer: '198.18.0.1' })).rejects.toThrow(/CIDR/);
    const addon = loadTunAddon();
    expect(() => addon.open({ name: 'much-too-long-name' })).toThrow(/invalid TUN device name/);
  });

  it('addon: writeBatch validates before writing, close is idempotent, use after close throws', async () => {
    const ns = freshNs();
    const link = await TunLink.open({ netns: ns });
    links.push(link);
    const addon = loadTunAddon();
    expect(addon.maxBatch).toBe(256);
    expect(addon.readSpace).toBeGreaterThanOrEqual(65535 + 10);
    // A too-short packet is a drop, not a throw (EINVAL from tun_get_user).
    link.send([new Uint8Array(1)]);
    expect(link.stats().writeErrors).toBe(1);
    await link.close();
    const h = addon.open({});
    handles.push(h);
    expect(() => h.writeBatch([new Uint8Array(20), 'nope' as unknown as Uint8Array])).toThrow(/packets\[1\] is not a Uint8Array/);
    expect(h.stats().packetsWritten + h.stats().writeErrors).toBe(0);
    h.close();
    h.close();
    expect(h.fd).toBe(-1);
    expect(() => h.write(new Uint8Array(20))).toThrow(expect.objectContaining({ code: 'ERR_TUN_CLOSED' }));
    expect(() => h.start(() => undefined)).toThrow(/closed/);
  });

  // These run a separate Node process inside a namespace (so that its device never touches the root one).
  async function nodeInNs(ns: string, script: string, flags: string[] = []): Promise<string> {
    await createNetns(ns);
    const [cmd, ...args] = nsCommand(ns, [process.execPath, ...flags, '-e', script]);
    const { stdout } = await execFileAsync(cmd!, args, { timeout: 15_000, env: { ...process.env, TUN_ADDON: addonPath() } });
    return stdout.trim();
  }

  it('a throwing onBatch becomes an uncaughtException (not lost), and the reader keeps its handle alive', async () => {
    const script = `
      const { execFileSync, execFile } = require('node:child_process');
      const addon = require(process.env.TUN_ADDON);
      const timer = setTimeout(() => { console.log(JSON.stringify({ caught: null })); process.exit(1); }, 5000);
      let h = addon.open({});
      const name = h.name;
      execFileSync('ip', ['link', 'set', 'lo', 'up']);
      execFileSync('ip', ['addr', 'add', '198.18.0.1/24', 'dev', name]);
      execFileSync('ip', ['link', 'set', name, 'up']);
      h.start(() => { throw new Error('boom from onBatch'); });
      h = null; // the JS side drops the handle and the callback: polling must go on
      global.gc();
      process.on('uncaughtException', (err) => {
        clearTimeout(timer);
        console.log(JSON.stringify({ caught: err.message }));
        process.exit(0);
      });
      setTimeout(() => { global.gc(); execFile('ping', ['-c', '1', '-W', '1', '198.18.0.2'], () => {}); }, 50);
    `;
    const out = await nodeInNs(freshNs(), script, ['--expose-gc']);
    expect(JSON.parse(out)).toEqual({ caught: 'boom from onBatch' });
  });

  it('microtasks queued in onBatch run before the next batch (MakeCallback with an async context)', async () => {
    // Two devices become readable while the loop is blocked (execFileSync), so their readiness callbacks
    // run back to back in one poll phase with no other JS in between. A plain napi_call_function would
    // leave the first batch's microtask queued when the second batch arrives (Node's explicit microtask policy).
    const script = `
      const { execFileSync } = require('node:child_process');
      const addon = require(process.env.TUN_ADDON);
      let pending = 0, batches = 0, stale = 0;
      const onBatch = () => {
        batches++;
        if (pending !== 0) stale++;
        pending++;
        queueMicrotask(() => { pending--; });
      };
      const handles = ['198.18.0.1/24', '198.19.0.1/24'].map((peer) => {
        const h = addon.open({});
        execFileSync('sysctl', ['-q', '-w', 'net.ipv6.conf.' + h.name + '.disable_ipv6=1']);
        execFileSync('ip', ['addr', 'add', peer, 'dev', h.name]);
        execFileSync('ip', ['link', 'set', h.name, 'up']);
        h.start(onBatch);
        return h;
      });
      execFileSync('sh', ['-c', 'ping -c 1 -W 0.3 198.18.0.2 >/dev/null & ping -c 1 -W 0.3 198.19.0.2 >/dev/null & wait']);
      setTimeout(() => {
        for (const h of handles) h.close();
        console.log(JSON.stringify({ batches, stale }));
      }, 100);
    `;
    expect(JSON.parse(await nodeInNs(freshNs(), script))).toEqual({ batches: 2, stale: 0 });
  });

  it('a device deleted underneath reaches onError (EBADFD) and polling stops', async () => {
    const script = `
      const { execFileSync } = require('node:child_process');
      const addon = require(process.env.TUN_ADDON);
      const h = addon.open({});
      execFileSync('ip', ['link', 'set', h.name, 'up']);
      const timer = setTimeout(() => { console.log(JSON.stringify({ error: null })); h.close(); }, 3000);
      h.start(() => {}, (err) => {
        clearTimeout(timer);
        console.log(JSON.stringify({ error: err.message.replace(h.name, 'DEV'), code: err.code, polling: h.polling, readErrors: h.stats().readErrors }));
        h.close();
      });
      setTimeout(() => execFileSync('ip', ['link', 'del', h.name]), 20);
    `;
    expect(JSON.parse(await nodeInNs(freshNs(), script))).toEqual({
      error: 'TUN device DEV stopped delivering packets: File descriptor in bad state',
      code: 'EBADFD',
      polling: false,
      readErrors: 1,
    });
  });

  it('close() from inside onBatch is safe and the process exits (nothing left polling)', async () => {
    const script = `
      const { execFileSync, execFile } = require('node:child_process');
      const addon = require(process.env.TUN_ADDON);
      const h = addon.open({});
      const name = h.name;
      execFileSync('ip', ['addr', 'add', '198.18.0.1/24', 'dev', name]);
      execFileSync('ip', ['link', 'set', name, 'up']);
      let calls = 0;
      h.start(() => { calls++; h.close(); h.close(); });
      execFile('ping', ['-c', '2', '-i', '0.2', '-W', '1', '198.18.0.2'], () => {
        let gone = false;
        try { execFileSync('ip', ['link', 'show', name], { stdio: 'ignore' }); } catch { gone = true; }
        console.log(JSON.stringify({ calls, gone, closed: h.closed, polling: h.polling }));
      });
    `;
    expect(JSON.parse(await nodeInNs(freshNs(), script))).toEqual({ calls: 1, gone: true, closed: true, polling: false });
  });

  it('multi-queue: several fds attach to one device name', async () => {
    const script = `
      const addon = require(process.env.TUN_ADDON);
      const a = addon.open({ name: 'mq0', multiQueue: true });
      const b = addon.open({ name: 'mq0', multiQueue: true });
      let single;
      try { addon.open({ name: 'mq0' }); } catch (e) { single = e.message; }
      console.log(JSON.stringify({ names: [a.name, b.name], mq: a.multiQueue, single }));
      a.close(); b.close();
    `;
    expect(JSON.parse(await nodeInNs(freshNs(), script))).toEqual({
      names: ['mq0', 'mq0'],
      mq: true,
      single: 'TUN device mq0 is busy: pick another --tun name',
    });
  });

  it('a handle collected by the GC closes its fd (the device goes away)', async () => {
    const script = `
      const { execFileSync } = require('node:child_process');
      const addon = require(process.env.TUN_ADDON);
      let h = addon.open({});
      const name = h.name;
      execFileSync('ip', ['link', 'show', name]);
      h = null;
      (async () => {
        for (let i = 0; i < 50; i++) {
          global.gc();
          await new Promise((r) => setTimeout(r, 10));
          try { execFileSync('ip', ['link', 'show', name], { stdio: 'ignore' }); } catch { console.log('gone'); return; }
        }
        console.log('still there');
      })();
    `;
    expect(await nodeInNs(freshNs(), script, ['--expose-gc'])).toBe('gone');
  });
});
