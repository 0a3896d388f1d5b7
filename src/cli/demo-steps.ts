// The demo's steps, in order: each drives one conversation from the kernel side (curl, ping, a UDP probe)
// or from tunstack (its HTTP client), waits until the connection is closed, and says what happened in
// one line under the timeline. Every child process is registered so Ctrl-C or a failure can kill it.

import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import type { RunningStack } from './running-stack.js';
import type { Timeline } from './timeline.js';

export interface DemoContext {
  ns: string;
  running: RunningStack;
  timeline: Timeline;
  say: (line: string) => void;
  /** The local CA that signed tunstack's certificate (curl --cacert). */
  caPath: string;
  /** Processes started by the demo, killed by its exit handler if still running. */
  children: Set<ChildProcess>;
  color: boolean;
}

interface Run {
  code: number;
  out: string;
}

/** Runs cmd inside the namespace (on the kernel side), bounded; never rejects. */
function inNs(ctx: DemoContext, cmd: string, args: string[], timeoutMs = 8000): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn('ip', ['netns', 'exec', ctx.ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    ctx.children.add(child);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      ctx.children.delete(child);
      resolve({ code: 127, out: `${cmd}: ${e.message}` });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      ctx.children.delete(child);
      resolve({ code: code ?? 1, out });
    });
  });
}

function waitFor(pred: () => boolean, maxMs: number): Promise<boolean> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const tick = () => {
      if (pred()) resolve(true);
      else if (performance.now() - t0 > maxMs) resolve(false);
      else setTimeout(tick, 10);
    };
    tick();
  });
}

/** Lets the last packets of a step (a FIN's ACK, a TIME-WAIT's end) reach the timeline before the next. */
async function settle(ctx: DemoContext, maxMs = 1500): Promise<void> {
  await waitFor(() => ctx.running.stack.tcp.size === 0, maxMs);
  await new Promise((r) => setTimeout(r, 30));
}

function result(ctx: DemoContext, good: boolean, text: string): boolean {
  const mark = good ? '✔' : '✘';
  const paint = ctx.color ? (good ? '\x1b[32m' : '\x1b[31m') : '';
  ctx.say(`${paint}   ${mark} ${text}${ctx.color ? '\x1b[0m' : ''}`);
  return good;
}

function lines(out: string, re: RegExp): string[] {
  return out.split('\n').filter((l) => re.test(l)).map((l) => l.trim());
}

