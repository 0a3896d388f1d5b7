// The real TLS 1.3 engine in TlsSocket, TlsServer and tlsConnect: client against server over tunstack
// TCP (two stacks on an in-memory wire) and over node:net loopback — data both ways, 20 MiB with
// backpressure, close_notify, alerts, KeyUpdate, resumption, node:http, and the capture's secrets order.

import { createHash } from 'node:crypto';
import { createServer as createHttpServer, request } from 'node:http';
import * as net from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readPcapng, type PcapngBlock } from '../../src/capture/pcapng-reader.js';
import { PcapTap, memorySink } from '../../src/link/pcap-tap.js';
import { SimLink } from '../../src/link/sim-link.js';
import { Stack } from '../../src/socket/stack.js';
import { tlsClientSocket, tlsConnect } from '../../src/socket/tls-connect.js';
import { certifiedKeyFromPem, createTlsServer, type TlsServer } from '../../src/socket/tls-server.js';
import type { TlsError, TlsSocket } from '../../src/socket/tls-socket.js';
import { CipherSuite } from '../../src/tls/constants.js';
import { nobleProvider } from '../../src/tls/crypto/noble.js';
import type { ResumptionTicket, ServerConfig } from '../../src/tls/engine-api.js';
import { createLocalCa, issueCertificate } from '../../src/tls/x509/local-ca.js';
import { stackPair, type Pair } from './pair.js';

let caPem = '';
let config: ServerConfig;

beforeAll(() => {
  const now = Date.now();
  const ca = createLocalCa({ crypto: nobleProvider, now, commonName: 'tls-engine test CA' });
  const leaf = issueCertificate({
    ca, crypto: nobleProvider, now, commonName: '198.18.0.2', dnsNames: ['tunstack.test'], ipAddresses: ['198.18.0.2', '127.0.0.1'], keyKind: 'ecdsa-p256',
  });
  caPem = ca.certPem;
  config = {
    crypto: nobleProvider,
    certificates: [certifiedKeyFromPem(leaf.certPem, leaf.keyPem, nobleProvider)],
    ticketKey: new Uint8Array(32).fill(3),
    alpn: ['http/1.1'],
  };
});

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function once<T = unknown>(emitter: NodeJS.EventEmitter, event: string): Promise<T> {
  return new Promise((resolve) => emitter.once(event, (v: T) => resolve(v)));
}

function secure(s: TlsSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    s.once('secureConnect', () => resolve());
    s.once('error', reject);
  });
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

/** A TLS server on stack b (198.18.0.2:443) of a fresh pair; `onSecure` gets each established socket. */
async function tunstackServer(onSecure: (s: TlsSocket) => void, over: Partial<ServerConfig> = {}): Promise<{ pair: Pair; server: TlsServer; clientErrors: TlsError[] }> {
  const pair = stackPair();
  cleanups.push(() => pair.close());
  const server = createTlsServer(pair.b, { ...config, ...over }, onSecure);
  const clientErrors: TlsError[] = [];
  server.on('tlsClientError', (e: TlsError) => clientErrors.push(e));
  await new Promise<void>((r) => server.listen(443, r));
  return { pair, server, clientErrors };
}

/** A TLS server on node:net loopback. */
async function loopbackServer(onSecure: (s: TlsSocket) => void): Promise<{ server: TlsServer; port: number }> {
  const server = createTlsServer(net, config, onSecure);
  await new Promise<void>((r) => server.listen(0, r));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return { server, port: (server.address() as { port: number }).port };
}

