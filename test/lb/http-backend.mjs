// A keep-alive HTTP(S) test backend for the L7 interop tests, run on the kernel side of a namespace:
//   node http-backend.mjs ADDR PORT ID [CERT.pem KEY.pem]     (with a certificate: HTTPS)
// Every response carries `x-backend: ID`. Routes:
//   /echo…                 JSON {id, method, url, headers (as received, lower-case), body bytes}
//   /bytes/N               N deterministic pattern bytes (content-length; same formula as lb-env.ts)
//   /chunked/N             the same N bytes, chunked (no content-length)
//   …/sink                 (any method with a body) the sha256 and length of what it received
//   /cache/max-age/S…      Cache-Control: public, max-age=S; the body names the backend and a serial
//   /cache/no-store…       Cache-Control: no-store
//   /slow/MS…              answers after MS milliseconds
//   /health                200 "ok" (not counted)
//   /garbage               a malformed response head (not counted)
//   /__stats               JSON {connections, requests, paths} (not counted): connections that carried
//                          at least one counted request, and the counted requests per path
//   anything else          "ID\n"
// Prints "listening" when ready. Keep-alive idle timeout 30 s (longer than the proxy's pool idle).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer as createHttp } from 'node:http';
import { createServer as createHttps } from 'node:https';

const [addr, port, id, certPath, keyPath] = process.argv.slice(2);

function patternChunk(off, len) {
  const b = Buffer.allocUnsafe(len);
  for (let i = 0; i < len; i++) {
    const x = off + i;
    b[i] = (x * 31 + (x >>> 11) * 7 + (x >>> 19)) & 0xff;
  }
  return b;
}

let connections = 0;
let requests = 0;
let serial = 0;
const paths = {};
const counted = new WeakSet();

function sendPattern(res, n) {
  let off = 0;
  const pump = () => {
    while (off < n) {
      const len = Math.min(1 << 16, n - off);
      const ok = res.write(patternChunk(off, len));
      off += len;
      if (!ok) return res.once('drain', pump);
    }
    res.end();
  };
  pump();
}

function handler(req, res) {
  const url = req.url ?? '/';
  const path = url.split('?')[0];
  if (path === '/health') return res.end('ok\n');
  if (path === '/__stats') {
    res.writeHead(200, { 'content-type': 'application/json' });
    return res.end(JSON.stringify({ id, connections, requests, paths }) + '\n');
  }
  if (path === '/garbage') {
    // A malformed response: a Content-Length that is not a number (RFC 9112 §6.3 makes it invalid).
    return req.socket.end('HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\nxx');
  }
  requests++;
  paths[path] = (paths[path] ?? 0) + 1;
  if (!counted.has(req.socket)) {
    counted.add(req.socket);
    connections++;
  }
  res.setHeader('x-backend', id);
  let m;
  if (/(^|\/)sink$/.test(path)) {
    const h = createHash('sha256');
    let bytes = 0;
    req.on('data', (d) => {
      h.update(d);
      bytes += d.length;
    });
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`${h.digest('hex')} ${bytes}\n`);
    });
    return;
  }
  // Every other route ignores a request body (but reads it, so the connection stays usable).
  req.resume();
  if (path.startsWith('/echo')) {
    let bytes = 0;
    req.on('data', (d) => (bytes += d.length));
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id, method: req.method, url, headers: req.headers, rawHeaders: req.rawHeaders, body: bytes }) + '\n');
    });
    return;
  }
  if ((m = /^\/bytes\/(\d+)$/.exec(path))) {
    const n = Number(m[1]);
    res.writeHead(200, { 'content-length': String(n), 'content-type': 'application/octet-stream' });
    return sendPattern(res, n);
  }
  if ((m = /^\/chunked\/(\d+)$/.exec(path))) {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    return sendPattern(res, Number(m[1]));
  }
  if ((m = /^\/cache\/max-age\/(\d+)/.exec(path))) {
    res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': `public, max-age=${m[1]}` });
    return res.end(`${id} ${++serial}\n`);
  }
  if (path.startsWith('/cache/no-store')) {
    res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-store' });
    return res.end(`${id} ${++serial}\n`);
  }
  if ((m = /^\/slow\/(\d+)/.exec(path))) {
    const t = setTimeout(() => res.end(`${id}\n`), Number(m[1]));
    res.on('close', () => clearTimeout(t));
    return;
  }
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end(`${id}\n`);
}

const opts = { maxHeaderSize: 64 * 1024 };
const server = certPath ? createHttps({ ...opts, cert: readFileSync(certPath), key: readFileSync(keyPath) }, handler) : createHttp(opts, handler);
server.keepAliveTimeout = 30_000;
server.headersTimeout = 35_000;
server.listen(Number(port), addr, () => process.stdout.write('listening\n'));
for (const s of ['SIGTERM', 'SIGINT']) process.on(s, () => process.exit(0));
