// The HTTP app (src/apps/http-handler.ts) over ordinary loopback TCP: the built-in page, static
// files and traversal refusals, /echo, /bytes/N with backpressure, /sink, errors and keep-alive.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  BYTES_CHUNK,
  contentTypeFor,
  createHttpApp,
  deterministicBytes,
  type HttpAppOptions,
} from '../../src/apps/http-handler.js';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

interface Running {
  port: number;
  /** How many TCP connections the server accepted. */
  connections(): number;
  close(): Promise<void>;
}

const servers: Running[] = [];

async function start(handler: Handler): Promise<Running> {
  const server = http.createServer(handler);
  let connections = 0;
  server.on('connection', () => {
    connections++;
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const running: Running = {
    port: (server.address() as AddressInfo).port,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  servers.push(running);
  return running;
}

const startApp = (opts?: HttpAppOptions): Promise<Running> => start(createHttpApp(opts));

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  socket: unknown;
}

interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  /** Sent in one write (with Content-Length unless a Transfer-Encoding header is given). */
  body?: Uint8Array | string;
  agent?: http.Agent | false;
}

/** One request with the raw path exactly as given (http.request does not normalise it). */
function request(port: number, rawPath: string, opts: RequestOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...opts.headers };
    const chunked = Object.keys(headers).some((h) => h.toLowerCase() === 'transfer-encoding');
    if (opts.body !== undefined && !chunked) headers['Content-Length'] = String(Buffer.byteLength(opts.body));
    const req = http.request(
      { host: '127.0.0.1', port, path: rawPath, method: opts.method ?? 'GET', headers, agent: opts.agent ?? false },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('error', reject);
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts), socket: res.socket }),
        );
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** sha256 of deterministicBytes(0, n), computed a chunk at a time. */
function expectedSha256(n: number): string {
  const h = createHash('sha256');
  for (let off = 0; off < n; off += BYTES_CHUNK) h.update(deterministicBytes(off, Math.min(BYTES_CHUNK, n - off)));
  return h.digest('hex');
}

