// The HTTP application tunstack serves: a node:http request handler (static files or a built-in
// page, /echo, /bytes/N, /sink) that knows nothing about the transport underneath it.

import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream';

export interface HttpAppOptions {
  /** Directory to serve at `/`; without it `/` is a built-in page. */
  root?: string;
  /** Largest N accepted by `/bytes/N` (default 1 GiB). */
  maxBytes?: number;
}

/** Default cap for `/bytes/N`. */
export const DEFAULT_MAX_BYTES = 1024 * 1024 * 1024;
/** `/bytes/N` is generated and written this many bytes at a time; file reads use the same size. */
export const BYTES_CHUNK = 64 * 1024;

// ── The /bytes/N pattern ────────────────────────────────────────────────────────────────────────
// The stream is a sequence of 32-bit words stored little-endian: byte i is byte (i mod 4) of word
// w(floor(i / 4)), where for a word index k = hi·2^32 + lo
//     w(k) = fmix32(lo XOR 0x9e3779b9 XOR fmix32(hi))
// and fmix32 is MurmurHash3's 32-bit finalizer (a bijection). Below 16 GiB (hi = 0, fmix32(0) = 0)
// this is simply w(k) = fmix32(k XOR 0x9e3779b9). Every 4-byte word of the first 16 GiB is
// distinct, so a duplicated, dropped or misplaced TCP segment anywhere changes the sha256; it costs
// two multiplies per word (~2 GB/s in V8).

const WORD_SEED = 0x9e3779b9;
const TWO_32 = 0x1_0000_0000;

function fmix32(x: number): number {
  let h = x;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function wordAt(k: number): number {
  const lo = k >>> 0; // ToUint32 is k mod 2^32, exact for any safe integer
  const hi = (k - lo) / TWO_32;
  return fmix32((lo ^ WORD_SEED ^ fmix32(hi)) >>> 0);
}

function byteAt(i: number): number {
  const r = i % 4;
  return (wordAt((i - r) / 4) >>> (8 * r)) & 0xff;
}

/** Fills `out` with the pattern bytes [offset, offset + out.length). */
function fillDeterministic(out: Uint8Array, offset: number): void {
  const n = out.length;
  let i = 0;
  while (i < n && (offset + i) % 4 !== 0) {
    out[i] = byteAt(offset + i);
    i++;
  }
  if (n - i >= 4) {
    const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
    const k = (offset + i) / 4;
    let lo = k >>> 0;
    let hiMix = (WORD_SEED ^ fmix32((k - lo) / TWO_32)) >>> 0;
    let hi = (k - lo) / TWO_32;
    for (; i + 4 <= n; i += 4) {
      view.setUint32(i, fmix32((lo ^ hiMix) >>> 0), true);
      lo = (lo + 1) >>> 0;
      if (lo === 0) {
        hi += 1;
        hiMix = (WORD_SEED ^ fmix32(hi)) >>> 0;
      }
    }
  }
  for (; i < n; i++) out[i] = byteAt(offset + i);
}

/** Bytes [offset, offset + length) of the `/bytes/N` stream (see the pattern above). */
export function deterministicBytes(offset: number, length: number): Uint8Array {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`bad offset ${offset}`);
  if (!Number.isSafeInteger(length) || length < 0 || !Number.isSafeInteger(offset + length)) {
    throw new RangeError(`bad length ${length}`);
  }
  const out = new Uint8Array(length);
  fillDeterministic(out, offset);
  return out;
}

// ── Small response helpers ──────────────────────────────────────────────────────────────────────

const SERVER = 'tunstack';

function sendText(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string> = {},
  contentType = 'text/plain; charset=utf-8',
): void {
  const body = Buffer.from(text, 'utf8');
  res.writeHead(status, {
    Server: SERVER,
    'Content-Type': contentType,
    'Content-Length': String(body.length),
    ...headers,
  });
  if (req.method === 'HEAD') res.end();
  else res.end(body);
}

function methodNotAllowed(req: IncomingMessage, res: ServerResponse, allow: string): void {
  sendText(req, res, 405, `method ${req.method ?? '?'} not allowed; allowed: ${allow}\n`, { Allow: allow });
}

