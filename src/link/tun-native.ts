// Typed loader of the native TUN addon (native/build/Release/tun.node, built from native/tun.cc).
// The path is found by walking up from this file to the package root, so it works from src/ (vitest) and dist/ (tsc).

import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, parse } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Options of `open`. */
export interface TunOpenOptions {
  /** Requested device name (1–15 characters; "tun%d" templates allowed). Default: kernel-chosen `tun%d`. */
  name?: string;
  /** IFF_MULTI_QUEUE: several fds (queues) may attach to the same name (tuntap.rst §3.3). */
  multiQueue?: boolean;
  /**
   * IFF_VNET_HDR: each packet read or written is preceded by a struct virtio_net_hdr. Offloads
   * (TUNSETOFFLOAD) are off until `setOffload` is called, so by itself this only changes the framing.
   */
  vnetHdr?: boolean;
  /** TUNSETVNETHDRSZ: the header size (10–32; the kernel's default is 10). Needs `vnetHdr`. */
  vnetHdrSize?: number;
  /**
   * With `vnetHdr`: write()/writeBatch() put an all-zero header (GSO_NONE, no flags) of `vnetHdrSize`
   * bytes in front of each packet themselves (writev, no copy), so callers pass plain packets.
   */
  prependVnetHdr?: boolean;
}

/** TUNSETOFFLOAD flags (include/uapi/linux/if_tun.h). */
export interface TunOffloadFlags {
  readonly TUN_F_CSUM: number;
  readonly TUN_F_TSO4: number;
  readonly TUN_F_TSO6: number;
  readonly TUN_F_TSO_ECN: number;
  readonly TUN_F_UFO: number;
}

/** Counters kept by the addon since the handle was opened. */
export interface TunStats {
  packetsRead: number;
  bytesRead: number;
  /** JS calls made by the reader (one per batch). */
  batches: number;
  readErrors: number;
  packetsWritten: number;
  bytesWritten: number;
  /** Packets the kernel refused (EAGAIN, ENOBUFS, EIO when the device is down, EINVAL ...): drops. */
  writeErrors: number;
}

/**
 * One batch of inbound packets: `count` packets back to back in `buffer`, packet i being
 * `lengths[i]` bytes long. The buffer is fresh for every batch (the addon copied it out of its scratch space).
 */
export type TunBatchCallback = (buffer: Buffer, lengths: Uint32Array, count: number) => void;

/** An Error raised by the addon, shaped like Node's system errors. */
export interface TunError extends Error {
  /** 'EPERM', 'ENOENT', 'EBUSY', 'ERR_TUN_CLOSED', or the errno name. */
  code: string;
  /** Negative errno, when one applies. */
  errno?: number;
  syscall?: string;
}

/** Called when the device stopped delivering packets (e.g. it was deleted); polling has stopped. */
export type TunErrorCallback = (error: TunError) => void;

