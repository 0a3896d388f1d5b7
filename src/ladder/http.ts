// Follows HTTP/1.x messages in one direction of a byte stream (RFC 9112): finds each request or status
// line and skips the body by Content-Length or chunked framing, so a body that happens to start with
// "GET " is not mistaken for a request. Gives up quietly on anything that is not HTTP/1.x.

// RFC 9112 §3: request-line = method SP request-target SP HTTP-version; §4: status-line = HTTP-version SP status-code SP [ reason-phrase ].
const REQUEST = /^[A-Z][A-Z-]{1,19} [\x21-\x7e]+ HTTP\/\d(?:\.\d)?$/;
const STATUS = /^HTTP\/\d(?:\.\d)? \d{3}(?: [\x20-\x7e\t]*)?$/;
/** HTTP/2's connection preface (RFC 9113 §3.4) starts like a request line. */
const H2_PREFACE = 'PRI * HTTP/2.0';
/** Header sections larger than this are not followed (real ones are a few KB). */
const MAX_HEADER = 64 * 1024;
const MAX_LINE_SHOWN = 200;

/** The HTTP/1.x start line `line` is, or undefined. */
function startLine(line: string): string | undefined {
  if (line === H2_PREFACE) return 'HTTP/2 connection preface';
  if (REQUEST.test(line) || STATUS.test(line)) return line.length > MAX_LINE_SHOWN ? line.slice(0, MAX_LINE_SHOWN) + '…' : line;
  return undefined;
}

type State =
  | { kind: 'head' }
  | { kind: 'body'; left: number }
  | { kind: 'chunk-size' }
  | { kind: 'chunk-data'; left: number }
  | { kind: 'trailers' }
  /** Body until the connection closes, or not HTTP at all: nothing more is read. */
  | { kind: 'done' };

export class HttpTracker {
  private state: State = { kind: 'head' };
  /** Bytes of an incomplete header section or chunk-size/trailer line. */
  private buf: number[] = [];
  /** The current header section has begun (its first non-CRLF byte was seen). */
  private started = false;
  /** The current message's start line was complete and checked. */
  private lineChecked = false;
  /** Methods of the requests this side sent, oldest first, for the other side's responses to consume. */
  private readonly methods: string[] = [];
  /** The tracker of the other direction (its requests decide how this side's responses are framed). */
  peer: HttpTracker | undefined;

