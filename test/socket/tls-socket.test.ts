// TlsSocket over a stand-in engine (tls-fake.ts) on node:net loopback and on tunstack TCP (SimLink
// pair): handshake events, key log order, data both ways with backpressure, close_notify,
// truncation, alerts, KeyUpdate, writes before the handshake, node:http on top.

import { createHash } from 'node:crypto';
import { createServer as createHttpServer, request } from 'node:http';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { TlsSocket, type TlsError } from '../../src/socket/tls-socket.js';
import type { HandshakeTrace, ResumptionTicket } from '../../src/tls/engine-api.js';
import { FakeTls, fakeRecord, type FakeOptions } from './tls-fake.js';
import { stackPair, type Pair } from './pair.js';

interface Conn {
  client: TlsSocket;
  server: TlsSocket;
  clientEngine: FakeTls;
  serverEngine: FakeTls;
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A TlsSocket pair on node:net loopback; resolves once both ends exist (not yet handshaken). */
async function netConn(opts: { client?: FakeOptions; server?: FakeOptions } = {}): Promise<Conn & { rawServer: Promise<Socket> }> {
  const srv: Server = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => srv.close(() => r())));
  const serverEngine = new FakeTls('server', opts.server);
  const clientEngine = new FakeTls('client', opts.client);
  let rawResolve!: (s: Socket) => void;
  const rawServer = new Promise<Socket>((r) => (rawResolve = r));
  const server = new Promise<TlsSocket>((resolve) =>
    srv.once('connection', (s: Socket) => {
      rawResolve(s);
      resolve(tracked(new TlsSocket(s, serverEngine)));
    }),
  );
  const port = (srv.address() as { port: number }).port;
  const client = tracked(new TlsSocket(connect(port, '127.0.0.1'), clientEngine));
  const conn = { client, server: await server, clientEngine, serverEngine, rawServer };
  cleanups.push(() => {
    conn.client.destroy();
    conn.server.destroy();
  });
  return conn;
}

/** A TlsSocket pair on two tunstack stacks joined by an in-memory wire. */
async function stackConn(opts: { client?: FakeOptions; server?: FakeOptions } = {}): Promise<Conn & { pair: Pair }> {
  const pair = stackPair();
  cleanups.push(() => pair.close());
  const serverEngine = new FakeTls('server', opts.server);
  const clientEngine = new FakeTls('client', opts.client);
  const tcpServer = pair.b.createServer();
  tcpServer.listen(443);
  const server = new Promise<TlsSocket>((resolve) => tcpServer.once('connection', (s) => resolve(tracked(new TlsSocket(s, serverEngine)))));
  const client = tracked(new TlsSocket(pair.a.connect({ host: '198.18.0.2', port: 443 }), clientEngine));
  const conn = { client, server: await server, clientEngine, serverEngine, pair };
  cleanups.push(() => {
    conn.client.destroy();
    conn.server.destroy();
  });
  return conn;
}

function once<T = unknown>(emitter: NodeJS.EventEmitter, event: string): Promise<T> {
  return new Promise((resolve) => emitter.once(event, (v: T) => resolve(v)));
}

const firstError = new WeakMap<TlsSocket, Promise<TlsError>>();
/** Starts listening for the socket's first error at once (the handshake may fail before the test looks). */
function tracked(s: TlsSocket): TlsSocket {
  firstError.set(s, new Promise((resolve) => s.once('error', (e: TlsError) => resolve(e))));
  return s;
}
function errorOf(s: TlsSocket): Promise<TlsError> {
  return firstError.get(s) ?? new Promise((resolve) => s.once('error', (e: TlsError) => resolve(e)));
}

function readAll(s: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  return new Promise((resolve, reject) => {
    s.on('data', (d: Buffer) => parts.push(d));
    s.on('end', () => resolve(Buffer.concat(parts)));
    s.on('error', reject);
  });
}

