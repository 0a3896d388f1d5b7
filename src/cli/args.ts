// Shared flag handling for the CLI: parse errors as UsageErrors, and validators
// that turn bad values into UsageErrors that name the flag.

import { formatIpv4Addr, parseCidr, parseIpv4Addr, prefixMask } from '../wire/addr.js';
import { UsageError } from './errors.js';

/** Runs node:util parseArgs (or any parser) and turns its complaint into a UsageError. */
export function asUsage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    throw new UsageError(`${(e as Error).message.split('\n')[0]} (see --help)`);
  }
}

export function intFlag(name: string, value: string | undefined, dflt: number, min: number, max: number): number {
  if (value === undefined) return dflt;
  if (!/^\d+$/.test(value)) throw new UsageError(`--${name} wants a whole number, not "${value}"`);
  const n = Number(value);
  if (n < min || n > max) throw new UsageError(`--${name} must be between ${min} and ${max}, not ${n}`);
  return n;
}

export interface AddressPlan {
  /** tunstack's address, dotted quad. */
  addr: string;
  /** The kernel side's address with prefix, e.g. 198.18.0.1/24. */
  peer: string;
}

/** Checks --addr and --peer together: tunstack's address must lie in the peer's subnet (else the kernel would not route to it over the TUN). */
export function addressPlan(addrText: string, peerText: string): AddressPlan {
  const addr = parseIpv4Addr(addrText);
  if (addr === undefined) throw new UsageError(`--addr wants an IPv4 address like 198.18.0.2, not "${addrText}"`);
  const peer = parseCidr(peerText);
  if (!peer) throw new UsageError(`--peer wants an address with a prefix like 198.18.0.1/24, not "${peerText}"`);
  if (peer.prefixLen > 30) throw new UsageError(`--peer ${peerText}: the prefix must be /30 or shorter so it includes --addr`);
  const mask = prefixMask(peer.prefixLen);
  if ((addr & mask) >>> 0 !== (peer.addr & mask) >>> 0) {
    throw new UsageError(`--addr ${addrText} is not inside --peer ${peerText}: the kernel would not route to it over the TUN`);
  }
  if (addr === peer.addr) throw new UsageError(`--addr and --peer must differ (both are ${addrText})`);
  return { addr: formatIpv4Addr(addr), peer: `${formatIpv4Addr(peer.addr)}/${peer.prefixLen}` };
}

/** The --trace / --trace-states writer: one line per event on stderr, seconds since start. */
export function stderrTrace(enabled: boolean): ((line: string) => void) | undefined {
  if (!enabled) return undefined;
  const t0 = performance.now();
  return (line) => process.stderr.write(`${((performance.now() - t0) / 1000).toFixed(6)} ${line}\n`);
}

/** The flags every command that brings up a stack on a TUN device shares (serve, get). */
export const STACK_FLAGS = {
  netns: { type: 'string' },
  addr: { type: 'string', default: '198.18.0.2' },
  peer: { type: 'string', default: '198.18.0.1/24' },
  tun: { type: 'string' },
  mtu: { type: 'string' },
  pcap: { type: 'string' },
  trace: { type: 'boolean', default: false },
  'trace-states': { type: 'boolean', default: false },
  'no-offload': { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** What STACK_FLAGS say, checked and turned into RunningStack options. */
export function stackOptions(values: {
  addr?: string;
  peer?: string;
  mtu?: string;
  tun?: string;
  netns?: string;
  pcap?: string;
  trace?: boolean;
  'trace-states'?: boolean;
  'no-offload'?: boolean;
}) {
  return {
    ...addressPlan(values.addr!, values.peer!),
    mtu: intFlag('mtu', values.mtu, 1500, 576, 65535),
    tun: values.tun,
    netns: values.netns,
    pcap: values.pcap,
    trace: stderrTrace(Boolean(values.trace || values['trace-states'])),
    tracePackets: Boolean(values.trace),
    offload: !values['no-offload'],
  };
}