  /** Feeds in-order bytes; returns the start lines of the messages whose header section completed. */
  push(bytes: Uint8Array): string[] {
    const found: string[] = [];
    let i = 0;
    while (i < bytes.length && this.state.kind !== 'done') {
      const s = this.state;
      switch (s.kind) {
        case 'head': {
          if (!this.started) {
            const c0 = bytes[i]!;
            // RFC 9112 §2.2: "a server that is expecting to receive and parse a request-line SHOULD ignore at
            // least one empty line (CRLF) received prior to the request-line".
            if (c0 === 0x0d || c0 === 0x0a) {
              i++;
              break;
            }
            // A request line starts with a method token, a status line with "HTTP/": both upper case.
            if (!(c0 >= 0x41 && c0 <= 0x5a)) {
              this.state = { kind: 'done' };
              break;
            }
            this.started = true;
          }
          const c = bytes[i++]!;
          this.buf.push(c);
          const n = this.buf.length;
          if (n > MAX_HEADER || (!this.lineChecked && n > 8192)) {
            this.state = { kind: 'done' };
            break;
          }
          if (c === 0x0a && !this.lineChecked) {
            // The start line is complete: if it is not HTTP/1.x, nothing in this direction is.
            this.lineChecked = true;
            if (startLine(Buffer.from(this.buf).toString('latin1').replace(/\r?\n$/, '')) === undefined) {
              this.state = { kind: 'done' };
              break;
            }
          }
          // RFC 9112 §2.1: the header section ends with an empty line (CRLF CRLF; a bare LF is tolerated, §2.2).
          if (c === 0x0a && n >= 2 && (this.buf[n - 2] === 0x0a || (this.buf[n - 2] === 0x0d && n >= 3 && this.buf[n - 3] === 0x0a))) {
            const head = Buffer.from(this.buf).toString('latin1');
            this.buf = [];
            this.started = false;
            this.lineChecked = false;
            const lines = head.split(/\r?\n/);
            const first = startLine(lines[0]!);
            if (first === undefined) {
              this.state = { kind: 'done' };
              break;
            }
            found.push(first);
            this.state = this.bodyState(lines);
          }
          break;
        }
        case 'body': {
          const take = Math.min(s.left, bytes.length - i);
          i += take;
          s.left -= take;
          if (s.left === 0) this.state = { kind: 'head' };
          break;
        }
        case 'chunk-size':
        case 'trailers': {
          const c = bytes[i++]!;
          this.buf.push(c);
          if (this.buf.length > 4096) {
            this.state = { kind: 'done' };
            break;
          }
          if (c !== 0x0a) break;
          const line = Buffer.from(this.buf).toString('latin1').replace(/\r?\n$/, '');
          this.buf = [];
          if (s.kind === 'trailers') {
            // RFC 9112 §7.1.2: the trailer section ends with an empty line.
            if (line === '') this.state = { kind: 'head' };
            break;
          }
          if (line === '') break; // the CRLF after the previous chunk's data
          // RFC 9112 §7.1: chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF; last-chunk = 1*("0") ...
          const m = /^([0-9a-fA-F]{1,8})(?:[ \t]*;.*)?[ \t]*$/.exec(line);
          if (m === null) {
            this.state = { kind: 'done' };
            break;
          }
          const size = parseInt(m[1]!, 16);
          this.state = size === 0 ? { kind: 'trailers' } : { kind: 'chunk-data', left: size };
          break;
        }
        case 'chunk-data': {
          const take = Math.min(s.left, bytes.length - i);
          i += take;
          s.left -= take;
          if (s.left === 0) this.state = { kind: 'chunk-size' };
          break;
        }
      }
    }
    return found;
  }

  /** RFC 9112 §6.3: the message body length from the header section. */
  private bodyState(lines: string[]): State {
    const isResponse = lines[0]!.startsWith('HTTP/');
    const code = isResponse ? Number(lines[0]!.slice(9, 12)) : 0;
    if (!isResponse) this.methods.push(lines[0]!.slice(0, lines[0]!.indexOf(' ')));
    // A final response answers the peer's oldest request; 1xx responses are interim (RFC 9110 §15.2).
    const method = isResponse && code >= 200 ? this.peer?.methods.shift() : undefined;
    let length: number | undefined;
    let chunked = false;
    for (const l of lines.slice(1)) {
      const colon = l.indexOf(':');
      if (colon <= 0) continue;
      const name = l.slice(0, colon).trim().toLowerCase();
      const value = l.slice(colon + 1).trim();
      if (name === 'transfer-encoding' && /(?:^|,)\s*chunked\s*$/i.test(value)) chunked = true;
      if (name === 'content-length' && /^\d{1,15}$/.test(value)) length = Number(value);
    }
    if (isResponse) {
      // RFC 9112 §6.3 (1): a response to HEAD, and 1xx, 204 and 304 responses, have no body; (2) a 2xx
      // response to CONNECT turns the connection into a tunnel.
      if (method === 'HEAD' || (code >= 100 && code < 200) || code === 204 || code === 304) return { kind: 'head' };
      if (method === 'CONNECT' && code >= 200 && code < 300) return { kind: 'done' };
    }
    if (this.methods.length > 64) this.methods.shift(); // a peer that never answers: keep the queue bounded
    // (4) chunked wins over Content-Length; (6) a request with neither has no body; (7) a response with
    // neither runs to the end of the connection.
    if (chunked) return { kind: 'chunk-size' };
    if (length !== undefined) return length === 0 ? { kind: 'head' } : { kind: 'body', left: length };
    return isResponse ? { kind: 'done' } : { kind: 'head' };
  }
}
