// PEM (RFC 7468): decode every block with a given label from text that may hold CRLF line ends,
// explanatory text between blocks and RFC 1421 headers; encode DER as a 64-column block.

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * RFC 7468 §2: the DER of every `label` block in `text`, in order. Blocks whose base64 is malformed,
 * whose END label differs from the BEGIN label, or whose label is different are skipped; never throws.
 */
export function pemDecodeAll(text: string, label = 'CERTIFICATE'): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const m of text.matchAll(BLOCK)) {
    if (m[1] !== label || m[3] !== label) continue;
    // RFC 1421 headers (e.g. "Proc-Type: 4,ENCRYPTED") are lines holding a colon; RFC 7468 §2 lets a
    // parser ignore them. What is left is base64 with whitespace anywhere.
    const body = (m[2] ?? '')
      .split(/\r?\n|\r/)
      .filter((line) => !line.includes(':'))
      .join('')
      .replace(/\s+/g, '');
    if (body.length === 0 || body.length % 4 !== 0 || !BASE64.test(body)) continue;
    out.push(new Uint8Array(Buffer.from(body, 'base64')));
  }
  return out;
}

/** RFC 7468 §2: "-----BEGIN label-----", base64 in lines of 64 characters, "-----END label-----", LF line ends. */
export function pemEncode(der: Uint8Array, label: string): string {
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
