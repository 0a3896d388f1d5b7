// The header lists a reverse proxy sends on: hop-by-hop fields removed (RFC 9110 §7.6.1) both ways,
// and on requests X-Forwarded-For / X-Forwarded-Proto set and RFC 7239 Forwarded appended.
//
// Design: works on node's rawHeaders (name/value pairs, in order, original case) so the backend sees
// the client's fields as sent; node's parsed headers object is consulted only as a fallback. Pure.
// HTTP/1.1 framing (Content-Length / chunked) is re-done by node:http when the list is written.

/** RFC 9110 §7.6.1 hop-by-hop fields (plus the non-standard Proxy-Connection and Keep-Alive). */
export const HOP_BY_HOP: ReadonlySet<string> = new Set(['connection', 'proxy-connection', 'keep-alive', 'te', 'transfer-encoding', 'upgrade', 'trailer']);

export interface ForwardContext {
  clientAddr: string;
  clientPort: number;
  proto: 'http' | 'https';
  /** The address (and port) the client connected to, e.g. "198.18.0.2:443": Forwarded by=. */
  vip: string;
  /** The request's Host as the client sent it (with port), undefined when it sent none. */
  host: string | undefined;
}

/** Pairs from node's rawHeaders ([name, value, name, value, …]); a dangling name is dropped. */
function pairs(raw: string[]): [string, string][] {
  const out: [string, string][] = [];
  if (!Array.isArray(raw)) return out;
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([String(raw[i]), String(raw[i + 1])]);
  return out;
}

/**
 * RFC 9110 §7.6.1: "a proxy or gateway MUST parse a received Connection header field before a
 * message is forwarded and, for each connection-option in this field, remove any header or trailer
 * field(s) from the message with the same name as the connection-option, and then remove the
 * Connection header field itself (or replace it with the intermediary's own control options)".
 */
function withoutHopByHop(list: [string, string][]): [string, string][] {
  const listed = new Set<string>();
  let hadTransferEncoding = false;
  for (const [n, v] of list) {
    const name = n.toLowerCase();
    if (name === 'connection') for (const opt of v.split(',')) listed.add(opt.trim().toLowerCase());
    if (name === 'transfer-encoding') hadTransferEncoding = true;
  }
  return list.filter(([n]) => {
    const name = n.toLowerCase();
    if (HOP_BY_HOP.has(name) || listed.has(name)) return false;
    // RFC 9112 §6.1: "A sender MUST NOT send a Content-Length header field in any message that
    // contains a Transfer-Encoding header field" (and §6.3: Transfer-Encoding overrides it).
    if (hadTransferEncoding && name === 'content-length') return false;
    return true;
  });
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * RFC 7239 §4: value = token / quoted-string. §6: an IPv6 address is bracketed and, like any node
 * with a port (":" is not a token character), quoted. Quoted-string per RFC 9110 §5.6.4, with '"'
 * and '\' escaped as quoted-pairs; control characters (never valid there) are dropped.
 */
export function forwardedValue(v: string): string {
  if (TOKEN.test(v)) return v;
  // eslint-disable-next-line no-control-regex
  const clean = v.replace(/[\x00-\x08\x0a-\x1f\x7f]/g, '');
  return `"${clean.replace(/["\\]/g, (c) => '\\' + c)}"`;
}

/** RFC 7239 §6 node: IPv4 as is, IPv6 in brackets; "::ffff:a.b.c.d" (node's mapped form) as IPv4. */
export function forwardedNode(addr: string, port?: number): string {
  let a = addr.startsWith('::ffff:') && addr.includes('.') ? addr.slice(7) : addr;
  if (a.includes(':') && !a.startsWith('[')) a = `[${a}]`;
  return forwardedValue(port === undefined ? a : `${a}:${port}`);
}

/**
 * The request's header list for the backend: hop-by-hop removed, X-Forwarded-For with the client
 * appended after any list it brought, X-Forwarded-Proto set to the client's protocol, and an RFC 7239
 * Forwarded element appended (for, proto, host, by).
 */
export function forwardRequestHeaders(
  incoming: Record<string, string | string[] | undefined>,
  rawHeaders: string[],
  ctx: ForwardContext,
): [string, string][] {
  let list = pairs(rawHeaders);
  if (list.length === 0 && incoming && typeof incoming === 'object') {
    for (const [n, v] of Object.entries(incoming)) {
      if (v === undefined) continue;
      for (const one of Array.isArray(v) ? v : [v]) list.push([n, one]);
    }
  }
  list = withoutHopByHop(list);
  const xff: string[] = [];
  const fwd: string[] = [];
  const out: [string, string][] = [];
  for (const [n, v] of list) {
    const name = n.toLowerCase();
    if (name === 'x-forwarded-for') xff.push(v.trim());
    else if (name === 'forwarded') fwd.push(v.trim());
    else if (name !== 'x-forwarded-proto') out.push([n, v]);
  }
  const client = ctx.clientAddr.startsWith('::ffff:') && ctx.clientAddr.includes('.') ? ctx.clientAddr.slice(7) : ctx.clientAddr;
  // X-Forwarded-For (de facto): "client, proxy1, proxy2"; we append the address we saw.
  out.push(['X-Forwarded-For', [...xff.filter((s) => s !== ''), client].join(', ')]);
  out.push(['X-Forwarded-Proto', ctx.proto]);
  // RFC 7239 §4: forwarded-element = [ forwarded-pair ] *( ";" [ forwarded-pair ] ); a proxy appends
  // its element to the list (§5: "for" the client, "by" the interface the request came in on).
  const params = [`for=${forwardedNode(client)}`, `proto=${ctx.proto}`];
  if (ctx.host !== undefined && ctx.host !== '') params.push(`host=${forwardedValue(ctx.host)}`);
  const vipColon = ctx.vip.lastIndexOf(':');
  const vipPort = vipColon > 0 && /^\d+$/.test(ctx.vip.slice(vipColon + 1)) && !ctx.vip.slice(0, vipColon).includes(':') ? Number(ctx.vip.slice(vipColon + 1)) : undefined;
  params.push(`by=${vipPort === undefined ? forwardedNode(ctx.vip) : forwardedNode(ctx.vip.slice(0, vipColon), vipPort)}`);
  out.push(['Forwarded', [...fwd.filter((s) => s !== ''), params.join(';')].join(', ')]);
  return out;
}

/** The response's header list for the client: hop-by-hop removed (RFC 9110 §7.6.1). */
export function forwardResponseHeaders(rawHeaders: string[]): [string, string][] {
  return withoutHopByHop(pairs(rawHeaders));
}