// A byte-at-a-time reference for the documented pattern, with BigInt word indices so it is
// independent of the fast path's 32-bit wrap-around bookkeeping.
function fmix32(x: number): number {
  let h = x;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
function referenceByte(i: number): number {
  const k = BigInt(i) / 4n;
  const lo = Number(k & 0xffffffffn);
  const hi = Number(k >> 32n);
  const w = fmix32((lo ^ 0x9e3779b9 ^ fmix32(hi)) >>> 0);
  return (w >>> (8 * (i % 4))) & 0xff;
}

describe('deterministicBytes', () => {
  it('starts_with_the_documented_words', () => {
    expect(Buffer.from(deterministicBytes(0, 8)).toString('hex')).toBe('0e2fca9203b5de36');
  });

  it('matches_the_byte_at_a_time_reference_at_unaligned_offsets_and_past_16_gib', () => {
    const starts = [0, 1, 2, 3, 5, 4093, 65535, 2 ** 34 - 7, 2 ** 34 + 1, 2 ** 40 + 3];
    for (const start of starts) {
      for (const len of [0, 1, 3, 4, 7, 13]) {
        const got = deterministicBytes(start, len);
        const want = Uint8Array.from({ length: len }, (_, j) => referenceByte(start + j));
        expect(got, `offset ${start} length ${len}`).toEqual(want);
      }
    }
  });

  it('gives_any_range_as_a_slice_of_the_whole_stream', () => {
    const whole = deterministicBytes(0, 10_007);
    for (const [off, len] of [[0, 10_007], [1, 9000], [3, 4], [4097, 5000], [10_000, 7]] as const) {
      expect(deterministicBytes(off, len)).toEqual(whole.subarray(off, off + len));
    }
  });

  it('is_not_a_constant_or_short_period_pattern', () => {
    const b = deterministicBytes(0, 1 << 16);
    const seen = new Set(b);
    expect(seen.size).toBe(256);
    const words = new Set<number>();
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    for (let i = 0; i < b.length; i += 4) words.add(view.getUint32(i, true));
    expect(words.size).toBe(b.length / 4); // fmix32 is a bijection: every word is distinct
  });

  it('rejects_negative_fractional_and_unsafe_arguments', () => {
    expect(() => deterministicBytes(-1, 1)).toThrow(RangeError);
    expect(() => deterministicBytes(0.5, 1)).toThrow(RangeError);
    expect(() => deterministicBytes(0, -1)).toThrow(RangeError);
    expect(() => deterministicBytes(Number.MAX_SAFE_INTEGER, 2)).toThrow(RangeError);
  });
});

describe('createHttpApp options', () => {
  it('refuses_a_bad_maxBytes', () => {
    expect(() => createHttpApp({ maxBytes: -1 })).toThrow(RangeError);
    expect(() => createHttpApp({ maxBytes: 1.5 })).toThrow(RangeError);
  });

  it('maps_common_extensions_to_content_types', () => {
    expect(contentTypeFor('a/index.HTML')).toBe('text/html; charset=utf-8');
    expect(contentTypeFor('x.js')).toBe('text/javascript; charset=utf-8');
    expect(contentTypeFor('x.png')).toBe('image/png');
    expect(contentTypeFor('noext')).toBe('application/octet-stream');
  });
});

describe('the built-in page (no root)', () => {
  it('serves_an_html_page_that_names_tunstack_and_lists_the_routes', async () => {
    const s = await startApp();
    const r = await request(s.port, '/');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(Number(r.headers['content-length'])).toBe(r.body.length);
    const html = r.body.toString('utf8');
    expect(html).toContain('<title>tunstack</title>');
    for (const route of ['/echo', '/bytes/N', '/sink']) expect(html).toContain(route);
  });

  it('answers_head_with_the_length_and_no_body', async () => {
    const s = await startApp();
    const get = await request(s.port, '/');
    const head = await request(s.port, '/', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(get.headers['content-length']);
    expect(head.body.length).toBe(0);
  });

  it('answers_405_with_allow_for_post_and_404_for_unknown_paths', async () => {
    const s = await startApp();
    const post = await request(s.port, '/', { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
    const missing = await request(s.port, '/nope');
    expect(missing.status).toBe(404);
    expect(missing.headers['content-type']).toMatch(/^text\/plain/);
    expect(missing.body.toString()).toContain('not found');
  });

  it('answers_400_for_a_request_target_that_is_not_a_path', async () => {
    const s = await startApp();
    expect((await request(s.port, '*', { method: 'OPTIONS' })).status).toBe(400);
  });
});

describe('serving a root directory', () => {
  let base: string;
  let root: string;
  let outside: string;
  const SECRET = 'top-secret-outside-root';
  let fifoMade = false;

  beforeAll(async () => {
    base = await mkdtemp(path.join(os.tmpdir(), 'tunstack-http-'));
    root = path.join(base, 'root');
    outside = path.join(base, 'outside');
    await mkdir(path.join(root, 'sub'), { recursive: true });
    await mkdir(path.join(root, 'empty'), { recursive: true });
    await mkdir(outside);
    await writeFile(path.join(root, 'index.html'), '<h1>root index</h1>\n');
    await writeFile(path.join(root, 'style.css'), 'body { color: red }\n');
    await writeFile(path.join(root, 'data.bin'), deterministicBytes(0, 300_000));
    await writeFile(path.join(root, 'zero.txt'), '');
    await writeFile(path.join(root, 'sub', 'index.html'), '<p>sub index</p>\n');
    await writeFile(path.join(root, 'sub', 'a b.txt'), 'spaced\n');
    await writeFile(path.join(outside, 'secret.txt'), SECRET);
    await symlink(path.join(outside, 'secret.txt'), path.join(root, 'escape.txt'));
    await symlink(outside, path.join(root, 'link-out'));
    await symlink(path.join(root, 'style.css'), path.join(root, 'alias.css'));
    await mkdir(path.join(root, 'trap'));
    await symlink(path.join(outside, 'secret.txt'), path.join(root, 'trap', 'index.html'));
    try {
      execFileSync('mkfifo', [path.join(root, 'pipe.txt')]);
      fifoMade = true;
    } catch {
      fifoMade = false;
    }
  });

  afterAll(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it('serves_index_html_for_the_root_and_for_subdirectories', async () => {
    const s = await startApp({ root });
    const r = await request(s.port, '/');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.body.toString()).toBe('<h1>root index</h1>\n');
    expect(r.headers['content-length']).toBe(String(r.body.length));
    const sub = await request(s.port, '/sub/');
    expect(sub.body.toString()).toBe('<p>sub index</p>\n');
  });

  it('redirects_a_directory_without_its_trailing_slash', async () => {
    const s = await startApp({ root });
    const r = await request(s.port, '/sub?x=1');
    expect(r.status).toBe(301);
    expect(r.headers.location).toBe('/sub/?x=1');
    // Never a protocol-relative Location built from a `//host`-looking path.
    const r2 = await request(s.port, '//sub');
    expect(r2.status).toBe(301);
    expect(r2.headers.location).toBe('/sub/');
  });

  it('serves_files_with_content_type_and_length_byte_exact', async () => {
    const s = await startApp({ root });
    const css = await request(s.port, '/style.css');
    expect(css.status).toBe(200);
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    expect(css.body.toString()).toBe('body { color: red }\n');
    const bin = await request(s.port, '/data.bin');
    expect(bin.headers['content-type']).toBe('application/octet-stream');
    expect(bin.headers['content-length']).toBe('300000');
    expect(sha256(bin.body)).toBe(expectedSha256(300_000));
    const spaced = await request(s.port, '/sub/a%20b.txt');
    expect(spaced.body.toString()).toBe('spaced\n');
    const zero = await request(s.port, '/zero.txt');
    expect(zero.status).toBe(200);
    expect(zero.headers['content-length']).toBe('0');
  });

  it('answers_head_for_a_file_without_a_body', async () => {
    const s = await startApp({ root });
    const r = await request(s.port, '/data.bin', { method: 'HEAD' });
    expect(r.status).toBe(200);
    expect(r.headers['content-length']).toBe('300000');
    expect(r.body.length).toBe(0);
  });

  it('follows_symlinks_that_stay_inside_the_root', async () => {
    const s = await startApp({ root });
    const r = await request(s.port, '/alias.css');
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe('body { color: red }\n');
  });

  it('refuses_traversal_encoded_traversal_absolute_paths_and_escaping_symlinks', async () => {
    const s = await startApp({ root });
    const attempts = [
      '/../etc/passwd',
      '/%2e%2e/%2e%2e/etc/passwd',
      '/%2E%2E/%2E%2E/%2E%2E/etc/passwd',
      '/..%2f..%2f..%2fetc%2fpasswd',
      '/sub/../../outside/secret.txt',
      '/sub/%2e%2e/%2e%2e/outside/secret.txt',
      '//etc/passwd',
      `/${base}/outside/secret.txt`,
      'http://localhost/../outside/secret.txt',
      '/escape.txt',
      '/link-out/secret.txt',
      '/trap/',
    ];
    for (const attempt of attempts) {
      const r = await request(s.port, attempt);
      expect([403, 404], attempt).toContain(r.status);
      expect(r.body.toString(), attempt).not.toContain(SECRET);
      expect(r.body.toString(), attempt).not.toContain('root:');
    }
    expect((await request(s.port, '/../etc/passwd')).status).toBe(403);
    expect((await request(s.port, '/%2e%2e/%2e%2e/etc/passwd')).status).toBe(403);
    expect((await request(s.port, '/escape.txt')).status).toBe(403);
  });

  it('refuses_malformed_encodings_nul_bytes_and_non_regular_files', async () => {
    const s = await startApp({ root });
    expect((await request(s.port, '/%zz')).status).toBe(400);
    expect((await request(s.port, '/index.html%00.png')).status).toBe(400);
    expect((await request(s.port, '/empty/')).status).toBe(404); // no index.html, no listing
    if (fifoMade) expect((await request(s.port, '/pipe.txt')).status).toBe(403);
  });

  it('answers_404_for_missing_files_and_405_for_other_methods_on_existing_ones', async () => {
    const s = await startApp({ root });
    expect((await request(s.port, '/missing.html')).status).toBe(404);
    expect((await request(s.port, '/style.css/x')).status).toBe(404);
    const put = await request(s.port, '/style.css', { method: 'PUT', body: 'overwrite' });
    expect(put.status).toBe(405);
    expect(put.headers.allow).toBe('GET, HEAD');
  });

  it('still_routes_echo_bytes_and_sink_when_a_root_is_set', async () => {
    const s = await startApp({ root });
    expect((await request(s.port, '/bytes/3')).body).toEqual(Buffer.from(deterministicBytes(0, 3)));
    expect((await request(s.port, '/echo')).body.toString()).toMatch(/^GET \/echo HTTP\/1\.1\r\n/);
  });
});

describe('/echo', () => {
  it('mirrors_the_request_line_headers_as_received_and_the_body', async () => {
    const s = await startApp();
    const r = await request(s.port, '/echo?x=1&y=%20', {
      method: 'POST',
      headers: { 'X-Custom-Header': 'Hello There', 'content-type': 'text/plain' },
      body: 'the body\nline two',
    });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/plain');
    expect(r.headers['content-length']).toBe(String(r.body.length));
    const text = r.body.toString('latin1');
    expect(text.startsWith('POST /echo?x=1&y=%20 HTTP/1.1\r\n')).toBe(true);
    expect(text).toContain('\r\nX-Custom-Header: Hello There\r\n'); // original case kept
    expect(text).toContain('\r\ncontent-type: text/plain\r\n');
    expect(text).toContain(`\r\nHost: 127.0.0.1:${s.port}\r\n`);
    expect(text.endsWith('\r\n\r\nthe body\nline two')).toBe(true);
  });

  it('accepts_any_method_and_works_through_fetch', async () => {
    const s = await startApp();
    const r = await fetch(`http://127.0.0.1:${s.port}/echo`, {
      method: 'PATCH',
      headers: { 'x-from': 'fetch' },
      body: 'patched',
    });
    expect(r.status).toBe(200);
    const text = await r.text();
    expect(text).toMatch(/^PATCH \/echo HTTP\/1\.1\r\n/);
    expect(text).toMatch(/\r\nx-from: fetch\r\n/i);
    expect(text.endsWith('\r\n\r\npatched')).toBe(true);
  });

  it('streams_back_a_chunked_request_body_with_chunked_framing', async () => {
    const s = await startApp();
    const body = Buffer.from(deterministicBytes(0, 200_001));
    const r = await request(s.port, '/echo', {
      method: 'PUT',
      headers: { 'Transfer-Encoding': 'chunked' },
      body,
    });
    expect(r.status).toBe(200);
    expect(r.headers['transfer-encoding']).toBe('chunked');
    expect(r.headers['content-length']).toBeUndefined();
    const sep = r.body.indexOf('\r\n\r\n');
    expect(r.body.subarray(0, sep).toString('latin1')).toContain('Transfer-Encoding: chunked');
    expect(r.body.subarray(sep + 4).equals(body)).toBe(true);
  });

  it('answers_head_with_headers_only', async () => {
    const s = await startApp();
    const r = await request(s.port, '/echo', { method: 'HEAD' });
    expect(r.status).toBe(200);
    expect(r.body.length).toBe(0);
    expect(Number(r.headers['content-length'])).toBeGreaterThan(0);
  });

  it('routes_an_absolute_form_request_target', async () => {
    const s = await startApp();
    const r = await request(s.port, 'http://example.test/echo');
    expect(r.status).toBe(200);
    expect(r.body.toString()).toMatch(/^GET http:\/\/example\.test\/echo HTTP\/1\.1\r\n/);
  });
});

describe('/bytes/N', () => {
  it.each([0, 1, 4, 65_535, 65_536, 65_537, 1_000_003])('serves_exactly_%i_deterministic_bytes', async (n) => {
    const s = await startApp();
    const r = await request(s.port, `/bytes/${n}`);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/octet-stream');
    expect(r.headers['content-length']).toBe(String(n));
    expect(r.body.length).toBe(n);
    expect(r.body.equals(Buffer.from(deterministicBytes(0, n)))).toBe(true);
    expect(sha256(r.body)).toBe(expectedSha256(n));
  });

  it('answers_head_with_the_length_and_no_body', async () => {
    const s = await startApp();
    const r = await request(s.port, '/bytes/123456', { method: 'HEAD' });
    expect(r.status).toBe(200);
    expect(r.headers['content-length']).toBe('123456');
    expect(r.body.length).toBe(0);
  });

  it('answers_400_for_a_malformed_or_too_large_n', async () => {
    const s = await startApp({ maxBytes: 1000 });
    for (const bad of ['abc', '', '-1', '1.5', '1e3', '0x10', '12abc', '1001', '99999999999999999999']) {
      const r = await request(s.port, `/bytes/${bad}`);
      expect(r.status, bad).toBe(400);
    }
    expect((await request(s.port, '/bytes/1000')).body.length).toBe(1000);
    expect((await request(s.port, '/bytes/1/2')).status).toBe(400);
  });

  it('answers_405_with_allow_for_post', async () => {
    const s = await startApp();
    const r = await request(s.port, '/bytes/10', { method: 'POST', body: 'x' });
    expect(r.status).toBe(405);
    expect(r.headers.allow).toBe('GET, HEAD');
  });

  it('streams_64_mib_a_chunk_at_a_time_and_waits_for_drain_when_the_reader_stalls', async () => {
    const N = 64 * 1024 * 1024;
    const app = createHttpApp();
    let maxChunk = 0;
    let maxQueued = 0;
    let highWaterMark = 0;
    let falseReturns = 0;
    let drains = 0;
    let stalled!: () => void;
    const sawBackpressure = new Promise<void>((resolve) => {
      stalled = resolve;
    });
    // Watch every write the handler makes: its size, what is queued after it, and whether the
    // handler keeps writing after being told to stop (it must not: the queue would then grow).
    const s = await start((req, res) => {
      highWaterMark = res.writableHighWaterMark;
      const write = res.write.bind(res) as (chunk: Uint8Array) => boolean;
      res.write = ((chunk: Uint8Array) => {
        maxChunk = Math.max(maxChunk, chunk.length);
        const ok = write(chunk);
        maxQueued = Math.max(maxQueued, res.writableLength);
        if (!ok) {
          falseReturns++;
          stalled();
        }
        return ok;
      }) as typeof res.write;
      res.on('drain', () => drains++);
      app(req, res);
    });

    const result = await new Promise<{ bytes: number; hash: string }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('transfer did not finish in 50 s')), 50_000);
      http
        .get({ host: '127.0.0.1', port: s.port, path: `/bytes/${N}`, agent: false }, (res) => {
          res.pause(); // stall until the kernel buffers fill and the server sees write() === false
          const hash = createHash('sha256');
          let bytes = 0;
          void sawBackpressure.then(() => {
            res.on('data', (c: Buffer) => {
              bytes += c.length;
              hash.update(c);
            });
            res.resume();
          });
          res.on('end', () => {
            clearTimeout(timer);
            resolve({ bytes, hash: hash.digest('hex') });
          });
          res.on('error', reject);
        })
        .on('error', reject);
    });

    expect(result.bytes).toBe(N);
    expect(result.hash).toBe(expectedSha256(N));
    expect(falseReturns).toBeGreaterThan(0);
    expect(drains).toBeGreaterThan(0);
    expect(maxChunk).toBeLessThanOrEqual(BYTES_CHUNK);
    // Never more than what was queued when write() last said yes plus one chunk (and headers):
    // the handler stopped at every `false` instead of piling up the 64 MiB in memory.
    expect(maxQueued).toBeLessThanOrEqual(highWaterMark + BYTES_CHUNK + 1024);
  });
});

