// `tunstack lb`: an L4 load balancer on tunstack — nat mode (packet-level full-NAT with connection
// tracking) or proxy mode (TCP terminated and spliced) — from a JSON config or shorthand flags.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { LoadBalancer } from '../lb/balancer.js';
import { ConfigError, configFromFlags, parseConfigText, type LbConfig } from '../lb/config.js';
import { asUsage, STACK_FLAGS, stackOptions } from './args.js';
import { describeError, UsageError } from './errors.js';
import { RunningStack } from './running-stack.js';
import { installHardStop, removeHardStop } from './signals.js';

export const LB_HELP = `Usage: tunstack lb [options] (--config FILE | --vip ADDR:PORT --backend ADDR:PORT[,WEIGHT] ...)

An L4 load balancer on tunstack's address: decides by IP address and port only, never reads the payload.
Prints "ready <addr>" on stdout once it answers.

  nat    packet-level full-NAT: a client's segments to the VIP are rewritten to come from tunstack's
         address and a SNAT port and to go to the chosen backend, the backend's answers rewritten back
         (checksums updated incrementally, RFC 1624); connection tracking keeps each flow on its backend
  proxy  tunstack terminates the client's TCP and opens its own connection to the backend (like
         HAProxy's mode tcp), splicing bytes with backpressure, half-close and resets propagated

Options:
  --config FILE    the JSON config (services, backends, algorithms, health checks; see README)
  --vip ADDR:PORT  shorthand for one service: its virtual address and port (e.g. 198.18.0.2:80)
  --mode M         nat | proxy                                           (default nat)
  --algo A         roundrobin | wrr | leastconn | srchash | maglev | p2c (default roundrobin)
  --backend A:P[,W]  a backend and its weight (default 1; 0 drains it); repeat for each backend
  --health H       tcp | http[:/path[:status]]   active health checks (default: none)
  --interval MS --timeout MS --rise N --fall N   health check timing and thresholds
  --stats-port P   serve GET /stats, GET /flows, POST /drain?backend=A:P, POST /undrain?backend=A:P
                   as JSON on tunstack's address, port P
  --trace-flows    print a line per flow created and expired with the decision taken
  --netns NAME --addr ADDR --peer CIDR --tun NAME --mtu N --pcap FILE --trace --trace-states --no-offload
                   as for tunstack serve (nat mode always runs without TUN offloads: it forwards
                   packets as they come and must not receive 64 KB GRO super-segments)
  -h, --help       show this help

Signals: SIGHUP reloads --config without dropping established flows; SIGUSR1 prints "stats {json}" on
stdout; SIGINT/SIGTERM stop and clean up. Needs CAP_NET_ADMIN (run with sudo).

Example:
  sudo tunstack lb --netns tunstack-lab --vip 198.18.0.2:80 --mode nat --algo maglev \\
    --backend 198.18.1.11:8080 --backend 198.18.1.12:8080,2 --health http:/ --trace-flows`;

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
      config = configFromFlags({
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
      });
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
  let balancer: LoadBalancer;
  try {
    balancer = new LoadBalancer(running.stack, config, { log, trace });
  } catch (e) {
    await running.close();
    if (e instanceof ConfigError) throw new UsageError(e.message);
    throw e;
  }
  const where = values.netns ? ` in namespace ${values.netns}` : '';
  process.stderr.write(
    `tunstack lb: ${stackOpts.addr} on ${running.tun.name}${where}, kernel side ${stackOpts.peer}, mtu ${stackOpts.mtu}` +
      (running.tun.offload ? ', offloads on' : '') +
      (values.pcap ? `, capture ${values.pcap}` : '') +
      (config.statsPort ? `, stats on port ${config.statsPort}` : '') +
      '\n' +
      config.services.map((s) => `  ${s.name}: ${s.vip} ${s.mode} ${s.algo} → ${s.backends.map((b) => `${b.key}${b.weight !== 1 ? `,${b.weight}` : ''}`).join(' ')}${s.health ? ` (health ${s.health.type} every ${s.health.interval} ms, rise ${s.health.rise}, fall ${s.health.fall})` : ''}\n`).join(''),
  );
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