function pattern(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('TlsSocket over node:net loopback (stand-in engine)', () => {
  it('emits_secureConnect_and_secure_with_the_summary_and_carries_data_both_ways', async () => {
    const c = await netConn();
    const [, ] = await Promise.all([once(c.client, 'secureConnect'), once(c.server, 'secure')]);
    expect(c.client.summary?.suite).toBe(0x1301);
    expect(c.client.alpnProtocol).toBe('http/1.1');
    expect(c.client.getProtocol()).toBe('TLSv1.3');
    expect(c.client.getCipher()?.name).toBe('TLS_AES_128_GCM_SHA256');
    expect(c.server.remoteAddress).toBe('127.0.0.1');
    c.client.write('ping');
    expect((await once<Buffer>(c.server, 'data')).toString()).toBe('ping');
    c.server.write('pong');
    expect((await once<Buffer>(c.client, 'data')).toString()).toBe('pong');
  });

  it('emits_keylog_lines_in_the_nss_format_before_writing_the_records_they_protect', async () => {
    const c = await netConn({ client: { tag: 0xab } });
    const raw = await c.rawServer;
    const order: string[] = [];
    c.server.on('keylog', (line: Buffer) => order.push(`keylog ${line.toString().split(' ')[0]}`));
    const write = raw.write.bind(raw) as (b: Uint8Array) => boolean;
    raw.write = ((b: Uint8Array) => {
      order.push(`write ${b[0]}`);
      return write(b);
    }) as typeof raw.write;
    const lines: string[] = [];
    c.client.on('keylog', (line: Buffer) => lines.push(line.toString()));
    await once(c.client, 'secureConnect');
    // The server's four secrets precede its first flight (record type 2 = the fake ServerHello).
    expect(order.slice(0, 5)).toEqual([
      'keylog SERVER_HANDSHAKE_TRAFFIC_SECRET',
      'keylog CLIENT_HANDSHAKE_TRAFFIC_SECRET',
      'keylog SERVER_TRAFFIC_SECRET_0',
      'keylog CLIENT_TRAFFIC_SECRET_0',
      'write 2',
    ]);
    expect(lines).toHaveLength(4);
    expect(lines[0]).toBe(`CLIENT_HANDSHAKE_TRAFFIC_SECRET ${'ab'.repeat(32)} ${'01'.repeat(32)}\n`);
  });

  it('emits_session_for_tickets_and_tlsTrace_for_each_message', async () => {
    const c = await netConn();
    const traces: HandshakeTrace[] = [];
    c.client.on('tlsTrace', (t: HandshakeTrace) => traces.push(t));
    const ticket = await once<ResumptionTicket>(c.client, 'session');
    expect(Array.from(ticket.ticket)).toEqual([7, 7, 7]);
    expect(traces.map((t) => `${t.direction} ${t.message}`)).toEqual(['out ClientHello', 'in ServerHello']);
  });

  it('sends_writes_made_before_the_handshake_and_an_early_end_after_it', async () => {
    const c = await netConn();
    c.client.write('early ');
    c.client.end('bird');
    expect(c.client.writableFinished).toBe(false); // held until the handshake completed
    const got = await readAll(c.server);
    expect(got.toString()).toBe('early bird');
  });

  it('close_notify_ends_the_peers_readable_side_and_both_close_cleanly', async () => {
    const c = await netConn();
    await once(c.client, 'secureConnect');
    const closed = Promise.all([once(c.client, 'close'), once(c.server, 'close'), once(c.client.transport, 'close'), once(c.server.transport, 'close')]);
    const clientRead = readAll(c.client);
    c.client.end('bye');
    expect((await readAll(c.server)).toString()).toBe('bye');
    c.server.end();
    expect((await clientRead).length).toBe(0);
    await closed; // the TLS sockets, then both TCP connections (FIN both ways)
  });

  it('reports_the_transport_ending_without_close_notify_as_truncation', async () => {
    const c = await netConn();
    await once(c.server, 'secure');
    const err = errorOf(c.server);
    c.client.transport.end(); // a FIN with no close_notify
    const e = await err;
    expect(e.code).toBe('ERR_TLS_TRUNCATED');
    expect(e.message).toBe('connection closed without close_notify (truncation)');
  });

  it('a_peer_closing_during_the_handshake_is_ECONNRESET', async () => {
    const c = await netConn();
    const raw = await c.rawServer;
    const err = errorOf(c.client);
    raw.end();
    expect((await err).code).toBe('ECONNRESET');
  });

  it('an_alert_the_client_sends_is_ERR_TLS_ALERT_SENT_there_and_ERR_TLS_ALERT_RECEIVED_at_the_server', async () => {
    const c = await netConn({ client: { verifyFails: { alert: 42, reason: 'certificate verify failed: certificate is for other.test, not 127.0.0.1' } } });
    const [ce, se] = await Promise.all([errorOf(c.client), errorOf(c.server)]);
    expect(ce.code).toBe('ERR_TLS_ALERT_SENT');
    expect(ce.alert).toBe('bad_certificate');
    expect(ce.message).toBe('certificate verify failed: certificate is for other.test, not 127.0.0.1 (sent alert bad_certificate)');
    expect(se.code).toBe('ERR_TLS_ALERT_RECEIVED');
    expect(se.alert).toBe('bad_certificate');
    expect(se.message).toMatch(/^peer sent alert bad_certificate/);
  });

  it('garbage_from_the_peer_draws_an_alert_that_reaches_it_before_the_fin', async () => {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => srv.close(() => r())));
    const serverErr = new Promise<TlsError>((resolve) =>
      srv.once('connection', (s: Socket) => new TlsSocket(s, new FakeTls('server')).once('error', resolve)),
    );
    const raw = connect((srv.address() as { port: number }).port, '127.0.0.1');
    raw.write(Buffer.from([0x99, 0, 1, 0])); // an unknown record type
    // Unread input on the server side must not turn the close into a reset that loses the alert.
    raw.write(Buffer.alloc(100_000, 1));
    const back = await readAll(raw);
    expect(Array.from(back)).toEqual(Array.from(fakeRecord(5, new Uint8Array([10]))));
    const e = await serverErr;
    expect(e.code).toBe('ERR_TLS_ALERT_SENT');
    expect(e.alert).toBe('unexpected_message');
  });

  it('keyUpdate_with_request_updates_both_directions_and_data_still_flows', async () => {
    const c = await netConn();
    await Promise.all([once(c.client, 'secureConnect'), once(c.server, 'secure')]);
    const seen: string[] = [];
    c.client.on('keyUpdate', (k: { direction: string; requested: boolean }) => seen.push(`client ${k.direction} ${k.requested}`));
    c.server.on('keyUpdate', (k: { direction: string; requested: boolean }) => seen.push(`server ${k.direction} ${k.requested}`));
    c.server.keyUpdate(true);
    c.server.write('after');
    expect((await once<Buffer>(c.client, 'data')).toString()).toBe('after');
    await new Promise((r) => setTimeout(r, 20));
    expect(seen).toEqual(['server sent true', 'client received true', 'client sent false', 'server received false']);
  });

  it('a_handshake_timeout_destroys_a_silent_connection', async () => {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => srv.close(() => r())));
    const err = new Promise<TlsError>((resolve) =>
      srv.once('connection', (s: Socket) => new TlsSocket(s, new FakeTls('server'), { handshakeTimeoutMs: 50 }).once('error', resolve)),
    );
    const raw = connect((srv.address() as { port: number }).port, '127.0.0.1');
    cleanups.push(() => void raw.destroy());
    expect((await err).code).toBe('ERR_TLS_HANDSHAKE_TIMEOUT');
  });

  it('the_engines_now_is_the_injected_clock', async () => {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => srv.close(() => r())));
    const engine = new FakeTls('server');
    const secure = new Promise((resolve) =>
      srv.once('connection', (s: Socket) => {
        const t = new TlsSocket(s, engine, { clock: () => 1234.5 });
        t.once('secure', resolve);
        cleanups.push(() => void t.destroy());
      }),
    );
    const client = new TlsSocket(connect((srv.address() as { port: number }).port, '127.0.0.1'), new FakeTls('client'));
    cleanups.push(() => void client.destroy());
    await secure;
    expect(engine.nows.every((n) => n === 1234.5)).toBe(true);
  });

  it('runs_node_http_in_both_roles', async () => {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => srv.close(() => r())));
    const http = createHttpServer((req, res) => res.end(`hello ${req.url} over ${req.socket.constructor.name}`));
    srv.on('connection', (s: Socket) => {
      const t = new TlsSocket(s, new FakeTls('server'));
      t.once('secure', () => http.emit('connection', t));
    });
    const port = (srv.address() as { port: number }).port;
    const tls = new TlsSocket(connect(port, '127.0.0.1'), new FakeTls('client'));
    const closed = once(tls, 'close');
    const body = await new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/x', createConnection: () => tls }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      req.end();
    });
    expect(body).toBe('hello /x over TlsSocket');
    await closed; // Connection: close — the server ended with close_notify, the client closed too
  });
});

