// A stand-in TlsConnection for testing the socket layer without the real engine: the same
// handle/poll surface with a toy record layer ([type u8][length u16][payload XOR 0x5a]) and a
// 1-RTT shape (hello → server hello → finished), secrets, tickets, KeyUpdate, close_notify and alerts.

import type { HandshakeSummary, TlsConnection, TlsEvent } from '../../src/tls/engine-api.js';

const T = { hello: 1, serverHello: 2, data: 3, closeNotify: 4, alert: 5, keyUpdate: 6, ticket: 7, finished: 8 } as const;
const MAX_RECORD = 16384;

export interface FakeOptions {
  /** Client: fail verification of the "certificate" with this alert (42 = bad_certificate). */
  verifyFails?: { alert: 42 | 48 | 45; reason: string };
  /** Server: refuse the hello with this alert (40 = handshake_failure). */
  refuse?: { alert: 40; reason: string };
  /** Fill in secrets with this byte (distinct per connection in tests). */
  tag?: number;
}

function record(type: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(3 + payload.length);
  out[0] = type;
  out[1] = payload.length >>> 8;
  out[2] = payload.length & 0xff;
  for (let i = 0; i < payload.length; i++) out[3 + i] = payload[i]! ^ 0x5a;
  return out;
}

export class FakeTls implements TlsConnection {
  state = 'start';
  handshakeDone = false;
  private inBuf = new Uint8Array(0);
  private readonly out: Uint8Array[] = [];
  private readonly events: TlsEvent[] = [];
  private readonly queued: Uint8Array[] = [];
  private closed = false;
  private failed = false;
  private readonly random: Uint8Array;
  /** What handleBytes was given, for tests that look at timing. */
  readonly nows: number[] = [];

  constructor(
    readonly role: 'client' | 'server',
    private readonly opts: FakeOptions = {},
  ) {
    this.random = new Uint8Array(32).fill(opts.tag ?? 0x11);
  }

  start(now: number): void {
    this.nows.push(now);
    if (this.role !== 'client' || this.state !== 'start') return;
    this.state = 'expect_server_hello';
    this.trace('out', 'ClientHello', 'fake');
    this.out.push(record(T.hello, this.random));
  }

  handleBytes(now: number, bytes: Uint8Array): void {
    this.nows.push(now);
    if (this.failed) return;
    const buf = new Uint8Array(this.inBuf.length + bytes.length);
    buf.set(this.inBuf);
    buf.set(bytes, this.inBuf.length);
    let off = 0;
    while (buf.length - off >= 3) {
      const type = buf[off]!;
      const len = (buf[off + 1]! << 8) | buf[off + 2]!;
      if (len > MAX_RECORD + 256) return this.fail(22, 'record too long', true);
      if (buf.length - off < 3 + len) break;
      const payload = buf.subarray(off + 3, off + 3 + len).map((b) => b ^ 0x5a);
      off += 3 + len;
      this.onRecord(type, payload);
      if (this.failed) return;
    }
    this.inBuf = buf.slice(off);
  }

