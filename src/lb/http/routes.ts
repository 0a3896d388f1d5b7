// L7 routing, pure: a RequestView over node:http's parsed request (host, path, query, headers,
// cookies) and a Router that walks ordered rules (host, path prefix/regex, header, cookie, method).
//
// Design: rules are compiled once (regexes, lowercased names) and evaluated in order; every condition
// a rule gives must hold (AND); the first match wins, else the default pool. The view is built from
// untrusted bytes and never throws: odd request-targets give an empty path, bad cookies are skipped.
// Paths are matched in a normal form (normalizePath: percent-encoded unreserved characters decoded,
// repeated slashes merged) so equivalent spellings route alike; the raw path is what is forwarded.

export interface RequestView {
  method: string;
  /** The request-target's path, without query (raw, not percent-decoded). */
  path: string;
  /** The query without its "?" ("" when none). */
  query: string;
  /** Lowercased, without port ("" when the request named none). */
  host: string;
  /** A header by lowercase name; repeated fields joined with ", ". */
  header(name: string): string | undefined;
  /** A cookie's value from the Cookie header (the first one of that name), quotes removed. */
  cookie(name: string): string | undefined;
  /** The scheme the client used (the listener's): part of the cache key (RFC 9111 §2). Default "http". */
  scheme?: 'http' | 'https';
}

export interface RouteMatch {
  /** Exact host ("api.example.test") or a wildcard ("*.example.test": one or more labels before it). */
  host?: string;
  /** Plain string prefix of the normalised path ("/api/" matches "/api/x", not "/apix"). */
  pathPrefix?: string;
  /** Regular expression tested against the normalised path (unanchored unless it anchors itself). */
  pathRegex?: string;
  /** Only `name`: present. `present: false`: absent. `value`: equal. `regex`: matches. */
  header?: { name: string; value?: string; regex?: string; present?: boolean };
  /** Only `name`: present. `value`: equal. `regex`: matches. */
  cookie?: { name: string; value?: string; regex?: string };
  /** One of these methods (case-sensitive, RFC 9110 §9.1). */
  method?: string[];
}

export interface RouteRule {
  name: string;
  match: RouteMatch;
  pool: string;
}

export type HeaderValues = Record<string, string | string[] | undefined>;

// ---------- the request view ----------

/**
 * Builds a RequestView from node:http's IncomingMessage fields (method, url, headers). Never throws.
 * RFC 9112 §3.2.2: with an absolute-form target, its authority is the host (the Host field is ignored).
 */
