// `tunstack lb`: a load balancer on tunstack — nat mode (packet-level full-NAT with connection
// tracking), proxy mode (TCP terminated and spliced) or http mode (an L7 reverse proxy with content
// routing, TLS offload, caching and a request filter) — from a JSON config or shorthand flags.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { LoadBalancer } from '../lb/balancer.js';
import { ConfigError, configFromFlags, parseConfigText, validateConfig, type LbConfig, type LbFlags } from '../lb/config.js';
import type { Json } from '../lb/json-lines.js';
import { proxyTlsEnv } from '../lb/http/proxy-tls.js';
import { cryptoProvider, defaultStateDir } from './https.js';
import { asUsage, STACK_FLAGS, stackOptions } from './args.js';
import { describeError, UsageError } from './errors.js';
import { RunningStack } from './running-stack.js';
import { installHardStop, removeHardStop } from './signals.js';

export const LB_HELP = `Usage: tunstack lb [options] (--config FILE | --vip ADDR:PORT --backend ADDR:PORT[,WEIGHT] ...)

A load balancer on tunstack's address. Prints "ready <addr>" on stdout once it answers. Modes nat and
proxy (L4) decide by IP address and port only and never read the payload; mode http (L7) reads HTTP:

  nat    packet-level full-NAT: a client's segments to the VIP are rewritten to come from tunstack's
         address and a SNAT port and to go to the chosen backend, the backend's answers rewritten back
         (checksums updated incrementally, RFC 1624); connection tracking keeps each flow on its backend
  proxy  tunstack terminates the client's TCP and opens its own connection to the backend (like
         HAProxy's mode tcp), splicing bytes with backpressure, half-close and resets propagated
  http   an HTTP/1.1 reverse proxy (like HAProxy's mode http) on tunstack's TCP and TLS 1.3: listeners
         for HTTP and HTTPS (TLS offload: certificates from --state's local CA or the config, by SNI),
         ordered routes by host, path prefix/regex, header, cookie and method to named pools,
         keep-alive connection pools to the backends (plain or re-encrypted), sticky cookies, a cache
         (Cache-Control, Vary, X-Cache), a request filter (403/413), one retry of idempotent requests,
         502/503/504, and an access log line per request on stderr. Configured in --config (README:
         "L7 load balancing"); the flags give one pool of backends

Options:
  --config FILE    the JSON config (services, backends, algorithms, health checks; see README)
  --vip ADDR:PORT  shorthand for one service: its virtual address and port (e.g. 198.18.0.2:80)
  --mode M         nat | proxy | http                                    (default nat)
  --algo A         roundrobin | wrr | leastconn | srchash | maglev | p2c (default roundrobin)
  --backend A:P[,W]  a backend and its weight (default 1; 0 drains it); repeat for each backend
  --health H       tcp | http[:/path[:status]]   active health checks (default: none)
  --interval MS --timeout MS --rise N --fall N   health check timing and thresholds
  --stats-port P   serve GET /stats, GET /flows, POST /drain?backend=A:P, POST /undrain?backend=A:P
                   as JSON on tunstack's address, port P
  --trace-flows    print a line per flow created and expired with the decision taken
  --https PORT     mode http from flags: also an HTTPS listener (TLS offload) on PORT
  --no-access-log  mode http: no access log lines on stderr (the config's accessLog: false)
  --state DIR      the local CA for HTTPS listeners and re-encrypting pools (default $TUNSTACK_STATE
                   or ~/.tunstack; as for tunstack serve)
  --tls-provider P noble (pure JS, default) or node (node:crypto/OpenSSL) for TLS cryptography
  --netns NAME --addr ADDR --peer CIDR --tun NAME --mtu N --pcap FILE --trace --trace-states --no-offload
                   as for tunstack serve (nat mode always runs without TUN offloads: it forwards
                   packets as they come and must not receive 64 KB GRO super-segments)
  -h, --help       show this help

Signals: SIGHUP reloads --config without dropping established flows; SIGUSR1 prints "stats {json}" on
stdout; SIGINT/SIGTERM stop and clean up. Needs CAP_NET_ADMIN (run with sudo).

Examples:
  sudo tunstack lb --netns tunstack-lab --vip 198.18.0.2:80 --mode nat --algo maglev \\
    --backend 198.18.1.11:8080 --backend 198.18.1.12:8080,2 --health http:/ --trace-flows
  sudo tunstack lb --netns tunstack-lab --mode http --vip 198.18.0.2:80 --https 443 \\
    --backend 198.18.1.11:8080 --backend 198.18.1.12:8080 --health http:/health
  sudo tunstack lb --netns tunstack-lab --config l7.json`;

