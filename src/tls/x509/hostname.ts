// Server identity checks (RFC 6125 §6, RFC 5280 §4.2.1.6): a DNS name against dNSName SANs (wildcard
// only as the whole left-most label), an IP literal against iPAddress SANs, and the IP text forms used.

/** Dotted-quad IPv4 or RFC 5952 IPv6 text of a 4- or 16-byte address. */
export function formatIp(b: Uint8Array): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  const words: number[] = [];
  for (let i = 0; i + 1 < b.length; i += 2) words.push((b[i]! << 8) | b[i + 1]!);
  // RFC 5952 §4.2: compress the longest run (of two or more) of zero words with "::".
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < words.length; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < words.length && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestAt < 0) return hex.join(':');
  return `${hex.slice(0, bestAt).join(':')}::${hex.slice(bestAt + bestLen).join(':')}`;
}

/** Four decimal octets 0..255 without leading zeros (so "010.1.1.1" is not taken as an address). */
export function parseIPv4(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    out[i] = v;
  }
  return out;
}

/** RFC 4291 §2.2 text forms (including a trailing dotted quad), without a zone index. */
export function parseIPv6(text: string): Uint8Array | undefined {
  if (!text.includes(':') || !/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  let s = text;
  const v4tail: number[] = [];
  const lastColon = s.lastIndexOf(':');
  const last = s.slice(lastColon + 1);
  if (last.includes('.')) {
    // RFC 4291 §2.2 (3): "x:x:x:x:x:x:d.d.d.d" — the dotted quad stands for the low two words.
    const v4 = parseIPv4(last);
    if (!v4) return undefined;
    v4tail.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
    s = s.slice(0, lastColon + 1);
    if (!s.endsWith('::')) s = s.slice(0, -1);
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const words = (h: string): number[] | undefined => {
    if (h === '') return [];
    const out: number[] = [];
    for (const g of h.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = words(halves[0]!);
  const rest = halves.length === 2 ? words(halves[1]!) : [];
  if (!head || !rest) return undefined;
  let all: number[];
  if (halves.length === 1) {
    all = [...head, ...v4tail];
  } else {
    // "::" stands for one or more zero words.
    const n = head.length + rest.length + v4tail.length;
    if (n > 7) return undefined;
    all = [...head, ...new Array<number>(8 - n).fill(0), ...rest, ...v4tail];
  }
  if (all.length !== 8) return undefined;
  const out = new Uint8Array(16);
  all.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}

/** An IPv4 or IPv6 literal, or undefined for anything else (a DNS name). */
export function parseIpLiteral(text: string): Uint8Array | undefined {
  const t = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  return parseIPv4(t) ?? parseIPv6(t);
}

/** Lowercase, without one trailing root dot (RFC 6125 §6.2.1 compares case-insensitively). */
function canonicalDns(name: string): string {
  const n = name.toLowerCase();
  return n.endsWith('.') ? n.slice(0, -1) : n;
}

/**
 * RFC 6125 §6.4.1 and §6.4.3: a reference DNS name against one presented dNSName. A wildcard is honoured only
 * as the complete left-most label ("*.example.com"), matches exactly one non-empty label, and needs at least
 * two labels after it (no "*.com"); partial-label wildcards ("w*.example.com") never match.
 */
export function dnsNameMatches(reference: string, presented: string): boolean {
  const ref = canonicalDns(reference);
  const pat = canonicalDns(presented);
  if (ref.length === 0 || pat.length === 0) return false;
  if (!pat.startsWith('*.')) return !pat.includes('*') && ref === pat;
  const suffix = pat.slice(2);
  if (suffix.includes('*') || suffix.split('.').length < 2) return false;
  const dot = ref.indexOf('.');
  if (dot <= 0) return false;
  return ref.slice(dot + 1) === suffix;
}

/** What the server's leaf certificate presents as its identity. */
export interface PresentedIdentity {
  hasSubjectAltName: boolean;
  dnsNames: readonly string[];
  ipAddresses: readonly string[];
  commonName: string | undefined;
}

/**
 * Checks `name` (a DNS name or an IP literal) against a leaf certificate; returns undefined when it matches,
 * or the human reason it does not. RFC 6125 §6.4.4: the CN is consulted only when there is no
 * subjectAltName at all, and never for IP addresses.
 */
export function checkServerIdentity(cert: PresentedIdentity, name: string): string | undefined {
  const ip = parseIpLiteral(name);
  const presented = [...cert.dnsNames, ...cert.ipAddresses];
  if (presented.length === 0 && !cert.hasSubjectAltName && cert.commonName) presented.push(cert.commonName);
  const shown = presented.length === 0 ? 'no name' : presented.slice(0, 5).join(', ') + (presented.length > 5 ? ', …' : '');
  if (ip) {
    const want = formatIp(ip);
    if (cert.ipAddresses.includes(want)) return undefined;
    return `certificate is for ${shown}, not ${name}`;
  }
  if (cert.dnsNames.some((d) => dnsNameMatches(name, d))) return undefined;
  if (!cert.hasSubjectAltName && cert.commonName && dnsNameMatches(name, cert.commonName)) return undefined;
  return `certificate is for ${shown}, not ${name}`;
}
