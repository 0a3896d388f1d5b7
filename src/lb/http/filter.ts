// The request filter (the L7 balancer's WAF role), pure: built-in rules (path traversal in any
// encoding, NUL bytes, oversized headers) then ordered allow/deny rules on method, path, header, size.
//
// Design: check() runs before routing and before any backend is contacted; the first rule that
// matches decides, no match allows. Built-ins run first (switchable as a set). A deny answers 403,
// or 413 when the rule is a size rule (deliberate: RFC 6585 §5 has 431 for oversized header fields,
// the issue asks for 403/413, so header-size denials use 413 too). Never throws on any input.

import { normalizePath, type RequestView } from './routes.js';

export interface FilterRule {
  name: string;
  action: 'allow' | 'deny';
  /** The method is one of these. */
  method?: string[];
  /**
   * Regular expression tested against the path (no query) in its normal form (normalizePath:
   * "/%61dmin" and "//admin" are "/admin"); a deny rule also fires on a match of the raw path.
   */
  path?: string;
  /** Regular expression tested against the raw query (without "?"). */
  query?: string;
  /** Only `name`: present; `present: false`: absent; `value`: a regex the value matches. */
  header?: { name: string; present?: boolean; value?: string };
  /** Matches when Content-Length is larger (a deny answers 413). Chunked bodies (no length) don't match. */
  maxBodyBytes?: number;
  /** Matches when the request head's header bytes are more (a deny answers 413). */
  maxHeaderBytes?: number;
}

export type FilterVerdict = { action: 'allow'; rule?: string } | { action: 'deny'; status: 403 | 413; rule: string };

export interface FilterOptions {
  /** Run the built-in rules first (default on in the config). */
  builtin: boolean;
  /** The built-in header size limit (default 16 KiB). */
  maxHeaderBytes?: number;
}

export const BUILTIN_MAX_HEADER_BYTES = 16 * 1024;
export const BUILTIN_RULES = ['builtin:header-size', 'builtin:nul-byte', 'builtin:path-traversal'] as const;

interface Compiled {
  name: string;
  action: 'allow' | 'deny';
  method?: ReadonlySet<string>;
  path?: RegExp;
  query?: RegExp;
  header?: { name: string; present: boolean; value?: RegExp };
  maxBodyBytes?: number;
  maxHeaderBytes?: number;
}

export interface FilterCounters {
  checked: number;
  allowed: number;
  denied: number;
  /** Decisions per rule name (allow and deny rules both). */
  byRule: Map<string, number>;
}

export class RequestFilter {
  private readonly rules: Compiled[];
  private readonly maxHeaderBytes: number;
  readonly counters: FilterCounters = { checked: 0, allowed: 0, denied: 0, byRule: new Map() };

  /** Throws (naming the rule and field) on a bad regex: config time only. */
  constructor(
    rules: FilterRule[],
    private readonly opts: FilterOptions,
  ) {
    this.maxHeaderBytes = opts.maxHeaderBytes ?? BUILTIN_MAX_HEADER_BYTES;
    this.rules = rules.map((r) => {
      const re = (field: string, src: string): RegExp => {
        try {
          return new RegExp(src);
        } catch (e) {
          throw new Error(`filter rule ${r.name}: ${field}: not a valid regular expression: ${(e as Error).message}`);
        }
      };
      const c: Compiled = { name: r.name, action: r.action };
      if (r.method) c.method = new Set(r.method);
      if (r.path !== undefined) c.path = re('path', r.path);
      if (r.query !== undefined) c.query = re('query', r.query);
      if (r.header) {
        c.header = { name: r.header.name.toLowerCase(), present: r.header.present ?? true };
        if (r.header.value !== undefined) c.header.value = re('header.value', r.header.value);
      }
      if (r.maxBodyBytes !== undefined) c.maxBodyBytes = r.maxBodyBytes;
      if (r.maxHeaderBytes !== undefined) c.maxHeaderBytes = r.maxHeaderBytes;
      return c;
    });
  }

  check(req: RequestView, size: { headerBytes: number; contentLength: number | undefined }): FilterVerdict {
    this.counters.checked++;
    const v = this.decide(req, size);
    if (v.action === 'deny') this.counters.denied++;
    else this.counters.allowed++;
    if (v.rule !== undefined) this.counters.byRule.set(v.rule, (this.counters.byRule.get(v.rule) ?? 0) + 1);
    return v;
  }

  private decide(req: RequestView, size: { headerBytes: number; contentLength: number | undefined }): FilterVerdict {
    if (this.opts.builtin) {
      if (size.headerBytes > this.maxHeaderBytes) return { action: 'deny', status: 413, rule: 'builtin:header-size' };
      if (hasNul(req.path) || hasNul(req.query)) return { action: 'deny', status: 403, rule: 'builtin:nul-byte' };
      if (isTraversal(req.path)) return { action: 'deny', status: 403, rule: 'builtin:path-traversal' };
    }
    const path = normalizePath(req.path);
    for (const r of this.rules) {
      if (!ruleMatches(r, req, path, size)) continue;
      if (r.action === 'allow') return { action: 'allow', rule: r.name };
      const sized = r.maxBodyBytes !== undefined || r.maxHeaderBytes !== undefined;
      return { action: 'deny', status: sized ? 413 : 403, rule: r.name };
    }
    return { action: 'allow' };
  }
}