/**
 * --mode http from flags: one pool ("default") of the given backends, a listener on the --vip port and,
 * with --https, a TLS listener. The L4 parsing of the flags (backends, algo, health) is reused.
 */
function httpConfigFromFlags(f: LbFlags, httpsPort: string | undefined): LbConfig {
  const l4 = configFromFlags({ ...f, mode: 'proxy' }).services[0]!;
  const pool: { [k: string]: Json } = { algo: l4.algo, backends: l4.backends.map((b) => ({ address: b.key, weight: b.weight })) };
  if (l4.health) pool.health = { ...l4.health };
  const listen: Json[] = [{ port: l4.vipPort }];
  if (httpsPort !== undefined) {
    if (!/^\d+$/.test(httpsPort)) throw new ConfigError(`--https wants a port number, not "${httpsPort}"`);
    listen.push({ port: Number(httpsPort), tls: true });
  }
  const raw: { [k: string]: Json } = {
    services: [{ mode: 'http', vip: l4.vip.slice(0, l4.vip.lastIndexOf(':')), listen, pools: { default: pool } }],
  };
  if (f.statsPort !== undefined) raw.stats = { port: Number(f.statsPort) };
  return validateConfig(raw, 'flags');
}

function loadConfig(path: string): LbConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read --config ${path}: ${(e as Error).message}`);
  }
  return parseConfigText(text, path);
}

export async function lb(argv: string[]): Promise<number> {
  const { values } = asUsage(() =>
    parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        ...STACK_FLAGS,
        config: { type: 'string' },
        vip: { type: 'string' },
        mode: { type: 'string' },
        algo: { type: 'string' },
        backend: { type: 'string', multiple: true },
        health: { type: 'string' },
        interval: { type: 'string' },
        timeout: { type: 'string' },
        rise: { type: 'string' },
        fall: { type: 'string' },
        'stats-port': { type: 'string' },
        'trace-flows': { type: 'boolean', default: false },
        https: { type: 'string' },
        'no-access-log': { type: 'boolean', default: false },
        state: { type: 'string' },
        'tls-provider': { type: 'string' },
      },
    }),
  );
  if (values.help) {
    process.stdout.write(LB_HELP + '\n');
    return 0;
  }
  const configPath = values.config;
  let config: LbConfig;
  try {
    if (configPath !== undefined) {
      if (values.vip !== undefined || values.backend !== undefined) throw new UsageError('give either --config or --vip/--backend, not both');
      config = loadConfig(configPath);
    } else {
      const flags: LbFlags = {
        vip: values.vip,
        mode: values.mode,
        algo: values.algo,
        backend: values.backend,
        health: values.health,
        interval: values.interval,
        timeout: values.timeout,
        rise: values.rise,
        fall: values.fall,
        statsPort: values['stats-port'],
      };
      if (values.https !== undefined && values.mode !== 'http') throw new UsageError('--https is for --mode http');
      config = values.mode === 'http' ? httpConfigFromFlags(flags, values.https) : configFromFlags(flags);
    }
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(e.message);
    throw e;
  }
  const stackOpts = stackOptions(values);
  const anyNat = config.services.some((s) => s.mode === 'nat');
  const running = await RunningStack.start({ ...stackOpts, offload: stackOpts.offload && !anyNat });
  const t0 = performance.now();
  const stamp = () => ((performance.now() - t0) / 1000).toFixed(6);
  const log = (line: string) => process.stderr.write(`${stamp()} lb ${line}\n`);
  const trace = values['trace-flows'] ? (line: string) => process.stderr.write(`${stamp()} ${line}\n`) : undefined;
  const crypto = cryptoProvider(values['tls-provider']);
  const stateDir = values.state ?? defaultStateDir();
  const tlsEnv = proxyTlsEnv({ address: stackOpts.addr, stateDir, crypto });
  const accessLog = values['no-access-log'] ? undefined : (line: string) => process.stderr.write(`${stamp()} http ${line}\n`);
  let balancer: LoadBalancer;
  try {
    balancer = new LoadBalancer(running.stack, config, {
      log,
      trace,
      http: { ...tlsEnv, accessLog, onKeylog: (line: Buffer) => running.logKey(line.toString('latin1')) },
    });
  } catch (e) {
    await running.close();
    if (e instanceof ConfigError || e instanceof UsageError) throw new UsageError(e.message);
    // A certificate or CA file that cannot be used: say which, not a stack trace.
    throw new UsageError(describeError(e));
  }
  const where = values.netns ? ` in namespace ${values.netns}` : '';
  process.stderr.write(
    `tunstack lb: ${stackOpts.addr} on ${running.tun.name}${where}, kernel side ${stackOpts.peer}, mtu ${stackOpts.mtu}` +
      (running.tun.offload ? ', offloads on' : '') +
      (values.pcap ? `, capture ${values.pcap}` : '') +
      (config.statsPort ? `, stats on port ${config.statsPort}` : '') +
      '\n' +
      config.services.map(describeService).join(''),
  );
  const usesLocalCa = config.services.some((s) => s.http?.listeners.some((l) => l.tls && l.certs.length === 0));
  if (usesLocalCa) process.stderr.write(`tunstack lb: HTTPS certificates from the local CA; trust it: curl --cacert ${tlsEnv.caPath()} https://${stackOpts.addr}/\n`);
  process.stdout.write(`ready ${stackOpts.addr}\n`);

  return await new Promise<number>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      process.off('SIGUSR1', stats);
      process.off('SIGHUP', reload);
      installHardStop();
      process.stderr.write(`tunstack lb: ${signal}, stopping\n`);
      void balancer
        .close()
        .then(() => running.close())
        .then(
          () => resolve(0),
          (e: unknown) => {
            process.stderr.write(`tunstack lb: cleanup failed: ${describeError(e)}\n`);
            resolve(1);
          },
        );
    };
    const stats = () => process.stdout.write(`stats ${JSON.stringify(balancer.snapshot())}\n`);
    const reload = () => {
      if (configPath === undefined) {
        log('SIGHUP: nothing to reload (no --config)');
        return;
      }
      try {
        balancer.reload(loadConfig(configPath));
      } catch (e) {
        // A bad file keeps the running config: the error names the field and line.
        log(`reload failed, keeping the running config: ${describeError(e)}`);
      }
    };
    removeHardStop();
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    process.on('SIGUSR1', stats);
    process.on('SIGHUP', reload);
  });
}

