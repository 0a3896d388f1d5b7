// Test harness for the privileged tests: namespace names per worker, commands run on the kernel
// side, and `tunstack serve` started as a real process (waiting for its "ready" line).

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { netnsName } from '../../src/link/netns.js';

export const ROOT = join(fileURLToPath(import.meta.url), '../../..');
export const CLI = join(ROOT, 'dist/cli/main.js');
export const isRoot = process.getuid?.() === 0;

let n = 0;
/** A fresh namespace name for this worker: tunstack-<pid>-<n>. */
export function freshNetns(): string {
  return netnsName(process.pid, ++n);
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a command; never rejects (the exit code is in the result). Bounded by `timeoutMs`. */
export function sh(cmd: string, args: string[], timeoutMs = 30_000): Promise<RunResult> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr), ms: performance.now() - t0 });
    });
  });
}

/** Runs a command on the kernel side, inside namespace `ns`. */
export function inNs(ns: string, cmd: string, args: string[], timeoutMs?: number): Promise<RunResult> {
  return sh('ip', ['netns', 'exec', ns, cmd, ...args], timeoutMs);
}

export async function netnsList(): Promise<string[]> {
  const r = await sh('ip', ['netns', 'list']);
  return r.stdout
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((l) => l.length > 0);
}

export interface ServeProcess {
  proc: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** SIGTERM, then wait for the exit code (SIGKILL after 10 s). */
  stop: () => Promise<number | null>;
  /** Waits for the process to exit by itself (SIGKILL after 10 s). */
  exited: () => Promise<number | null>;
}

/** Starts `tunstack serve ARGS` from dist/ (with `env` added to the environment) and resolves once it printed "ready ". */
export function startServe(args: string[], env?: NodeJS.ProcessEnv): Promise<ServeProcess> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build`);
  const proc = spawn(process.execPath, [CLI, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...(env ? { env: { ...process.env, ...env } } : {}) });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const handle: ServeProcess = {
    proc,
    stdout: () => out,
    stderr: () => err,
    exited: async () => {
      const killer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(killer);
      return code;
    },
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const killer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(killer);
      return code;
    },
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`tunstack serve did not print ready within 15 s; stderr: ${err}`));
    }, 15_000);
    const check = () => {
      if (/^ready /m.test(out)) {
        clearTimeout(timer);
        proc.stdout!.off('data', check);
        resolve(handle);
      }
    };
    proc.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`tunstack serve exited with ${code} before ready; stderr: ${err}`));
    });
  });
}

/**
 * A tshark display filter for what Wireshark calls broken in a capture: malformed packets and expert
 * errors. One expert error is not ours to fix when the kernel side sent it: a TCP checksum of 0xFFFF,
 * which Linux writes (CSUM_MANGLED_0 in skb_checksum_help) when a checksum it completes comes out 0 —
 * RFC 1624 §3 makes both zeros valid. From tunstack (outbound, direction 2) it still counts.
 */
export const TSHARK_BROKEN = '_ws.malformed || (_ws.expert.severity >= error && !(tcp.checksum.ffff && frame.packet_flags_direction == 1))';