/** Ends the exchange abruptly (client gone, stream error): nothing logged, nothing thrown. */
function abort(res: ServerResponse): void {
  if (!res.destroyed) res.destroy();
}

// ── /echo ───────────────────────────────────────────────────────────────────────────────────────

function serveEcho(req: IncomingMessage, res: ServerResponse): void {
  let text = `${req.method ?? ''} ${req.url ?? ''} HTTP/${req.httpVersion}\r\n`;
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) text += `${raw[i]}: ${raw[i + 1]}\r\n`;
  text += '\r\n';
  // Node decodes header bytes as latin1; encoding back the same way mirrors them byte for byte.
  const head = Buffer.from(text, 'latin1');
  const headers: Record<string, string> = { Server: SERVER, 'Content-Type': 'text/plain' };
  const declared = req.headers['content-length'];
  const chunked = req.headers['transfer-encoding'] !== undefined;
  if (!chunked && (declared === undefined || /^\d{1,15}$/.test(declared))) {
    headers['Content-Length'] = String(head.length + (declared === undefined ? 0 : Number(declared)));
  } // else: no length known in advance, so Node frames the response with chunked encoding
  res.writeHead(200, headers);
  res.write(head);
  // The body streams straight back with the reader's backpressure; an abort on either side tears
  // both down.
  pipeline(req, res, (err) => {
    if (err) abort(res);
  });
}

// ── /bytes/N ────────────────────────────────────────────────────────────────────────────────────

function serveBytes(req: IncomingMessage, res: ServerResponse, arg: string, maxBytes: number): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') return methodNotAllowed(req, res, 'GET, HEAD');
  const n = /^\d{1,16}$/.test(arg) ? Number(arg) : NaN;
  if (!Number.isSafeInteger(n) || n > maxBytes) {
    return sendText(req, res, 400, `bad request: /bytes/N needs a decimal N with 0 <= N <= ${maxBytes}\n`);
  }
  res.writeHead(200, {
    Server: SERVER,
    'Content-Type': 'application/octet-stream',
    'Content-Length': String(n),
  });
  if (req.method === 'HEAD' || n === 0) {
    res.end();
    return;
  }
  let sent = 0;
  const pump = (): void => {
    // One chunk in hand at a time; when write() says the buffers are full, wait for 'drain'.
    while (!res.destroyed && !res.writableEnded) {
      const len = Math.min(BYTES_CHUNK, n - sent);
      const chunk = Buffer.allocUnsafe(len);
      fillDeterministic(chunk, sent);
      sent += len;
      if (sent === n) {
        res.end(chunk);
        return;
      }
      if (!res.write(chunk)) {
        res.once('drain', pump);
        return;
      }
    }
  };
  res.once('close', () => res.off('drain', pump));
  pump();
}

// ── /sink ───────────────────────────────────────────────────────────────────────────────────────

function serveSink(req: IncomingMessage, res: ServerResponse): void {
  if (req.method !== 'POST') return methodNotAllowed(req, res, 'POST');
  const hash = createHash('sha256');
  let bytes = 0;
  req.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    hash.update(chunk);
  });
  req.on('end', () => {
    const body = JSON.stringify({ bytes, sha256: hash.digest('hex') });
    sendText(req, res, 200, `${body}\n`, {}, 'application/json');
  });
  req.on('close', () => {
    if (!req.complete) abort(res); // the client went away mid-body
  });
}

// ── / : the built-in page ───────────────────────────────────────────────────────────────────────