const backendList = (bs: LbConfig['services'][number]['backends']) => bs.map((b) => `${b.key}${b.weight !== 1 ? `,${b.weight}` : ''}`).join(' ');
const healthNote = (h: LbConfig['services'][number]['health']) => (h ? ` (health ${h.type} every ${h.interval} ms, rise ${h.rise}, fall ${h.fall})` : '');

/** One line per service (and per pool of an http service) for the start-up banner. */
function describeService(s: LbConfig['services'][number]): string {
  if (!s.http) return `  ${s.name}: ${s.vip} ${s.mode} ${s.algo} → ${backendList(s.backends)}${healthNote(s.health)}\n`;
  const h = s.http;
  const listeners = h.listeners.map((l) => `${l.tls ? 'https' : 'http'}:${l.port}`).join(' ');
  let out = `  ${s.name}: ${h.address} http [${listeners}] ${h.routes.length} routes, default pool ${h.defaultPool ?? '(none: 404)'}` +
    `${h.sticky ? `, sticky cookie ${h.sticky.name}` : ''}${h.cache ? ', cache on' : ''}${h.filter.builtin ? ', built-in filter' : ''}${h.filter.rules.length ? ` + ${h.filter.rules.length} filter rules` : ''}\n`;
  for (const p of h.pools) out += `    pool ${p.name}: ${p.algo}${p.tls ? ' tls' : ''} → ${backendList(p.backends)}${healthNote(p.health)}\n`;
  return out;
}