/** An open TUN fd. All methods throw an ERR_TUN_CLOSED error after close(), except close() and stats(). */
export interface TunHandle {
  /** The actual device name (as the kernel chose it, for templates). */
  readonly name: string;
  /** The fd, or -1 once closed. */
  readonly fd: number;
  readonly closed: boolean;
  /** True between start() and stop()/close() (or a fatal read error). */
  readonly polling: boolean;
  readonly vnetHdr: boolean;
  readonly multiQueue: boolean;
  /** The virtio-net header size in front of each packet (0 without vnetHdr). */
  readonly vnetHdrSize: number;
  /**
   * TUNSETOFFLOAD with TUN_F_* flags (0 turns offloads off). Needs a handle opened with vnetHdr;
   * throws a TunError (EINVAL for flags the kernel does not know).
   */
  setOffload(flags: number): void;
  /**
   * SIOCSIFMTU through an AF_INET socket of the CALLER's network namespace: call it before moving
   * the device into another namespace.
   */
  setMtu(mtu: number): void;
  /**
   * Starts reading: a uv_poll readiness callback reads until EAGAIN (at most `maxBatch` packets)
   * and makes one call of `onBatch` per batch. Calling it again replaces the callbacks. Without
   * `onError`, a fatal read error becomes an 'uncaughtException'. While polling, the handle keeps the process alive (see unref).
   */
  start(onBatch: TunBatchCallback, onError?: TunErrorCallback): void;
  stop(): void;
  /** Let the process exit even while polling (like net.Socket#unref), or undo that. */
  unref(): void;
  ref(): void;
  /** Writes one packet; false if the kernel refused it (counted in writeErrors). */
  write(packet: Uint8Array): boolean;
  /** Writes each packet with one write(); returns how many were accepted. Throws TypeError (before writing anything) on a non-Uint8Array element. */
  /** `headers[i]`, when a Uint8Array of the header size, replaces packet i's zero virtio header (GSO). */
  writeBatch(packets: readonly Uint8Array[], headers?: ReadonlyArray<Uint8Array | undefined>): number;
  /** Stops polling, closes the fd (the kernel removes a non-persistent device) and releases the poll handle. Idempotent. */
  close(): void;
  stats(): TunStats;
}

/** The addon's exports. */
export interface TunAddon {
  open(opts?: TunOpenOptions): TunHandle;
  /** Most packets delivered in one batch. */
  readonly maxBatch: number;
  /** Bytes offered to every read() (≥ 65535 + the virtio-net header). */
  readonly readSpace: number;
  /** TUNSETOFFLOAD flag values (absent in an addon built before offloads existed). */
  readonly offloadFlags?: TunOffloadFlags;
}

export const ADDON_MISSING_MESSAGE = "tunstack's native addon is not built: run `npm install` (or `npm run build:native`)";

/** The nearest directory at or above `startDir` holding a package.json named "tunstack" (or, failing that, any package.json). */
export function findPackageRoot(startDir: string): string | undefined {
  let dir = startDir;
  let firstWithPackageJson: string | undefined;
  for (;;) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj)) {
      firstWithPackageJson ??= dir;
      try {
        const parsed: unknown = JSON.parse(readFileSync(pj, 'utf8'));
        if (typeof parsed === 'object' && parsed !== null && (parsed as { name?: unknown }).name === 'tunstack') return dir;
      } catch {
        // an unreadable package.json is not ours; keep walking
      }
    }
    if (dir === parse(dir).root) return firstWithPackageJson;
    dir = dirname(dir);
  }
}

/** Where the built addon should be, seen from the directory of the calling module. */
export function addonPath(fromDir: string = dirname(fileURLToPath(import.meta.url))): string {
  const root = findPackageRoot(fromDir);
  if (root === undefined) throw new Error(`${ADDON_MISSING_MESSAGE} (no package.json above ${fromDir})`);
  return join(root, 'native', 'build', 'Release', 'tun.node');
}

function isTunAddon(mod: unknown): mod is TunAddon {
  return typeof mod === 'object' && mod !== null && typeof (mod as { open?: unknown }).open === 'function';
}

const cache = new Map<string, TunAddon>();

/** Loads (once per path) the addon; throws a one-line, actionable Error when it is missing or broken. */
export function loadTunAddon(path: string = addonPath()): TunAddon {
  const cached = cache.get(path);
  if (cached !== undefined) return cached;
  if (!existsSync(path)) {
    const err = new Error(ADDON_MISSING_MESSAGE) as Error & { code: string; path: string };
    err.code = 'ERR_TUNSTACK_ADDON_MISSING';
    err.path = path;
    throw err;
  }
  const require = createRequire(import.meta.url);
  let mod: unknown;
  try {
    mod = require(path);
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new Error(`tunstack's native addon failed to load (${why}): rebuild it with \`npm run build:native\``, { cause });
  }
  if (!isTunAddon(mod)) throw new Error(`${path} is not tunstack's TUN addon: rebuild it with \`npm run build:native\``);
  cache.set(path, mod);
  return mod;
}