export function requestView(method: string, url: string, headers: HeaderValues, opts: { scheme?: 'http' | 'https' } = {}): RequestView {
  let target = typeof url === 'string' ? url : '';
  let host = headerOf(headers, 'host') ?? '';
  // RFC 9112 §3.2.2 absolute-form: "http://authority/path?query".
  const abs = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/([^/?#]*)/.exec(target);
  if (abs) {
    host = abs[1]!.replace(/^.*@/, ''); // userinfo is not part of the host
    target = target.slice(abs[0].length);
    if (target === '' || target[0] === '?') target = '/' + target;
  }
  const hash = target.indexOf('#');
  if (hash >= 0) target = target.slice(0, hash);
  const q = target.indexOf('?');
  const path = q >= 0 ? target.slice(0, q) : target;
  const query = q >= 0 ? target.slice(q + 1) : '';
  let cookies: Map<string, string> | undefined;
  return {
    scheme: opts.scheme ?? 'http',
    method: typeof method === 'string' ? method : '',
    path,
    query,
    host: normalizeHost(host),
    header: (name) => headerOf(headers, name.toLowerCase()),
    cookie(name) {
      cookies ??= parseCookieHeader(headerOf(headers, 'cookie'));
      return cookies.get(name);
    },
  };
}

/**
 * The request-target to send to a backend: origin-form (RFC 9112 §3.2.1, "/path?query") — also for
 * a client's absolute-form — or "*" for OPTIONS (§3.2.4). Undefined for what a reverse proxy does
 * not forward (authority-form CONNECT targets, anything not starting with "/"): answer 400/405.
 */
export function originForm(req: RequestView): string | undefined {
  if (req.path === '*') return req.method === 'OPTIONS' && req.query === '' ? '*' : undefined;
  if (!req.path.startsWith('/')) return undefined;
  return req.query === '' ? req.path : `${req.path}?${req.query}`;
}

/**
 * The path in the form routes and filter rules see. RFC 3986 §6.2.2.2: percent-encoded unreserved
 * characters (ALPHA / DIGIT / "-" / "." / "_" / "~", §2.3) are equivalent to the characters, so they
 * are decoded ("/%61pi" is "/api"); §6.2.2.1: other escapes get uppercase hex. Repeated "/" are
 * merged (deliberate, as nginx's merge_slashes: most backends read "//api" as "/api"). Dot segments
 * are left alone: the filter refuses "..", and "." is harmless.
 */
export function normalizePath(raw: string): string {
  let s = raw;
  if (s.includes('%')) {
    s = s.replace(/%([0-9a-fA-F]{2})/g, (m: string, hex: string) => {
      const c = String.fromCharCode(parseInt(hex, 16));
      return /[A-Za-z0-9\-._~]/.test(c) ? c : m.toUpperCase();
    });
  }
  return s.includes('//') ? s.replace(/\/{2,}/g, '/') : s;
}

function headerOf(headers: HeaderValues, lower: string): string | undefined {
  if (headers === null || typeof headers !== 'object' || !Object.prototype.hasOwnProperty.call(headers, lower)) return undefined;
  const v = headers[lower];
  if (v === undefined) return undefined;
  if (Array.isArray(v)) return lower === 'cookie' ? v.join('; ') : v.join(', ');
  return typeof v === 'string' ? v : String(v);
}

/** "Example.TEST:8080" → "example.test"; "[::1]:80" → "[::1]"; a trailing dot is dropped. */
export function normalizeHost(h: string): string {
  let s = h.trim().toLowerCase();
  if (s.startsWith('[')) {
    const end = s.indexOf(']');
    return end > 0 ? s.slice(0, end + 1) : s;
  }
  const colon = s.lastIndexOf(':');
  if (colon >= 0) s = s.slice(0, colon);
  if (s.endsWith('.')) s = s.slice(0, -1);
  return s;
}

/**
 * The Cookie header's pairs, first of each name kept (RFC 6265 §5.4: the user agent lists more
 * specific paths first; §4.2.2: servers should not rely on order beyond that). Grammar per
 * §4.2.1 (cookie-pair *( ";" SP cookie-pair )) parsed tolerantly: any ";" separates, whitespace is
 * trimmed, a pair without "=" is skipped, a value in DQUOTEs loses them. Never throws.
 */
export function parseCookieHeader(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (typeof header !== 'string' || header === '') return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (name === '' || out.has(name)) continue;
    let value = part.slice(eq + 1).trim();
    // RFC 6265 §4.2.1: cookie-value = *cookie-octet / ( DQUOTE *cookie-octet DQUOTE )
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    out.set(name, value);
  }
  return out;
}

// ---------- the router ----------

interface CompiledRule {
  name: string;
  pool: string;
  host?: { exact: string } | { suffix: string };
  pathPrefix?: string;
  pathRegex?: RegExp;
  header?: { name: string; value?: string; regex?: RegExp; present: boolean };
  cookie?: { name: string; value?: string; regex?: RegExp };
  method?: ReadonlySet<string>;
}

/** Compiles a rule's match; throws (an Error naming the rule and field) on a bad regex: config time only. */
export function compileRule(r: RouteRule): CompiledRule {
  const re = (field: string, src: string): RegExp => {
    try {
      return new RegExp(src);
    } catch (e) {
      throw new Error(`route ${r.name}: ${field}: not a valid regular expression: ${(e as Error).message}`);
    }
  };
  const m = r.match;
  const c: CompiledRule = { name: r.name, pool: r.pool };
  if (m.host !== undefined) {
    const h = m.host.toLowerCase();
    c.host = h.startsWith('*.') ? { suffix: h.slice(1) } : { exact: normalizeHost(h) };
  }
  if (m.pathPrefix !== undefined) c.pathPrefix = m.pathPrefix;
  if (m.pathRegex !== undefined) c.pathRegex = re('match.pathRegex', m.pathRegex);
  if (m.header !== undefined) {
    const h = m.header;
    c.header = { name: h.name.toLowerCase(), present: h.present ?? true };
    if (h.value !== undefined) c.header.value = h.value;
    if (h.regex !== undefined) c.header.regex = re('match.header.regex', h.regex);
  }
  if (m.cookie !== undefined) {
    c.cookie = { name: m.cookie.name };
    if (m.cookie.value !== undefined) c.cookie.value = m.cookie.value;
    if (m.cookie.regex !== undefined) c.cookie.regex = re('match.cookie.regex', m.cookie.regex);
  }
  if (m.method !== undefined) c.method = new Set(m.method);
  return c;
}

function matches(c: CompiledRule, req: RequestView, path: string): boolean {
  if (c.method && !c.method.has(req.method)) return false;
  if (c.host) {
    if ('exact' in c.host) {
      if (req.host !== c.host.exact) return false;
    } else if (!(req.host.length > c.host.suffix.length && req.host.endsWith(c.host.suffix))) return false;
  }
  if (c.pathPrefix !== undefined && !path.startsWith(c.pathPrefix)) return false;
  if (c.pathRegex && !c.pathRegex.test(path)) return false;
  if (c.header) {
    const v = req.header(c.header.name);
    if (!c.header.present) {
      if (v !== undefined) return false;
    } else {
      if (v === undefined) return false;
      if (c.header.value !== undefined && v !== c.header.value) return false;
      if (c.header.regex && !c.header.regex.test(v)) return false;
    }
  }
  if (c.cookie) {
    const v = req.cookie(c.cookie.name);
    if (v === undefined) return false;
    if (c.cookie.value !== undefined && v !== c.cookie.value) return false;
    if (c.cookie.regex && !c.cookie.regex.test(v)) return false;
  }
  return true;
}

export class Router {
  private readonly rules: CompiledRule[];
  /** Requests routed per rule name ("(default)" for the default pool, "(none)" when unrouted). */
  readonly counters = new Map<string, number>();

  constructor(
    rules: RouteRule[],
    private readonly defaultPool: string | undefined,
  ) {
    this.rules = rules.map(compileRule);
  }

  /** The first rule whose conditions all hold, else the default pool, else undefined. */
  route(req: RequestView): { rule: string; pool: string } | undefined {
    const path = normalizePath(req.path);
    for (const r of this.rules) {
      if (matches(r, req, path)) {
        this.count(r.name);
        return { rule: r.name, pool: r.pool };
      }
    }
    if (this.defaultPool === undefined) {
      this.count('(none)');
      return undefined;
    }
    this.count('(default)');
    return { rule: '(default)', pool: this.defaultPool };
  }

  private count(name: string): void {
    this.counters.set(name, (this.counters.get(name) ?? 0) + 1);
  }
}
