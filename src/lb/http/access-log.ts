// The L7 proxy's access log, one line per request (client, request line, route, backend, status, bytes
// in/out, time to first byte and total, cache and filter outcome), and its per-route and per-backend
// counters as they appear in `tunstack lb`'s JSON stats.

export interface AccessEntry {
  client: string;
  proto: 'http' | 'https';
  method: string;
  target: string;
  httpVersion: string;
  route: string;
  backend: string;
  status: number;
  bytesIn: number;
  bytesOut: number;
  /** Milliseconds to the first response byte (headers), and to the end; undefined when never reached. */
  ttfbMs: number | undefined;
  totalMs: number;
  /** HIT, MISS, or "-" (not a cacheable request / no cache). */
  cache: string;
  /** "allow", or "deny:<rule>". */
  filter: string;
  /** Retries on another backend, and a note such as "backend reset mid-response". */
  retries: number;
  note: string | undefined;
}

/** Control characters and quotes from the client never reach the log as they are. */
function safe(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\x00-\x1f\x7f"\\]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export function formatAccessLine(e: AccessEntry): string {
  const ms = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(1));
  const target = e.target.length > 512 ? `${e.target.slice(0, 512)}…` : e.target;
  return (
    `${e.client} ${e.proto} "${safe(e.method)} ${safe(target)} HTTP/${safe(e.httpVersion)}" route=${safe(e.route)} backend=${e.backend} ` +
    `status=${e.status} in=${e.bytesIn} out=${e.bytesOut} ttfb_ms=${ms(e.ttfbMs)} total_ms=${ms(e.totalMs)} cache=${e.cache} filter=${safe(e.filter)}` +
    (e.retries > 0 ? ` retries=${e.retries}` : '') +
    (e.note ? ` note="${safe(e.note)}"` : '')
  );
}

/** Counters for one route or one backend. */
export class HttpCounters {
  requests = 0;
  /** By status code ("200", "404", …; "000" for a request that got no status, e.g. a client abort). */
  statuses: Record<string, number> = {};
  bytesIn = 0;
  bytesOut = 0;
  cacheHits = 0;
  denied = 0;

  add(e: AccessEntry): void {
    this.requests++;
    const k = String(e.status).padStart(3, '0');
    this.statuses[k] = (this.statuses[k] ?? 0) + 1;
    this.bytesIn += e.bytesIn;
    this.bytesOut += e.bytesOut;
    if (e.cache === 'HIT') this.cacheHits++;
    if (e.filter.startsWith('deny')) this.denied++;
  }

  toJSON(): Record<string, unknown> {
    return { requests: this.requests, statuses: this.statuses, bytesIn: this.bytesIn, bytesOut: this.bytesOut, cacheHits: this.cacheHits, denied: this.denied };
  }
}
