// The proxy's header rewriting: hop-by-hop fields removed (RFC 9110 §7.6.1) including those the
// Connection field lists, X-Forwarded-For appended, X-Forwarded-Proto set, RFC 7239 Forwarded added.

import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../helpers/prng.js';
import { forwardedNode, forwardedValue, forwardRequestHeaders, forwardResponseHeaders, HOP_BY_HOP } from '../../../src/lb/http/forwarding.js';

const ctx = { clientAddr: '198.18.0.1', clientPort: 40000, proto: 'https' as const, vip: '198.18.0.2:443', host: 'www.example.test' };
const names = (l: [string, string][]) => l.map(([n]) => n.toLowerCase());
const get = (l: [string, string][], n: string) => l.filter(([k]) => k.toLowerCase() === n).map(([, v]) => v);

describe('forwardRequestHeaders', () => {
  it('removes_hop_by_hop_fields_and_those_connection_lists', () => {
    const raw = ['Host', 'www.example.test', 'Connection', 'keep-alive, X-Secret, Foo', 'Keep-Alive', 'timeout=5', 'X-Secret', 's', 'foo', 'f', 'TE', 'trailers', 'Upgrade', 'h2c', 'Proxy-Connection', 'keep-alive', 'Trailer', 'X-T', 'Accept', '*/*'];
    const out = forwardRequestHeaders({}, raw, ctx);
    expect(names(out)).toEqual(['host', 'accept', 'x-forwarded-for', 'x-forwarded-proto', 'forwarded']);
    for (const h of HOP_BY_HOP) expect(names(out)).not.toContain(h);
  });

  it('keeps_the_clients_order_and_case', () => {
    const out = forwardRequestHeaders({}, ['Host', 'h.test', 'X-Custom-A', '1', 'accept', 'x', 'X-Custom-A', '2'], { ...ctx, host: 'h.test' });
    expect(out.slice(0, 4)).toEqual([['Host', 'h.test'], ['X-Custom-A', '1'], ['accept', 'x'], ['X-Custom-A', '2']]);
  });

  it('drops_content_length_when_transfer_encoding_was_sent_rfc9112_6_1', () => {
    const out = forwardRequestHeaders({}, ['Host', 'h', 'Transfer-Encoding', 'chunked', 'Content-Length', '10'], ctx);
    expect(names(out)).not.toContain('content-length');
    expect(names(out)).not.toContain('transfer-encoding');
    const plain = forwardRequestHeaders({}, ['Host', 'h', 'Content-Length', '10'], ctx);
    expect(get(plain, 'content-length')).toEqual(['10']);
  });

  it('appends_the_client_to_x_forwarded_for_and_sets_the_proto', () => {
    const out = forwardRequestHeaders({}, ['X-Forwarded-For', '203.0.113.7', 'x-forwarded-for', '198.51.100.1, 10.0.0.1', 'X-Forwarded-Proto', 'http'], ctx);
    expect(get(out, 'x-forwarded-for')).toEqual(['203.0.113.7, 198.51.100.1, 10.0.0.1, 198.18.0.1']);
    expect(get(out, 'x-forwarded-proto')).toEqual(['https']);
    const fresh = forwardRequestHeaders({}, ['Host', 'h'], { ...ctx, proto: 'http', clientAddr: '::ffff:198.18.0.1' });
    expect(get(fresh, 'x-forwarded-for')).toEqual(['198.18.0.1']);
    expect(get(fresh, 'x-forwarded-proto')).toEqual(['http']);
  });

  it('appends_an_rfc7239_forwarded_element_quoting_ports_and_ipv6', () => {
    const out = forwardRequestHeaders({}, ['Forwarded', 'for=192.0.2.43'], ctx);
    // the by= node has a port: ":" is not a token character, so it is a quoted-string (RFC 7239 §6)
    expect(get(out, 'forwarded')).toEqual(['for=192.0.2.43, for=198.18.0.1;proto=https;host=www.example.test;by="198.18.0.2:443"']);
    const v6 = forwardRequestHeaders({}, [], { ...ctx, clientAddr: '2001:db8:cafe::17', host: 'h.test:8443', vip: '198.18.0.2' });
    expect(get(v6, 'forwarded')).toEqual(['for="[2001:db8:cafe::17]";proto=https;host="h.test:8443";by=198.18.0.2']);
    const noHost = forwardRequestHeaders({}, [], { ...ctx, host: undefined });
    expect(get(noHost, 'forwarded')[0]).not.toContain('host=');
  });

  it('escapes_quotes_and_backslashes_in_forwarded_values', () => {
    expect(forwardedValue('a"b\\c d')).toBe('"a\\"b\\\\c d"');
    expect(forwardedValue('token-only.1')).toBe('token-only.1');
    expect(forwardedValue('x\r\ny')).toBe('"xy"');
    expect(forwardedNode('198.18.0.1', 80)).toBe('"198.18.0.1:80"');
    expect(forwardedNode('::1')).toBe('"[::1]"');
  });

  it('falls_back_to_the_parsed_headers_without_raw_headers', () => {
    const out = forwardRequestHeaders({ host: 'h.test', connection: 'close', 'x-a': ['1', '2'] }, [], ctx);
    expect(out.filter(([n]) => !n.startsWith('X-Forwarded') && n !== 'Forwarded')).toEqual([['host', 'h.test'], ['x-a', '1'], ['x-a', '2']]);
  });
});

describe('forwardResponseHeaders', () => {
  it('removes_hop_by_hop_fields_and_keeps_the_rest_in_order', () => {
    const out = forwardResponseHeaders(['Content-Type', 'text/plain', 'Connection', 'close, X-Internal', 'X-Internal', '1', 'Transfer-Encoding', 'chunked', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'Keep-Alive', 'timeout=5']);
    expect(out).toEqual([['Content-Type', 'text/plain'], ['Set-Cookie', 'a=1'], ['Set-Cookie', 'b=2']]);
  });

  it('ignores_a_dangling_name', () => {
    expect(forwardResponseHeaders(['A', '1', 'B'])).toEqual([['A', '1']]);
  });
});

describe('fuzz: header rewriting never throws', () => {
  it('survives_random_raw_headers_and_addresses', () => {
    const rng = mulberry32(0xf0e4);
    const pick = <T>(a: T[]) => a[rng.int(a.length)]!;
    const str = () => String.fromCharCode(...rng.bytes(rng.int(20)));
    for (let i = 0; i < 2000; i++) {
      const raw: string[] = [];
      for (let k = rng.int(12); k > 0; k--) raw.push(rng.int(2) ? pick(['Connection', 'X-Forwarded-For', 'Forwarded', 'TE', 'Transfer-Encoding', 'Content-Length', 'Host']) : str(), str());
      if (rng.int(5) === 0) raw.push(str()); // dangling name
      const out = forwardRequestHeaders({}, raw, { clientAddr: pick(['198.18.0.1', '::1', str()]), clientPort: rng.int(65536), proto: 'http', vip: pick(['198.18.0.2:80', str()]), host: rng.int(2) ? str() : undefined });
      expect(out.filter(([n]) => n === 'Forwarded')).toHaveLength(1);
      for (const [n] of out) expect(HOP_BY_HOP.has(n.toLowerCase())).toBe(false);
      forwardResponseHeaders(raw);
    }
  });
});