describe('TlsSocket over tunstack TCP (stand-in engine)', () => {
  it('carries_20_MiB_each_way_byte_exact_while_a_slow_reader_holds_the_sender_back', async () => {
    const c = await stackConn();
    const N = 20 * 1024 * 1024;
    const up = pattern(N, 1);
    const down = pattern(N, 2);
    await Promise.all([once(c.client, 'secureConnect'), once(c.server, 'secure')]);

    // The server does not read for a while: the client's writes must back up (write() → false),
    // and the server's TlsSocket must not buffer the whole stream in memory meanwhile.
    c.server.pause();
    let sawFalse = false;
    const writeAll = (s: TlsSocket, data: Buffer) =>
      new Promise<void>((resolve) => {
        let off = 0;
        const pump = () => {
          while (off < data.length) {
            const chunk = data.subarray(off, off + 65536);
            off += chunk.length;
            if (!s.write(chunk)) {
              if (s === c.client) sawFalse = true;
              s.once('drain', pump);
              return;
            }
          }
          s.end();
          resolve();
        };
        pump();
      });
    const clientDone = writeAll(c.client, up);
    await new Promise((r) => setTimeout(r, 200));
    expect(sawFalse).toBe(true);
    expect(c.server.readableLength).toBeLessThan(2 * 1024 * 1024);
    const upGot = readAll(c.server);
    c.server.resume();
    const downGot = readAll(c.client);
    await writeAll(c.server, down);
    await clientDone;
    const [u, d] = await Promise.all([upGot, downGot]);
    expect(u.length).toBe(N);
    expect(sha(u)).toBe(sha(up));
    expect(sha(d)).toBe(sha(down));
  });

  it('an_alert_from_the_server_reaches_the_client_over_tunstack_tcp', async () => {
    const c = await stackConn({ server: { refuse: { alert: 40, reason: 'no cipher suite in common' } } });
    const [ce, se] = await Promise.all([errorOf(c.client), errorOf(c.server)]);
    expect(se.message).toBe('no cipher suite in common (sent alert handshake_failure)');
    expect(ce.code).toBe('ERR_TLS_ALERT_RECEIVED');
    expect(ce.alert).toBe('handshake_failure');
  });

  it('forwards_addresses_and_socket_options_to_the_tcp_socket', async () => {
    const c = await stackConn();
    await once(c.server, 'secure');
    expect(c.server.remoteAddress).toBe('198.18.0.1');
    expect(c.server.localAddress).toBe('198.18.0.2');
    expect(c.server.localPort).toBe(443);
    expect(c.client.remotePort).toBe(443);
    expect(c.client.setNoDelay(true)).toBe(c.client);
    expect(c.client.setKeepAlive(true, 1000)).toBe(c.client);
  });
});
