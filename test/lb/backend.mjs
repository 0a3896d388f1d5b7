// A test backend for the lb interop tests, run on the kernel side of a namespace:
//   node backend.mjs ADDR PORT ID [SLOW_MS]
// GET / answers "ID\n" (GET /slow too, after SLOW_MS); GET /bytes/N answers N pattern bytes (patternBytes below); GET /health 200.
// Every response closes its connection, so each request is a new flow. Prints "listening" when ready.
import { createServer } from 'node:http';

const [addr, port, id, slowMs] = process.argv.slice(2);
const slow = Number(slowMs ?? 0);

/** Byte i of the pattern stream: the same formula as patternSha256 in lb-env.ts. */
function patternChunk(off, len) {
  const b = Buffer.allocUnsafe(len);
  for (let i = 0; i < len; i++) {
    const x = off + i;
    b[i] = (x * 31 + (x >>> 11) * 7 + (x >>> 19)) & 0xff;
  }
  return b;
}

const server = createServer((req, res) => {
  res.setHeader('Connection', 'close');
  const m = /^\/bytes\/(\d+)/.exec(req.url ?? '');
  if (m) {
    const n = Number(m[1]);
    res.writeHead(200, { 'content-length': String(n), 'x-backend': id });
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
    return pump();
  }
  const reply = () => {
    res.writeHead(200, { 'content-type': 'text/plain', 'x-backend': id });
    res.end(`${id}\n`);
  };
  if (slow > 0 && (req.url ?? '').startsWith('/slow')) setTimeout(reply, slow);
  else reply();
});
server.listen(Number(port), addr, () => process.stdout.write('listening\n'));
for (const s of ['SIGTERM', 'SIGINT']) process.on(s, () => process.exit(0));
