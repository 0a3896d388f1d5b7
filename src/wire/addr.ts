// IPv4 addresses as unsigned 32-bit numbers (fast to compare and to sum into checksums),
// with conversions to and from dotted-quad text and CIDR notation.

/** Parses "a.b.c.d" into an unsigned 32-bit number, or undefined if it is not a dotted quad. */
export function parseIpv4Addr(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    n = n * 256 + v;
  }
  return n >>> 0;
}

export function formatIpv4Addr(addr: number): string {
  return `${addr >>> 24}.${(addr >>> 16) & 0xff}.${(addr >>> 8) & 0xff}.${addr & 0xff}`;
}

/** Parses "a.b.c.d/len" (len 0..32) into address and prefix length. */
export function parseCidr(text: string): { addr: number; prefixLen: number } | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const addr = parseIpv4Addr(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  if (addr === undefined || !/^\d{1,2}$/.test(lenText)) return undefined;
  const prefixLen = Number(lenText);
  if (prefixLen > 32) return undefined;
  return { addr, prefixLen };
}

export function prefixMask(prefixLen: number): number {
  return prefixLen === 0 ? 0 : (0xffffffff << (32 - prefixLen)) >>> 0;
}

/** True for addresses a host must never answer or send ICMP errors to (RFC 1122 §3.2.2, §3.3.6). */
export function isUnicastHostAddr(addr: number): boolean {
  const a = addr >>> 24;
  if (addr === 0 || addr === 0xffffffff) return false;
  if (a === 0 || a === 127) return false; // "this network" and loopback never appear on the wire
  if (a >= 224) return false; // multicast (224/4) and reserved/limited broadcast (240/4)
  return true;
}