function ruleMatches(r: Compiled, req: RequestView, path: string, size: { headerBytes: number; contentLength: number | undefined }): boolean {
  if (r.method && !r.method.has(req.method)) return false;
  if (r.path && !r.path.test(path) && !(r.action === 'deny' && r.path.test(req.path))) return false;
  if (r.query && !r.query.test(req.query)) return false;
  if (r.header) {
    const v = req.header(r.header.name);
    if (!r.header.present) {
      if (v !== undefined) return false;
    } else {
      if (v === undefined) return false;
      if (r.header.value && !r.header.value.test(v)) return false;
    }
  }
  if (r.maxBodyBytes !== undefined && !(size.contentLength !== undefined && size.contentLength > r.maxBodyBytes)) return false;
  if (r.maxHeaderBytes !== undefined && !(size.headerBytes > r.maxHeaderBytes)) return false;
  return true;
}

/**
 * The size of a request head as the filter counts it (RFC 9112 §2.1): the request-line and every
 * field line with their CRLFs, plus the final CRLF. From node's method, url and rawHeaders.
 * Note: node:http's own limit (maxHeaderSize, 16 KiB by default) answers 431 before the filter sees
 * a request: give the server a larger maxHeaderSize than the filter's limit so the filter decides.
 */
export function requestHeadBytes(method: string, url: string, rawHeaders: string[], httpVersion = '1.1'): number {
  let n = method.length + 1 + url.length + 1 + 5 + httpVersion.length + 2;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) n += rawHeaders[i]!.length + 2 + rawHeaders[i + 1]!.length + 2;
  return n + 2;
}

// ---------- decoding for the built-ins ----------

/**
 * Percent-decodes bytes (as a latin1 string: one char per byte), leaving malformed escapes as they
 * are (RFC 3986 §2.1); also the non-standard IIS "%uXXXX" form for ASCII code points.
 */
function percentDecodeOnce(s: string): string {
  if (!s.includes('%')) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '%') {
      const hex = s.slice(i + 1, i + 3);
      if (/^[0-9a-fA-F]{2}$/.test(hex)) {
        out += String.fromCharCode(parseInt(hex, 16));
        i += 2;
        continue;
      }
      const u = s.slice(i + 1, i + 6);
      if (/^[uU]00[0-7][0-9a-fA-F]$/.test(u)) {
        out += String.fromCharCode(parseInt(u.slice(1), 16));
        i += 5;
        continue;
      }
    }
    out += c;
  }
  return out;
}

/**
 * RFC 3629 §3 forbids overlong UTF-8 forms, which old decoders accepted ("%c0%ae" as "."): map the
 * overlong encodings of "." "/" "\" back to ASCII so a lenient backend can't be fooled past us.
 */
function undoOverlong(s: string): string {
  return s.replace(/\xc0([\x80-\xbf])|\xc1([\x80-\xbf])|\xe0[\x80-\x81]([\x80-\xbf])|\xf0\x80\x80[\x80-\x81]([\x80-\xbf])/g, (m, a?: string, b?: string, c?: string, d?: string) => {
    let code: number;
    if (a !== undefined) code = a.charCodeAt(0) & 0x3f; // 0xc0: code points 0x00-0x3f
    else if (b !== undefined) code = 0x40 | (b.charCodeAt(0) & 0x3f); // 0xc1: 0x40-0x7f
    else {
      const last = (c ?? d)!.charCodeAt(0) & 0x3f;
      const mid = m.charCodeAt(m.length - 2) & 0x3f;
      code = (mid << 6) | last;
    }
    return code < 0x80 ? String.fromCharCode(code) : m;
  });
}

/** Every form the path may take at some decoder: raw, and decoded up to 4 rounds (double encoding). */
function decodings(raw: string): string[] {
  const forms = [raw];
  let s = raw;
  for (let round = 0; round < 4; round++) {
    const next = undoOverlong(percentDecodeOnce(s));
    if (next === s) break;
    forms.push(next);
    s = next;
  }
  return forms;
}

function hasNul(s: string): boolean {
  return decodings(s).some((f) => f.includes('\0'));
}

/**
 * RFC 3986 §5.2.4 removes "." and ".." segments; a request that needs it to stay under the root —
 * or that spells a ".." segment encoded, double-encoded, overlong, with "\" as separator (Windows
 * backends), or with ";params" after it (Tomcat) — is traversal and is refused, not normalised.
 */
export function isTraversal(path: string): boolean {
  for (const f of decodings(path)) {
    for (const seg of f.replace(/\\/g, '/').split('/')) {
      const semi = seg.indexOf(';');
      const bare = semi >= 0 ? seg.slice(0, semi) : seg;
      if (bare === '..') return true;
    }
  }
  return false;
}