  private onRecord(type: number, p: Uint8Array): void {
    switch (type) {
      case T.hello: {
        if (this.role !== 'server' || this.state !== 'start') return this.fail(10, 'unexpected ClientHello', true);
        this.random.set(p.subarray(0, 32));
        this.trace('in', 'ClientHello', 'fake');
        if (this.opts.refuse) return this.fail(this.opts.refuse.alert, this.opts.refuse.reason, true);
        this.secrets('SERVER_HANDSHAKE_TRAFFIC_SECRET', 'CLIENT_HANDSHAKE_TRAFFIC_SECRET', 'SERVER_TRAFFIC_SECRET_0', 'CLIENT_TRAFFIC_SECRET_0');
        this.out.push(record(T.serverHello, new Uint8Array([1])));
        this.state = 'expect_finished';
        return;
      }
      case T.serverHello: {
        if (this.role !== 'client' || this.state !== 'expect_server_hello') return this.fail(10, 'unexpected ServerHello', true);
        this.trace('in', 'ServerHello', 'fake');
        if (this.opts.verifyFails) return this.fail(this.opts.verifyFails.alert, this.opts.verifyFails.reason, true);
        this.secrets('CLIENT_HANDSHAKE_TRAFFIC_SECRET', 'SERVER_HANDSHAKE_TRAFFIC_SECRET', 'CLIENT_TRAFFIC_SECRET_0', 'SERVER_TRAFFIC_SECRET_0');
        this.out.push(record(T.finished, new Uint8Array([2])));
        this.done();
        return;
      }
      case T.finished:
        if (this.role !== 'server' || this.state !== 'expect_finished') return this.fail(10, 'unexpected Finished', true);
        this.done();
        this.out.push(record(T.ticket, new Uint8Array([7, 7, 7])));
        return;
      case T.ticket:
        this.events.push({
          type: 'ticket',
          ticket: {
            serverName: undefined,
            suite: 0x1301,
            ticket: p,
            psk: new Uint8Array(32),
            ageAdd: 0,
            receivedAt: this.nows.at(-1) ?? 0,
            lifetime: 7200,
            maxEarlyData: 0,
            alpn: undefined,
          },
        });
        return;
      case T.data:
        if (!this.handshakeDone) return this.fail(10, 'application data before the handshake', true);
        this.events.push({ type: 'data', data: p });
        return;
      case T.keyUpdate:
        this.trace('in', 'KeyUpdate', p[0] ? 'update_requested' : 'update_not_requested');
        this.events.push({ type: 'key-update', direction: 'received', requested: p[0] === 1 });
        if (p[0] === 1) this.sendKeyUpdate(false);
        return;
      case T.closeNotify:
        this.events.push({ type: 'peer-closed' });
        return;
      case T.alert:
        this.failed = true;
        this.events.push({ type: 'failed', alert: p[0] as 40, sent: false, reason: 'peer alert' });
        return;
      default:
        return this.fail(10, `unknown record type ${type}`, true);
    }
  }

  private done(): void {
    this.handshakeDone = true;
    this.state = 'connected';
    const summary: HandshakeSummary = {
      suite: 0x1301,
      group: 0x001d,
      signatureScheme: 0x0403,
      alpn: 'http/1.1',
      serverName: 'fake.test',
      resumed: false,
      helloRetry: false,
    };
    this.events.push({ type: 'handshake', summary });
    for (const q of this.queued.splice(0)) this.sendData(q);
  }

  private secrets(...labels: Array<'CLIENT_HANDSHAKE_TRAFFIC_SECRET' | 'SERVER_HANDSHAKE_TRAFFIC_SECRET' | 'CLIENT_TRAFFIC_SECRET_0' | 'SERVER_TRAFFIC_SECRET_0'>): void {
    labels.forEach((label, i) => this.events.push({ type: 'secret', label, clientRandom: this.random.slice(), secret: new Uint8Array(32).fill(i + 1) }));
  }

  private trace(direction: 'in' | 'out', message: string, detail: string): void {
    this.events.push({ type: 'trace', trace: { direction, message, detail } });
  }

  private fail(alert: number, reason: string, sent: boolean): void {
    this.failed = true;
    this.state = 'failed';
    if (sent) this.out.push(record(T.alert, new Uint8Array([alert])));
    this.events.push({ type: 'failed', alert: alert as 40, sent, reason });
  }

  private sendData(d: Uint8Array): void {
    for (let off = 0; off < d.length; off += MAX_RECORD) this.out.push(record(T.data, d.subarray(off, off + MAX_RECORD)));
  }

  private sendKeyUpdate(request: boolean): void {
    this.out.push(record(T.keyUpdate, new Uint8Array([request ? 1 : 0])));
    this.events.push({ type: 'key-update', direction: 'sent', requested: request });
  }

  write(data: Uint8Array): void {
    if (this.closed || this.failed) throw new Error('write after close');
    if (!this.handshakeDone) this.queued.push(data.slice());
    else this.sendData(data);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.out.push(record(T.closeNotify, new Uint8Array(0)));
  }

  keyUpdate(requestPeer: boolean): void {
    if (!this.handshakeDone) throw new Error('KeyUpdate before the handshake');
    this.sendKeyUpdate(requestPeer);
  }

  pollOutput(): Uint8Array | undefined {
    return this.out.shift();
  }

  pollEvent(): TlsEvent | undefined {
    return this.events.shift();
  }
}

/** Raw fake records, for tests that play a misbehaving peer. */
export const fakeRecord = record;
export const FAKE_TYPES = T;