export async function runDemoSteps(ctx: DemoContext): Promise<boolean> {
  const t = ctx.timeline;
  let ok = true;

  t.section('ping 198.18.0.2: the kernel sends an ICMP echo request, tunstack answers (RFC 792)');
  const ping = await inNs(ctx, 'ping', ['-c', '1', '-W', '2', '198.18.0.2']);
  ok = result(ctx, ping.code === 0, `ping: ${lines(ping.out, /transmitted/)[0] ?? ping.out.trim()}`) && ok;

  t.section('HTTP: curl fetches /echo and /bytes/1000 over ONE keep-alive connection (node:http on tunstack TCP)');
  const http = await inNs(ctx, 'curl', ['-sS', '-v', '--http1.1', '--max-time', '5', '-o', '/dev/null', '-o', '/dev/null', 'http://198.18.0.2/echo', 'http://198.18.0.2/bytes/1000']);
  await settle(ctx);
  const statuses = lines(http.out, /^< HTTP\//).map((l) => l.slice(2));
  const reused = /Re-using existing connection/.test(http.out);
  ok = result(ctx, http.code === 0 && statuses.length === 2 && reused, `curl: ${statuses.join(', ') || `exit ${http.code}`}${reused ? ' — the second request re-used the connection' : ''}`) && ok;

  t.section(`HTTPS: curl --cacert <the local CA> https://198.18.0.2/echo — tunstack's TLS 1.3 (RFC 8446), certificate verified`);
  const https = await inNs(ctx, 'curl', ['-sS', '-v', '--http1.1', '--max-time', '8', '--cacert', ctx.caPath, '-o', '/dev/null', 'https://198.18.0.2/echo']);
  await settle(ctx);
  const tls = lines(https.out, /SSL connection using|SSL certificate verify|^< HTTP\//);
  ok = result(ctx, https.code === 0, `curl: ${tls.map((l) => l.replace(/^[*<] /, '')).join('; ') || https.out.trim().split('\n').at(-1)}`) && ok;

  t.section('tunstack get http://198.18.0.1:8080/ — tunstack as the client (active open), closing first: FIN-WAIT-1 … TIME-WAIT');
  ok = (await getFromKernel(ctx)) && ok;

  t.section('curl http://198.18.0.2:9/ — nobody listens there: tunstack answers the SYN with RST,ACK (RFC 9293 §3.10.7.1)');
  const refused = await inNs(ctx, 'curl', ['-sS', '--max-time', '3', 'http://198.18.0.2:9/']);
  ok = result(ctx, refused.code === 7, `curl: ${lines(refused.out, /curl:/)[0] ?? `exit ${refused.code}`}`) && ok;

  t.section('UDP to port 9: ICMP port unreachable (RFC 1122 §4.1.3.1)');
  const udp = await inNs(ctx, process.execPath, ['-e', UDP_PROBE]);
  ok = result(ctx, /ECONNREFUSED/.test(udp.out), udp.out.trim()) && ok;
  await new Promise((r) => setTimeout(r, 30));
  return ok;
}

/** A node:http server on the kernel side, and tunstack's own HTTP client (what `tunstack get` runs) against it. */
async function getFromKernel(ctx: DemoContext): Promise<boolean> {
  const server = spawn('ip', ['netns', 'exec', ctx.ns, process.execPath, '-e', KERNEL_SERVER], { stdio: ['ignore', 'pipe', 'ignore'] });
  ctx.children.add(server);
  try {
    const started = await new Promise<boolean>((resolve) => {
      server.stdout!.once('data', () => resolve(true));
      server.once('exit', () => resolve(false));
      server.once('error', () => resolve(false));
    });
    if (!started) return result(ctx, false, 'the kernel-side server did not start');
    const got = await fetchThrough(ctx.running, 'http://198.18.0.1:8080/').catch((e: Error) => ({ status: 0, text: e.message }));
    // Our close went first: FIN-WAIT-1 → FIN-WAIT-2 → TIME-WAIT, which ends after 2×MSL (0.5 s here).
    await settle(ctx, 3000);
    return result(ctx, got.status === 200, `tunstack get: ${got.status || 'failed'} ${JSON.stringify(got.text.trim())}`);
  } finally {
    server.kill('SIGKILL');
    ctx.children.delete(server);
  }
}

// A tiny node:http server on the kernel side of the TUN, inside the namespace (ends itself after 20 s).
const KERNEL_SERVER = `
require('http').createServer((req, res) => res.end('hello from the kernel side, ' + req.socket.remoteAddress + '\\n'))
  .listen(8080, '0.0.0.0', () => console.log('ready'));
setTimeout(() => process.exit(0), 20000).unref();
`;

/**
 * GET through tunstack's own TCP (active open), closing first, as `tunstack get` does. Keep-alive, so
 * the server waits for our FIN instead of racing us with its own (a simultaneous close: CLOSING).
 */
function fetchThrough(running: RunningStack, url: string): Promise<{ status: number; text: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = running.stack.connect({ host: u.hostname, port: Number(u.port) });
    const req = request(
      { host: u.hostname, port: Number(u.port), path: u.pathname, headers: { 'User-Agent': 'tunstack', Connection: 'keep-alive' }, createConnection: () => socket },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          socket.end();
          resolve({ status: res.statusCode ?? 0, text });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

// Runs inside the namespace: a connected UDP socket learns of the ICMP error as ECONNREFUSED.
const UDP_PROBE = `
const s = require('node:dgram').createSocket('udp4');
let done = false;
const finish = (m) => { if (done) return; done = true; console.log(m); s.close(); };
const t = setTimeout(() => finish('no answer within 2 s'), 2000);
s.on('error', (e) => { clearTimeout(t); finish('UDP to 198.18.0.2:9 -> ' + e.code + ' (the ICMP port unreachable reached the sender)'); });
s.connect(9, '198.18.0.2', () => { s.send('hello'); setTimeout(() => { if (!done) s.send('again'); }, 100); });
`;