describe('/sink', () => {
  it('hashes_a_10_mib_body_and_reports_its_length', async () => {
    const s = await startApp();
    const N = 10 * 1024 * 1024;
    const body = deterministicBytes(12_345, N);
    const r = await request(s.port, '/sink', { method: 'POST', body });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.headers['content-length']).toBe(String(r.body.length));
    expect(JSON.parse(r.body.toString())).toEqual({ bytes: N, sha256: sha256(body) });
  });

  it('hashes_a_chunked_body_written_in_pieces', async () => {
    const s = await startApp();
    const reply = await new Promise<Reply>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: s.port, path: '/sink', method: 'POST', agent: false },
        (res) => {
          const parts: Buffer[] = [];
          res.on('data', (c: Buffer) => parts.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts), socket: res.socket }),
          );
        },
      );
      req.on('error', reject);
      for (let i = 0; i < 10; i++) req.write(deterministicBytes(i * 1000, 1000));
      req.end();
    });
    expect(JSON.parse(reply.body.toString())).toEqual({ bytes: 10_000, sha256: expectedSha256(10_000) });
  });

  it('answers_an_empty_body', async () => {
    const s = await startApp();
    const r = await request(s.port, '/sink', { method: 'POST', body: '' });
    expect(JSON.parse(r.body.toString())).toEqual({ bytes: 0, sha256: sha256(new Uint8Array(0)) });
  });

  it('answers_405_with_allow_for_get', async () => {
    const s = await startApp();
    const r = await request(s.port, '/sink');
    expect(r.status).toBe(405);
    expect(r.headers.allow).toBe('POST');
  });
});

