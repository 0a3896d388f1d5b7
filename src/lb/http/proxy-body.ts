// The request side of one proxied request: the client's body streamed to the current backend request
// with backpressure, its first bytes kept for a replay on another backend; and small header helpers.

import type { ClientRequest, IncomingMessage } from 'node:http';

/** Request bodies up to this size are kept so an idempotent request can be replayed on another backend. */
export const REPLAY_LIMIT = 64 * 1024;

/**
 * Streams a client's request body to the current upstream request with backpressure, keeping the
 * first REPLAY_LIMIT bytes so a retry can send them again to another backend.
 */
export class BodyFeed {
  private chunks: Buffer[] = [];
  private bytes = 0;
  /** Body bytes received from the client so far. */
  total = 0;
  replayable = true;
  private ended = false;
  private target: ClientRequest | undefined;

  constructor(private readonly req: IncomingMessage) {
    req.on('data', (d: Buffer) => {
      this.total += d.length;
      if (this.replayable) {
        this.bytes += d.length;
        if (this.bytes > REPLAY_LIMIT) {
          this.replayable = false;
          this.chunks = [];
        } else this.chunks.push(d);
      }
      const t = this.target;
      if (!t) return;
      if (!t.write(d)) {
        req.pause();
        t.once('drain', () => {
          if (this.target === t) req.resume();
        });
      }
    });
    req.on('end', () => {
      this.ended = true;
      this.target?.end();
    });
    // The client went away (or sent a broken body) before the end: the backend gets no half request.
    req.on('close', () => {
      if (this.ended) return;
      this.clientGone = true;
      this.target?.destroy();
    });
  }

  /** The client closed (or its body failed to parse) before the body's end. */
  clientGone = false;

  /** Sends what was kept, then the rest as it comes. */
  attach(t: ClientRequest): void {
    this.target = t;
    for (const c of this.chunks) t.write(c);
    if (this.ended) t.end();
    else this.req.resume();
  }

  /** No backend will get this body: read and drop the rest. */
  abandon(): void {
    this.target = undefined;
    this.chunks = [];
    this.replayable = false;
    this.req.resume();
  }
}

export function parseContentLength(v: string | undefined): number | undefined {
  if (v === undefined || !/^\d{1,15}$/.test(v.trim())) return undefined;
  return Number(v.trim());
}

/** [[name, value], …] → [name, value, name, value, …] (node:http's raw header form). */
export function flatten(list: [string, string][]): string[] {
  const out: string[] = [];
  for (const [n, v] of list) out.push(n, v);
  return out;
}
