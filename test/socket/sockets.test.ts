// The node:net-like socket layer over two in-memory stacks: connect/accept, data both ways,
// backpressure, half-close, RST, refused connections, timeouts, and node:http on top.

import { once } from 'node:events';
import { createServer as createHttpServer, request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { TcpSocket } from '../../src/socket/tcp-socket.js';
import { stackPair, type Pair } from './pair.js';

let pair: Pair | undefined;
afterEach(async () => {
  await pair?.close();
  pair = undefined;
});

function collect(s: TcpSocket): Promise<Buffer> {
  const parts: Buffer[] = [];
  s.on('data', (d: Buffer) => parts.push(d));
  return once(s, 'end').then(() => Buffer.concat(parts));
}

describe('TcpSocket and TcpServer', () => {
  it('connects_accepts_and_echoes_data_both_ways', async () => {
    pair = stackPair();
    const server = pair.b.createServer((s) => s.pipe(s));
    server.listen(7);
    const c = pair.a.connect({ host: '198.18.0.2', port: 7 });
    await once(c, 'connect');
    expect(c.remoteAddress).toBe('198.18.0.2');
    expect(c.remotePort).toBe(7);
    expect(c.localAddress).toBe('198.18.0.1');
    const got = collect(c);
    const closed = once(c, 'close');
    c.end(Buffer.from('hello over tunstack'));
    expect((await got).toString()).toBe('hello over tunstack');
    await closed;
  });

  it('applies_backpressure_and_drains', async () => {
    pair = stackPair();
    const accepted = new Promise<TcpSocket>((resolve) =>
      pair!.b
        .createServer((s) => {
          s.pause(); // do not read yet: the window closes, the send buffer fills
          resolve(s);
        })
        .listen(9000),
    );
    const c = pair.a.connect({ host: '198.18.0.2', port: 9000 });
    await once(c, 'connect');
    const serverSide: TcpSocket | undefined = await accepted;
    const chunk = Buffer.alloc(64 * 1024, 1);
    let written = 0;
    while (c.write(chunk)) {
      written += chunk.length;
      if (written > 64 << 20) throw new Error('write() never returned false');
    }
    written += chunk.length;
    expect(written).toBeLessThan(2 << 20); // send buffer (256 KiB) + window (64 KiB) + stream buffer
    let received = 0;
    serverSide!.on('data', (d: Buffer) => (received += d.length));
    serverSide!.resume();
    await once(c, 'drain');
    c.end();
    await once(serverSide!, 'end');
    expect(received).toBe(written);
  });

  it('half_closes_with_end_and_keeps_receiving', async () => {
    pair = stackPair();
    const server = pair.b.createServer(async (s) => {
      const req = await collect(s); // the client's FIN arrives first
      s.end(Buffer.from(`got ${req.length} bytes, replying after your FIN`));
    });
    server.listen(80);
    const c = pair.a.connect({ host: '198.18.0.2', port: 80 });
    const reply = collect(c);
    c.end(Buffer.alloc(1000));
    expect((await reply).toString()).toBe('got 1000 bytes, replying after your FIN');
  });

  it('refuses_a_connection_to_a_closed_port_with_econnrefused', async () => {
    pair = stackPair();
    const c = pair.a.connect({ host: '198.18.0.2', port: 4444 });
    const [err] = (await once(c, 'error')) as [NodeJS.ErrnoException];
    expect(err.code).toBe('ECONNREFUSED');
    expect(err.message).toMatch(/198\.18\.0\.2:4444/);
  });

  it('reset_and_destroy_sends_rst_and_the_peer_sees_econnreset', async () => {
    pair = stackPair();
    const accepted = new Promise<TcpSocket>((resolve) => pair!.b.createServer(resolve).listen(81));
    const c = pair.a.connect({ host: '198.18.0.2', port: 81 });
    await once(c, 'connect');
    const s = await accepted;
    const err = once(s, 'error');
    c.resetAndDestroy();
    const [e] = (await err) as [NodeJS.ErrnoException];
    expect(e.code).toBe('ECONNRESET');
  });

  it('destroy_closes_gracefully_like_close_2', async () => {
    pair = stackPair();
    const accepted = new Promise<TcpSocket>((resolve) => pair!.b.createServer(resolve).listen(82));
    const c = pair.a.connect({ host: '198.18.0.2', port: 82 });
    await once(c, 'connect');
    const s = await accepted;
    const got = collect(s);
    c.write('last words');
    c.destroy();
    expect((await got).toString()).toBe('last words');
  });

  it('emits_timeout_after_idle', async () => {
    pair = stackPair();
    pair.b.createServer(() => {}).listen(83);
    const c = pair.a.connect({ host: '198.18.0.2', port: 83 });
    await once(c, 'connect');
    c.setTimeout(50);
    await once(c, 'timeout');
    c.destroy();
  });

  it('set_timeout_zero_removes_the_callback_as_node_net_does', async () => {
    pair = stackPair();
    pair.b.createServer(() => {}).listen(84);
    const c = pair.a.connect({ host: '198.18.0.2', port: 84 });
    await once(c, 'connect');
    const cb = () => {};
    c.setTimeout(1000, cb);
    expect(c.listenerCount('timeout')).toBe(1);
    c.setTimeout(0, cb); // what node:http's agent does when a keep-alive socket goes back to its pool
    expect(c.listenerCount('timeout')).toBe(0);
    c.destroy();
  });

  it('runs_node_http_server_and_client_unmodified', async () => {
    pair = stackPair();
    const http = createHttpServer((req, res) => {
      let n = 0;
      req.on('data', (d: Buffer) => (n += d.length));
      req.on('end', () => res.end(`${req.method} ${req.url} ${n}`));
    });
    pair.b.createServer((s) => http.emit('connection', s)).listen(80);
    const ask = (path: string) =>
      new Promise<string>((resolve, reject) => {
        const req = request(
          { host: '198.18.0.2', port: 80, path, method: 'POST', createConnection: () => pair!.a.connect({ host: '198.18.0.2', port: 80 }) },
          (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (d: string) => (body += d));
            res.on('end', () => resolve(body));
          },
        );
        req.on('error', reject);
        req.end(Buffer.alloc(100_000, 7));
      });
    expect(await ask('/a')).toBe('POST /a 100000');
    expect(await ask('/b?x=1')).toBe('POST /b?x=1 100000');
    http.close();
  });

  it('lists_listeners_and_closes_the_server', async () => {
    pair = stackPair();
    const server = pair.b.createServer();
    server.listen(8080);
    await once(server, 'listening');
    expect(server.address()).toEqual({ address: '198.18.0.2', family: 'IPv4', port: 8080 });
    server.close();
    await once(server, 'close');
    const c = pair.a.connect({ host: '198.18.0.2', port: 8080 });
    const [err] = (await once(c, 'error')) as [NodeJS.ErrnoException];
    expect(err.code).toBe('ECONNREFUSED');
  });
});