describe('TLS over tunstack TCP with the real engine', () => {
  it('handshakes_verifies_and_carries_data_both_ways', async () => {
    const { pair } = await tunstackServer((s) => s.on('data', (d: Buffer) => s.write(Buffer.concat([Buffer.from('echo:'), d]))));
    const c = tlsConnect(pair.a, { host: '198.18.0.2', port: 443, ca: caPem });
    cleanups.push(() => void c.destroy());
    await secure(c);
    expect(c.summary).toMatchObject({ suite: CipherSuite.TLS_AES_128_GCM_SHA256, alpn: 'http/1.1', resumed: false });
    expect(c.authorized).toBe(true);
    c.write('ping');
    expect((await once<Buffer>(c, 'data')).toString()).toBe('echo:ping');
  });

  it('carries_20_MiB_each_way_byte_exact_with_backpressure', async () => {
    const N = 20 * 1024 * 1024;
    const up = pattern(N, 5);
    const down = pattern(N, 6);
    let serverSocket!: TlsSocket;
    let upResolve!: (b: Buffer) => void;
    const upGot = new Promise<Buffer>((r) => (upResolve = r));
    const { pair } = await tunstackServer(
      (s) => {
        serverSocket = s;
        s.pause(); // a slow reader at first: the client must be held back
        setTimeout(() => {
          void readAll(s).then(upResolve);
          s.resume();
        }, 300);
      },
      { cipherSuites: [CipherSuite.TLS_CHACHA20_POLY1305_SHA256] },
    );
    const c = tlsConnect(pair.a, { host: '198.18.0.2', port: 443, ca: caPem });
    cleanups.push(() => void c.destroy());
    await secure(c);
    let backedUp = false;
    const write = (s: TlsSocket, data: Buffer) =>
      new Promise<void>((resolve) => {
        let off = 0;
        const pump = () => {
          while (off < data.length) {
            const chunk = data.subarray(off, off + 65536);
            off += chunk.length;
            if (!s.write(chunk)) {
              if (s === c) backedUp = true;
              s.once('drain', pump);
              return;
            }
          }
          s.end();
          resolve();
        };
        pump();
      });
    const downGot = readAll(c);
    await write(c, up);
    expect(backedUp).toBe(true);
    const u = await upGot;
    await write(serverSocket, down);
    const d = await downGot;
    expect(u.length).toBe(N);
    expect(sha(u)).toBe(sha(up));
    expect(d.length).toBe(N);
    expect(sha(d)).toBe(sha(down));
  }, 120_000);

  it('close_notify_ends_the_peer_and_destroy_sends_it_too', async () => {
    let server!: TlsSocket;
    const got = new Promise<Buffer>((resolve) =>
      void tunstackServer((s) => {
        server = s;
        void readAll(s).then(resolve);
      }).then(({ pair }) => {
        const c = tlsConnect(pair.a, { host: '198.18.0.2', port: 443, ca: caPem });
        c.once('secureConnect', () => c.end('last words'));
      }),
    );
    expect((await got).toString()).toBe('last words'); // 'end' only after the client's close_notify
    // The server destroys its socket without end(): close_notify still goes out (RFC 8446 §6.1).
    const traces: string[] = [];
    server.on('tlsTrace', (t: { direction: string; message: string; detail: string }) => traces.push(`${t.direction} ${t.message} ${t.detail}`));
    server.destroy();
    expect(traces).toContain('out Alert close_notify');
  });

  it('a_verification_failure_is_an_alert_on_both_sides_and_the_server_keeps_serving', async () => {
    const { pair, clientErrors } = await tunstackServer(() => {});
    const bad = tlsConnect(pair.a, { host: '198.18.0.2', port: 443, ca: caPem, servername: 'other.test' });
    const e = await once<TlsError>(bad, 'error');
    expect(e.code).toBe('ERR_TLS_ALERT_SENT');
    expect(e.alert).toBe('bad_certificate');
    expect(e.message).toMatch(/^certificate verify failed: certificate is for .*, not other\.test \(sent alert bad_certificate\)$/);
    await new Promise((r) => setTimeout(r, 50));
    expect(clientErrors.map((x) => [x.code, x.alert])).toEqual([['ERR_TLS_ALERT_RECEIVED', 'bad_certificate']]);
    const good = tlsConnect(pair.a, { host: '198.18.0.2', port: 443, ca: caPem });
    cleanups.push(() => void good.destroy());
    await secure(good);
  });

  it('an_unknown_ca_is_refused_with_unknown_ca', async () => {
    const { pair } = await tunstackServer(() => {});
    const other = createLocalCa({ crypto: nobleProvider, now: Date.now(), commonName: 'not the issuer' });
    const c = tlsConnect(pair.a, { host: '198.18.0.2', port: 443, ca: other.certPem });
    const e = await once<TlsError>(c, 'error');
    expect(e.alert).toBe('unknown_ca');
  });

  it('key_updates_in_both_directions_keep_the_data_flowing', async () => {
    let server!: TlsSocket;
    const serverUpdates: string[] = [];
    const { pair } = await tunstackServer((s) => {
      server = s;
      s.on('keyUpdate', (k: { direction: string; requested: boolean }) => serverUpdates.push(`${k.direction}${k.requested ? ' requested' : ''}`));
      s.on('data', (d: Buffer) => s.write(d));
    });
    const c = tlsConnect(pair.a, { host: '198.18.0.2', port: 443, ca: caPem });
    cleanups.push(() => void c.destroy());
    const clientUpdates: string[] = [];
    c.on('keyUpdate', (k: { direction: string; requested: boolean }) => clientUpdates.push(`${k.direction}${k.requested ? ' requested' : ''}`));
    await secure(c);
    c.keyUpdate(true);
    c.write('one');
    expect((await once<Buffer>(c, 'data')).toString()).toBe('one');
    server.keyUpdate(false);
    c.write('two');
    expect((await once<Buffer>(c, 'data')).toString()).toBe('two');
    expect(clientUpdates).toEqual(['sent requested', 'received', 'received']);
    expect(serverUpdates).toEqual(['received requested', 'sent', 'sent']);
  });

  it('node_http_runs_on_both_ends', async () => {
    const http = createHttpServer((req, res) => res.end(`${req.method} ${req.url} over ${(req.socket as unknown as TlsSocket).getProtocol()}`));
    const { pair } = await tunstackServer((s) => http.emit('connection', s));
    const tls = tlsConnect(pair.a, { host: '198.18.0.2', port: 443, ca: caPem });
    const body = await new Promise<string>((resolve, reject) => {
      const req = request({ host: '198.18.0.2', port: 443, path: '/x', createConnection: () => tls }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      req.end();
    });
    expect(body).toBe('GET /x over TLSv1.3');
  });

  it('garbage_from_a_client_draws_an_alert_and_the_server_keeps_serving', async () => {
    const { pair, clientErrors } = await tunstackServer(() => {});
    const raw = pair.a.connect({ host: '198.18.0.2', port: 443 });
    raw.on('connect', () => raw.write(Buffer.from('GET / HTTP/1.1\r\n\r\n')));
    const back = await readAll(raw);
    expect(Array.from(back.subarray(0, 5))).toEqual([21, 3, 3, 0, 2]); // a plaintext alert record
    expect(clientErrors[0]?.code).toBe('ERR_TLS_ALERT_SENT');
    const c = tlsConnect(pair.a, { host: '198.18.0.2', port: 443, ca: caPem });
    cleanups.push(() => void c.destroy());
    await secure(c);
  });

  it('the_client_capture_has_the_secrets_before_the_encrypted_server_flight', async () => {
    // Stack a (the client) runs on a PcapTap; the key log goes into it as Decryption Secrets Blocks.
    const la = new SimLink({ name: 'a' });
    const lb = new SimLink({ name: 'b' });
    const wire = (from: SimLink, to: SimLink) => {
      let queue: Uint8Array[] = [];
      from.onTransmit = (p) => {
        if (queue.length === 0) {
          setImmediate(() => {
            try {
              to.inject(queue.splice(0));
            } catch {
              // the other side closed
            }
          });
        }
        queue.push(p);
      };
    };
    wire(la, lb);
    wire(lb, la);
    const sink = memorySink();
    const tap = new PcapTap(la, sink, { clock: () => 1n });
    const a = new Stack(tap, { address: '198.18.0.1' });
    const b = new Stack(lb, { address: '198.18.0.2' });
    cleanups.push(async () => {
      await a.close();
      await b.close();
    });
    const server = createTlsServer(b, config, (s) => s.end('hi'));
    await new Promise<void>((r) => server.listen(443, r));
    const c = tlsConnect(a, { host: '198.18.0.2', port: 443, ca: caPem });
    c.on('keylog', (line: Buffer) => tap.addSecrets(line.toString()));
    expect((await readAll(c)).toString()).toBe('hi');
    const file = readPcapng(sink.bytes());
    if (!file.ok) throw new Error(file.error);
    const blocks = file.value.blocks;
    const isServerHello = (blk: PcapngBlock) => {
      if (blk.kind !== 'epb' || blk.direction !== 'inbound') return false;
      const ihl = (blk.data[0]! & 0x0f) * 4;
      const payload = blk.data.subarray(ihl + ((blk.data[ihl + 12]! >> 4) * 4));
      return payload[0] === 22 && payload[5] === 2; // handshake record, ServerHello
    };
    const serverHello = blocks.findIndex(isServerHello);
    const secrets = blocks.findIndex((blk) => blk.kind === 'dsb' && new TextDecoder().decode(blk.data).includes('SERVER_HANDSHAKE_TRAFFIC_SECRET'));
    expect(serverHello).toBeGreaterThan(0);
    expect(secrets).toBeGreaterThan(0);
    expect(secrets).toBeLessThan(serverHello);
  });
});

describe('TLS over node:net loopback with the real engine', () => {
  it('resumes_with_the_ticket_from_the_session_event', async () => {
    const { port } = await loopbackServer((s) => s.end('x'));
    const first = tlsClientSocket(net.connect(port, '127.0.0.1'), { host: '127.0.0.1', ca: caPem });
    const ticket = await once<ResumptionTicket>(first, 'session');
    await readAll(first);
    const second = tlsClientSocket(net.connect(port, '127.0.0.1'), { host: '127.0.0.1', ca: caPem, session: ticket });
    await secure(second);
    expect(second.summary).toMatchObject({ resumed: true, signatureScheme: undefined });
    await readAll(second);
  });

  it('serves_many_clients_while_one_sends_garbage', async () => {
    const { port, server } = await loopbackServer((s) => s.end('ok'));
    const errors: string[] = [];
    server.on('tlsClientError', (e: TlsError) => errors.push(e.alert ?? e.code));
    const junk = net.connect(port, '127.0.0.1', () => junk.write(Buffer.from([22, 3, 1, 0, 4, 1, 0, 0, 0])));
    junk.on('error', () => {});
    junk.on('data', () => junk.end()); // the alert came: go away
    const results = await Promise.all(
      Array.from({ length: 5 }, async () => {
        const c = tlsClientSocket(net.connect(port, '127.0.0.1'), { host: '127.0.0.1', ca: caPem });
        return (await readAll(c)).toString();
      }),
    );
    expect(results).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
    await new Promise((r) => setTimeout(r, 50));
    expect(errors).toEqual(['decode_error']);
  });
});
