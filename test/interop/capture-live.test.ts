// Live capture from a running `tunstack serve`: --pcap - streams a valid pcapng on stdout (the ready line
// moving to stderr) that tshark reads from a pipe, HTTPS decrypted; a reader that leaves stops only the
// capture, with a message; a named pipe waits for its reader without blocking tunstack, then streams.

import { spawn, type ChildProcess } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { readPcapng, type PcapngFile } from '../../src/capture/pcapng-reader.js';
import { CLI, freshNetns, inNs, isRoot, netnsList, sh } from '../helpers/harness.js';

const tmp = mkdtempSync(join(tmpdir(), 'tunstack-capture-live-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Serve {
  proc: ChildProcess;
  stdout: Buffer[];
  stderr: () => string;
  exited: Promise<number | null>;
}

/** `tunstack serve ARGS` with stdout kept as bytes (it may be the capture). */
function spawnServe(args: string[]): Serve {
  const proc = spawn(process.execPath, [CLI, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const stdout: Buffer[] = [];
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => stdout.push(d));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((done) => proc.on('exit', (code) => done(code)));
  return { proc, stdout, stderr: () => err, exited };
}

/** Resolves once pred holds (checked every 20 ms), rejects after maxMs with what stderr said. */
async function until(s: Serve, pred: () => boolean, what: string, maxMs = 15_000): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > maxMs || s.proc.exitCode !== null) throw new Error(`no ${what}; stderr: ${s.stderr()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function stop(s: Serve): Promise<number | null> {
  if (s.proc.exitCode === null) s.proc.kill('SIGTERM');
  const killer = setTimeout(() => s.proc.kill('SIGKILL'), 10_000);
  const code = await s.exited;
  clearTimeout(killer);
  return code;
}

function parse(bytes: Uint8Array): PcapngFile {
  const r = readPcapng(bytes);
  if (!r.ok) throw new Error(`not a pcapng stream: ${r.error}`);
  return r.value;
}

let streams = 0;
/**
 * `tshark -r - -Y http` reading the bytes from a real pipe (tshark refuses a socket on stdin, which is
 * what Node's 'pipe' stdio is): the ports, request URIs and status codes it decodes.
 */
function tsharkHttp(bytes: Uint8Array): Promise<string> {
  const file = join(tmp, `stream-${++streams}.pcapng`);
  writeFileSync(file, bytes);
  return new Promise((done) => {
    const t = spawn('sh', ['-c', 'cat "$1" | tshark -r - -Y http -T fields -e tcp.port -e http.request.uri -e http.response.code', 'sh', file], {
      stdio: ['ignore', 'pipe', 'ignore'],
      env: { ...process.env, HOME: tmp, XDG_CONFIG_HOME: tmp },
    });
    let out = '';
    t.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    t.on('close', () => done(out));
  });
}

describe.skipIf(!isRoot)('live capture (root)', () => {
  let serve: Serve | undefined;
  let ns = '';
  afterEach(async () => {
    if (serve) await stop(serve);
    serve = undefined;
    if (ns && (await netnsList()).includes(ns)) await sh('ip', ['netns', 'del', ns]);
  });

  it('streams_pcapng_on_stdout_and_says_ready_on_stderr', async () => {
    ns = freshNetns();
    const state = join(tmp, 'state');
    serve = spawnServe(['--netns', ns, '--pcap', '-', '--state', state]);
    const s = serve;
    await until(s, () => /^ready 198\.18\.0\.2$/m.test(s.stderr()), 'ready line on stderr');
    const http = await inNs(ns, 'curl', ['-sS', '--max-time', '10', 'http://198.18.0.2/echo']);
    expect(http.stdout).toMatch(/^GET \/echo HTTP\/1\.1/);
    const https = await inNs(ns, 'curl', ['-sS', '--max-time', '10', '--cacert', join(state, 'ca.pem'), 'https://198.18.0.2/bytes/100']);
    expect(https.code, https.stderr).toBe(0);
    // A reader sees the packets while tunstack still serves (each batch is written when it crosses).
    await until(s, () => parse(Buffer.concat(s.stdout)).blocks.filter((b) => b.kind === 'epb').length >= 20, 'packets on stdout');
    expect(await stop(s)).toBe(0);
    const bytes = Buffer.concat(s.stdout);
    expect(bytes.includes('ready')).toBe(false);
    const file = parse(bytes);
    expect(file.problems).toEqual([]);
    expect(file.end).toBe(bytes.length);
    expect(file.blocks.slice(0, 2).map((b) => b.kind)).toEqual(['shb', 'idb']);
    expect(file.blocks.some((b) => b.kind === 'dsb' && b.text?.includes('CLIENT_TRAFFIC_SECRET_0'))).toBe(true);
    const decoded = await tsharkHttp(bytes);
    expect(decoded).toMatch(/^\d+,80\t\/echo\t$/m);
    expect(decoded).toMatch(/^\d+,443\t\/bytes\/100\t$/m); // HTTPS, decrypted from the stream's own DSBs
    expect(decoded).toMatch(/^443,\d+\t\t200$/m);
  });

  it('a_reader_that_leaves_stops_the_capture_with_a_message_and_tunstack_keeps_serving', async () => {
    ns = freshNetns();
    serve = spawnServe(['--netns', ns, '--pcap', '-', '--no-https']);
    const s = serve;
    await until(s, () => /^ready /m.test(s.stderr()), 'ready');
    s.proc.stdout!.destroy(); // the reader exits: the next capture write gets EPIPE
    for (let i = 0; i < 2; i++) {
      const r = await inNs(ns, 'curl', ['-sS', '--max-time', '10', 'http://198.18.0.2/echo']);
      expect(r.stdout).toMatch(/^GET \/echo/);
    }
    await until(s, () => /capture stopped: its reader went away \(broken pipe\); tunstack keeps running without it/.test(s.stderr()), 'EPIPE message');
    expect(s.stderr()).not.toMatch(/\n\s+at /); // no stack trace
    expect(await stop(s)).toBe(0);
  });

  it('a_fifo_waits_for_its_reader_then_streams_to_it', async () => {
    ns = freshNetns();
    const fifo = join(tmp, 'live.fifo');
    expect((await sh('mkfifo', [fifo])).code).toBe(0);
    serve = spawnServe(['--netns', ns, '--pcap', fifo, '--no-https']);
    const s = serve;
    await until(s, () => s.stderr().includes(`waiting for a reader on the FIFO ${fifo}`), 'waiting message');
    expect(s.stdout.length).toBe(0); // not ready before a reader: it would miss packets
    const got: Buffer[] = [];
    const reader = createReadStream(fifo);
    reader.on('data', (d) => got.push(d as Buffer));
    const ended = new Promise<void>((done) => reader.on('close', () => done()));
    await until(s, () => /^ready /m.test(Buffer.concat(s.stdout).toString()), 'ready');
    const r = await inNs(ns, 'curl', ['-sS', '--max-time', '10', 'http://198.18.0.2/bytes/5000', '-o', '/dev/null', '-w', '%{http_code}']);
    expect(r.stdout).toBe('200');
    await until(s, () => got.length > 0 && parse(Buffer.concat(got)).blocks.some((b) => b.kind === 'epb'), 'packets on the FIFO');
    expect(await stop(s)).toBe(0);
    await ended;
    const file = parse(Buffer.concat(got));
    expect(file.problems).toEqual([]);
    expect(file.blocks.filter((b) => b.kind === 'epb').length).toBeGreaterThanOrEqual(8);
    const decoded = await tsharkHttp(Buffer.concat(got));
    expect(decoded).toMatch(/\/bytes\/5000/);
  });
});
