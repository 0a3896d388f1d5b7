// A small JSON parser (RFC 8259) that remembers the line each value starts on, keyed by its path
// ("services[0].backends[1].weight"), so config errors can name the line. Never throws: typed result.

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export type JsonParsed = { ok: true; value: Json; lines: Map<string, number> } | { ok: false; error: string; line: number };

class JsonSyntax {
  constructor(
    readonly message: string,
    readonly pos: number,
  ) {}
}

export function parseJsonWithLines(text: string): JsonParsed {
  const lines = new Map<string, number>();
  let pos = 0;
  const lineAt = (p: number): number => {
    let n = 1;
    for (let i = 0; i < p && i < text.length; i++) if (text.charCodeAt(i) === 10) n++;
    return n;
  };
  // Line numbers are computed incrementally (a line counter follows pos) for speed.
  let lineNo = 1;
  let linePos = 0;
  const lineOf = (p: number): number => {
    for (; linePos < p; linePos++) if (text.charCodeAt(linePos) === 10) lineNo++;
    return lineNo;
  };
  const ws = () => {
    while (pos < text.length && ' \t\n\r'.includes(text[pos]!)) pos++;
  };
  const fail = (msg: string): never => {
    throw new JsonSyntax(msg, pos);
  };
  const str = (): string => {
    pos++; // opening quote
    let out = '';
    for (;;) {
      if (pos >= text.length) fail('unterminated string');
      const c = text[pos++]!;
      if (c === '"') return out;
      if (c === '\\') {
        const e = text[pos++];
        const map: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
        if (e !== undefined && e in map) out += map[e];
        else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(pos, pos + 4))) {
          out += String.fromCharCode(parseInt(text.slice(pos, pos + 4), 16));
          pos += 4;
        } else fail('bad escape in string');
      } else if (c.charCodeAt(0) < 0x20) fail('control character in string');
      else out += c;
    }
  };
  const value = (path: string): Json => {
    ws();
    lines.set(path, lineOf(pos));
    const c = text[pos];
    if (c === '{') {
      pos++;
      const obj: { [k: string]: Json } = {};
      ws();
      if (text[pos] === '}') {
        pos++;
        return obj;
      }
      for (;;) {
        ws();
        if (text[pos] !== '"') fail('expected a "key"');
        const k = str();
        ws();
        if (text[pos] !== ':') fail(`expected ':' after "${k}"`);
        pos++;
        obj[k] = value(path === '' ? k : `${path}.${k}`);
        ws();
        if (text[pos] === ',') {
          pos++;
          continue;
        }
        if (text[pos] === '}') {
          pos++;
          return obj;
        }
        fail("expected ',' or '}'");
      }
    }
    if (c === '[') {
      pos++;
      const arr: Json[] = [];
      ws();
      if (text[pos] === ']') {
        pos++;
        return arr;
      }
      for (;;) {
        arr.push(value(`${path}[${arr.length}]`));
        ws();
        if (text[pos] === ',') {
          pos++;
          continue;
        }
        if (text[pos] === ']') {
          pos++;
          return arr;
        }
        fail("expected ',' or ']'");
      }
    }
    if (c === '"') return str();
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(pos, pos + 64));
    if (m) {
      pos += m[0].length;
      return Number(m[0]);
    }
    for (const [word, v] of [['true', true], ['false', false], ['null', null]] as const) {
      if (text.startsWith(word, pos)) {
        pos += word.length;
        return v;
      }
    }
    return fail(pos >= text.length ? 'unexpected end of input' : `unexpected character '${c}'`);
  };
  try {
    const v = value('');
    ws();
    if (pos < text.length) fail('trailing characters after the JSON value');
    return { ok: true, value: v, lines };
  } catch (e) {
    if (e instanceof JsonSyntax) return { ok: false, error: e.message, line: lineAt(e.pos) };
    return { ok: false, error: 'nesting too deep', line: lineAt(pos) };
  }
}
