// Helpers around iproute2's `ip` for the network harness: network namespaces named tunstack-<pid>[-<n>],
// commands run inside them, and reaping namespaces whose creating process is gone (see DESIGN.md, "The network harness contract").

import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** An `ip` (or other) command failed: the message shows the command line and its stderr. */
export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly args: readonly string[],
    readonly stderr: string,
    readonly exitCode: number | string | undefined,
  ) {
    const detail = stderr.trim() !== '' ? stderr.trim() : `exit status ${String(exitCode)}`;
    super(`\`${[command, ...args].join(' ')}\` failed: ${detail}`);
    this.name = 'CommandError';
  }
}

interface ExecFailure {
  stderr?: string | Buffer;
  code?: number | string;
  status?: number | null;
  message?: string;
}

function toCommandError(cmd: string, args: readonly string[], e: unknown): CommandError {
  const f = (typeof e === 'object' && e !== null ? e : {}) as ExecFailure;
  const stderr = f.stderr === undefined ? '' : String(f.stderr);
  const code = f.status ?? f.code;
  // ENOENT from spawn: the program itself is missing — say so rather than printing nothing.
  if (f.code === 'ENOENT' && stderr === '') {
    return new CommandError(cmd, args, `${cmd} not found (install iproute2)`, f.code);
  }
  return new CommandError(cmd, args, stderr !== '' ? stderr : (f.message ?? ''), code ?? undefined);
}

const TIMEOUT_MS = 30_000;

/** Runs a command (no shell) and resolves with its output; rejects with a CommandError. */
export async function run(cmd: string, args: readonly string[]): Promise<{ stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(cmd, [...args], { encoding: 'utf8', timeout: TIMEOUT_MS });
    return { stdout, stderr };
  } catch (e) {
    throw toCommandError(cmd, args, e);
  }
}

/** Synchronous run, for cleanup in process 'exit' handlers. */
export function runSync(cmd: string, args: readonly string[]): string {
  try {
    return execFileSync(cmd, [...args], { encoding: 'utf8', timeout: TIMEOUT_MS, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    throw toCommandError(cmd, args, e);
  }
}

const NAME_RE = /^[A-Za-z0-9_.-]{1,64}$/;

function checkName(name: string): void {
  // `ip netns` names become file names under /run/netns: keep them plain.
  if (!NAME_RE.test(name) || name === '.' || name === '..') throw new TypeError(`invalid network namespace name "${name}"`);
}

/** `tunstack-<pid>` or `tunstack-<pid>-<n>`. */
export function netnsName(pid: number = process.pid, n?: number | string): string {
  return n === undefined ? `tunstack-${pid}` : `tunstack-${pid}-${n}`;
}

/** The pid in a tunstack-<pid>[-<suffix>] name, or undefined if the name is not of that form. */
export function netnsPid(name: string): number | undefined {
  const m = /^tunstack-(\d+)(?:-[A-Za-z0-9_.]+)?$/.exec(name);
  return m === null ? undefined : Number(m[1]);
}

function parseNetnsList(stdout: string): string[] {
  // `ip netns list` prints "NAME" or "NAME (id: N)" per line.
  return stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n !== '');
}

export async function listNetns(): Promise<string[]> {
  return parseNetnsList((await run('ip', ['netns', 'list'])).stdout);
}

export function listNetnsSync(): string[] {
  return parseNetnsList(runSync('ip', ['netns', 'list']));
}

/** Namespaces named tunstack-<pid>[-<n>]. */
export async function listTunstackNetns(): Promise<string[]> {
  return (await listNetns()).filter((n) => netnsPid(n) !== undefined);
}

export async function netnsExists(name: string): Promise<boolean> {
  return (await listNetns()).includes(name);
}

export function netnsExistsSync(name: string): boolean {
  return listNetnsSync().includes(name);
}

export async function createNetns(name: string): Promise<void> {
  checkName(name);
  await run('ip', ['netns', 'add', name]);
}

/** Deletes a namespace; resolves false if it did not exist. Devices in it that nobody keeps open go with it. */
export async function deleteNetns(name: string): Promise<boolean> {
  checkName(name);
  if (!(await netnsExists(name))) return false;
  await run('ip', ['netns', 'del', name]);
  return true;
}

export function deleteNetnsSync(name: string): boolean {
  checkName(name);
  if (!netnsExistsSync(name)) return false;
  runSync('ip', ['netns', 'del', name]);
  return true;
}

/** argv that runs `argv` inside namespace `ns`: ['ip', 'netns', 'exec', ns, ...argv]. */
export function nsCommand(ns: string, argv: readonly string[]): string[] {
  checkName(ns);
  return ['ip', 'netns', 'exec', ns, ...argv];
}

/** True if a process with this pid exists (EPERM means it exists but is not ours). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Deletes tunstack-<pid>[-<n>] namespaces whose pid no longer runs and returns their names.
 * Caveats: a recycled pid keeps its stale namespace alive, and pids are those of this pid
 * namespace. `isAlive` is injectable for tests.
 */
export async function reapStaleNetns(opts: { isAlive?: (pid: number) => boolean } = {}): Promise<string[]> {
  const isAlive = opts.isAlive ?? pidAlive;
  const reaped: string[] = [];
  for (const name of await listTunstackNetns()) {
    const pid = netnsPid(name);
    if (pid === undefined || isAlive(pid)) continue;
    try {
      await run('ip', ['netns', 'del', name]);
      reaped.push(name);
    } catch {
      // someone else reaped it first, or it is busy: leave it
    }
  }
  return reaped;
}