function builtInPage(maxBytes: number): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>tunstack</title></head>
<body>
<h1>tunstack</h1>
<p>This page was served by Node's <code>http.Server</code> running on tunstack, a userspace TCP/IPv4
stack written in TypeScript that owns an address on a Linux TUN device. Every byte you received
was segmented, checksummed and acknowledged by tunstack, not by the kernel.</p>
<h2>Routes</h2>
<ul>
<li><code>GET /</code> &mdash; this page (or the files of <code>--root DIR</code>)</li>
<li><code>ANY /echo</code> &mdash; the request line, headers and body sent back as text/plain</li>
<li><code>GET /bytes/N</code> &mdash; exactly N deterministic bytes (0 &le; N &le; ${maxBytes}),
streamed with backpressure</li>
<li><code>POST /sink</code> &mdash; reads the body and answers <code>{"bytes": n, "sha256": "&hellip;"}</code></li>
</ul>
</body>
</html>
`;
}

// ── / with a root directory ─────────────────────────────────────────────────────────────────────

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.xml': 'application/xml',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.pdf': 'application/pdf',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.mp4': 'video/mp4',
  '.webm': 'video/webm',
  '.mp3': 'audio/mpeg',
  '.zip': 'application/zip',
  '.gz': 'application/gzip',
  '.tar': 'application/x-tar',
  '.pcapng': 'application/octet-stream',
};

export function contentTypeFor(file: string): string {
  return CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

type Resolved =
  | { kind: 'file'; real: string }
  | { kind: 'redirect'; location: string }
  | { kind: 'error'; status: number; text: string };

function inside(rootReal: string, real: string): boolean {
  return real === rootReal || real.startsWith(rootReal.endsWith(path.sep) ? rootReal : rootReal + path.sep);
}

/** The answer for a failed filesystem call. */
function fsError(err: unknown): { status: number; text: string } {
  const code = err instanceof Error && 'code' in err ? String(err.code) : '';
  if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENAMETOOLONG') return { status: 404, text: 'not found\n' };
  if (code === 'EACCES' || code === 'EPERM' || code === 'ELOOP') return { status: 403, text: 'forbidden\n' };
  return { status: 500, text: 'internal error\n' };
}

const FORBIDDEN: Resolved = { kind: 'error', status: 403, text: 'forbidden\n' };

/**
 * Maps a request path onto a regular file under `root`. Refused: undecodable or NUL-bearing paths
 * (400), any `..` segment, raw or percent-encoded (403), and anything whose real path (symlinks
 * resolved) lies outside the root's real path (403). Absolute-looking paths (`//etc/passwd`) are
 * joined under the root, never resolved from `/`.
 */
async function resolveInRoot(root: string, rawPath: string, query: string): Promise<Resolved> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return { kind: 'error', status: 400, text: 'bad request: malformed percent-encoding\n' };
  }
  if (decoded.includes('\0')) return { kind: 'error', status: 400, text: 'bad request: NUL in path\n' };
  const segments = decoded.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) return FORBIDDEN;

  let rootReal: string;
  try {
    rootReal = await fsp.realpath(root);
  } catch {
    return { kind: 'error', status: 500, text: 'root directory unavailable\n' };
  }
  const candidate = path.join(rootReal, ...segments);
  if (!inside(rootReal, candidate)) return FORBIDDEN;
  try {
    let real = await fsp.realpath(candidate);
    if (!inside(rootReal, real)) return FORBIDDEN; // a symlink pointing out of the root
    let st = await fsp.stat(real);
    if (st.isDirectory()) {
      if (!rawPath.endsWith('/')) {
        // Built from the clean segments, so `//host` can never become a protocol-relative Location.
        const location = `/${segments.map(encodeURIComponent).join('/')}/${query}`;
        return { kind: 'redirect', location };
      }
      real = await fsp.realpath(path.join(real, 'index.html'));
      if (!inside(rootReal, real)) return FORBIDDEN;
      st = await fsp.stat(real);
    }
    // FIFOs, devices and sockets would block or misbehave if streamed.
    if (!st.isFile()) return FORBIDDEN;
    return { kind: 'file', real };
  } catch (err) {
    return { kind: 'error', ...fsError(err) };
  }
}