describe('aborts and keep-alive', () => {
  it('survives_a_client_that_leaves_in_the_middle_of_a_large_download', async () => {
    const app = createHttpApp();
    let closedEarly!: () => void;
    const serverSawClose = new Promise<void>((resolve) => {
      closedEarly = resolve;
    });
    const s = await start((req, res) => {
      res.on('close', () => {
        if (!res.writableFinished) closedEarly();
      });
      app(req, res);
    });
    await new Promise<void>((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port: s.port, path: '/bytes/1073741824', agent: false }, (res) => {
        let got = 0;
        res.on('data', (c: Buffer) => {
          got += c.length;
          if (got >= 1 << 20) {
            req.destroy();
            resolve();
          }
        });
      });
      req.on('error', (err) => {
        if (!req.destroyed) reject(err);
      });
    });
    await serverSawClose;
    const after = await request(s.port, '/bytes/10');
    expect(after.status).toBe(200);
    expect(after.body.length).toBe(10);
  });

  it('survives_a_client_that_leaves_in_the_middle_of_an_upload', async () => {
    const app = createHttpApp();
    let closedEarly!: () => void;
    const serverSawClose = new Promise<void>((resolve) => {
      closedEarly = resolve;
    });
    const s = await start((req, res) => {
      res.on('close', () => {
        if (!res.writableFinished) closedEarly();
      });
      app(req, res);
    });
    for (const route of ['/sink', '/echo']) {
      await new Promise<void>((resolve) => {
        const req = http.request({
          host: '127.0.0.1',
          port: s.port,
          path: route,
          method: 'POST',
          agent: false,
          headers: { 'Content-Length': String(1 << 20) },
        });
        req.on('error', () => undefined);
        req.write(deterministicBytes(0, 100_000), () => {
          req.destroy();
          resolve();
        });
      });
    }
    await serverSawClose;
    const after = await request(s.port, '/sink', { method: 'POST', body: 'abc' });
    expect(JSON.parse(after.body.toString())).toEqual({ bytes: 3, sha256: sha256(Buffer.from('abc')) });
  });

  it('serves_20_requests_over_one_keep_alive_connection', async () => {
    const s = await startApp();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const sockets = new Set<unknown>();
      for (let i = 0; i < 20; i++) {
        const kind = i % 5;
        const r =
          kind === 0
            ? await request(s.port, '/', { agent })
            : kind === 1
              ? await request(s.port, `/bytes/${1000 * i + 1}`, { agent })
              : kind === 2
                ? await request(s.port, '/echo', { agent, method: 'POST', body: `hello ${i}` })
                : kind === 3
                  ? await request(s.port, '/sink', { agent, method: 'POST', body: deterministicBytes(0, 5000) })
                  : await request(s.port, '/missing', { agent });
        expect(r.status, `request ${i}`).toBe(kind === 4 ? 404 : 200);
        expect(r.headers.connection, `request ${i}`).toBe('keep-alive');
        sockets.add(r.socket);
      }
      expect(sockets.size).toBe(1);
      expect(s.connections()).toBe(1);
    } finally {
      agent.destroy();
    }
  });
});