async function serveFile(req: IncomingMessage, res: ServerResponse, real: string): Promise<void> {
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(real, 'r');
  } catch (err) {
    const e = fsError(err); // e.g. removed or made unreadable since it was resolved
    return sendText(req, res, e.status, e.text);
  }
  let streaming = false;
  try {
    const st = await handle.stat(); // the size of what we actually opened
    if (!st.isFile()) return sendText(req, res, 403, 'forbidden\n');
    res.writeHead(200, {
      Server: SERVER,
      'Content-Type': contentTypeFor(real),
      'Content-Length': String(st.size),
      'Last-Modified': st.mtime.toUTCString(),
    });
    if (req.method === 'HEAD' || st.size === 0) {
      res.end();
      return;
    }
    const stream = handle.createReadStream({ start: 0, end: st.size - 1, highWaterMark: BYTES_CHUNK });
    streaming = true; // the stream owns the handle now (autoClose)
    const socket = res.socket; // res lets go of it once finished
    // pipeline honours res.write() backpressure and destroys both ends on any error or abort.
    pipeline(stream, res, (err) => {
      // A file that shrank after stat: the promised Content-Length can't be met, so cut the
      // connection rather than leave the client waiting (or desynchronise keep-alive).
      if (err) abort(res);
      else if (stream.bytesRead !== st.size) socket?.destroy();
    });
  } finally {
    if (!streaming) await handle.close().catch(() => undefined);
  }
}

// ── The router ──────────────────────────────────────────────────────────────────────────────────

/** Splits a request-target (origin-form or absolute-form) into its raw path and `?query`. */
function splitTarget(url: string): { path: string; query: string } | undefined {
  let target = url;
  if (!target.startsWith('/')) {
    // absolute-form (RFC 9112 §3.2.2): keep the path exactly as sent, un-normalised.
    const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*(.*)$/.exec(target);
    if (!m) return undefined;
    target = m[1] === undefined || m[1] === '' ? '/' : m[1];
    if (!target.startsWith('/')) target = `/${target}`;
  }
  const hash = target.indexOf('#');
  if (hash >= 0) target = target.slice(0, hash);
  const q = target.indexOf('?');
  return q < 0 ? { path: target, query: '' } : { path: target.slice(0, q), query: target.slice(q) };
}

/**
 * The handler for `http.createServer(createHttpApp(opts))`. Routes: `/echo` (any method),
 * `/bytes/N` (GET, HEAD), `/sink` (POST), and everything else from `root` (GET, HEAD) or, without
 * a root, the built-in page at `/`. The fixed routes win over files of the same name.
 */
export function createHttpApp(opts: HttpAppOptions = {}): (req: IncomingMessage, res: ServerResponse) => void {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
    throw new RangeError(`maxBytes must be a non-negative integer, got ${maxBytes}`);
  }
  const root = opts.root === undefined ? undefined : path.resolve(opts.root);
  const page = builtInPage(maxBytes);

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const target = splitTarget(req.url ?? '');
    if (!target) return sendText(req, res, 400, 'bad request: unsupported request-target\n');
    const p = target.path;
    if (p === '/echo') return serveEcho(req, res);
    if (p.startsWith('/bytes/')) return serveBytes(req, res, p.slice('/bytes/'.length), maxBytes);
    if (p === '/sink') return serveSink(req, res);

    if (root === undefined) {
      if (p !== '/' && p !== '/index.html') return sendText(req, res, 404, 'not found\n');
      if (req.method !== 'GET' && req.method !== 'HEAD') return methodNotAllowed(req, res, 'GET, HEAD');
      return sendText(req, res, 200, page, {}, 'text/html; charset=utf-8');
    }
    const found = await resolveInRoot(root, p, target.query);
    if (found.kind === 'error') return sendText(req, res, found.status, found.text);
    if (req.method !== 'GET' && req.method !== 'HEAD') return methodNotAllowed(req, res, 'GET, HEAD');
    if (found.kind === 'redirect') {
      return sendText(req, res, 301, `moved to ${found.location}\n`, { Location: found.location });
    }
    return serveFile(req, res, found.real);
  };

  return (req, res) => {
    // Never let a stream error become an unhandled 'error' event (which would kill the process).
    res.on('error', () => abort(res));
    req.on('error', () => abort(res));
    route(req, res).catch(() => {
      if (!res.headersSent && !res.destroyed) sendText(req, res, 500, 'internal error\n');
      else abort(res);
    });
  };
}
