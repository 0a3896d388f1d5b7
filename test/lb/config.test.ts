// The lb config: JSON with line-numbered errors naming the bad field, defaults, and the shorthand flags.

import { describe, expect, it } from 'vitest';
import { configFromFlags, parseConfigText } from '../../src/lb/config.js';
import { parseJsonWithLines } from '../../src/lb/json-lines.js';

const good = `{
  "services": [
    {
      "name": "web",
      "vip": "198.18.0.2:80",
      "mode": "nat",
      "algo": "maglev",
      "backends": [
        { "address": "198.18.1.11:8080", "weight": 2 },
        "198.18.1.12:8080"
      ],
      "health": { "type": "http", "path": "/health", "interval": 500, "timeout": 200, "rise": 2, "fall": 2 }
    }
  ],
  "conntrack": { "max": 1000, "timeouts": { "timeWait": 1000 } },
  "stats": { "port": 8404 }
}`;

describe('config file', () => {
  it('parses_a_full_config_with_defaults_filled_in', () => {
    const c = parseConfigText(good, 'lb.json');
    expect(c.services).toHaveLength(1);
    const s = c.services[0]!;
    expect(s).toMatchObject({ name: 'web', vip: '198.18.0.2:80', vipPort: 80, mode: 'nat', algo: 'maglev', tableSize: 65537 });
    expect(s.backends.map((b) => [b.key, b.weight])).toEqual([['198.18.1.11:8080', 2], ['198.18.1.12:8080', 1]]);
    expect(s.health).toEqual({ type: 'http', path: '/health', expect: 200, interval: 500, timeout: 200, rise: 2, fall: 2 });
    expect(c.conntrack.max).toBe(1000);
    expect(c.conntrack.timeouts.timeWait).toBe(1000);
    expect(c.conntrack.timeouts.syn).toBe(30_000);
    expect(c.statsPort).toBe(8404);
  });

  it('names_the_line_and_field_of_a_bad_weight', () => {
    const bad = good.replace('"weight": 2', '"weight": -2');
    expect(() => parseConfigText(bad, 'lb.json')).toThrow('lb.json:9: services[0].backends[0].weight: must be a whole number from 0 to 1000, not -2');
  });

  it('names_the_line_of_an_unknown_algorithm', () => {
    expect(() => parseConfigText(good.replace('"maglev"', '"random"'), 'lb.json')).toThrow(/^lb\.json:7: services\[0\]\.algo: must be one of roundrobin, wrr/);
  });

  it('rejects_unknown_fields_by_name', () => {
    expect(() => parseConfigText(good.replace('"rise": 2', '"rsie": 2'), 'lb.json')).toThrow(/lb\.json:12: services\[0\]\.health\.rsie: unknown field/);
  });

  it('reports_json_syntax_errors_with_their_line', () => {
    expect(() => parseConfigText(good.replace('"mode": "nat",', '"mode": "nat"'), 'lb.json')).toThrow(/^lb\.json:7: not valid JSON/);
  });

  it('rejects_a_non_prime_maglev_table', () => {
    expect(() => parseConfigText(good.replace('"algo": "maglev",', '"algo": "maglev", "tableSize": 65536,'), 'x')).toThrow(/tableSize: must be prime/);
  });

  it('rejects_a_health_timeout_longer_than_its_interval', () => {
    expect(() => parseConfigText(good.replace('"timeout": 200', '"timeout": 900'), 'x')).toThrow(/health\.timeout: must not exceed the interval/);
  });

  it('rejects_duplicate_backends_and_bad_endpoints', () => {
    expect(() => parseConfigText(good.replace('198.18.1.12:8080', '198.18.1.11:8080'), 'x')).toThrow(/x:10: .*listed twice/);
    expect(() => parseConfigText(good.replace('198.18.1.12:8080', '198.18.1.12'), 'x')).toThrow(/x:10: services\[0\]\.backends\[1\]\.address: must be "address:port"/);
  });
});

describe('json with lines', () => {
  it('never_throws_on_garbage', () => {
    for (const t of ['', '{', '[1,', '{"a":}', '"\\x"', 'tru', '{"a":1}x', '\u0000', '[[[[[[']) {
      const r = parseJsonWithLines(t);
      expect(r.ok).toBe(false);
    }
    expect(parseJsonWithLines('[' .repeat(100000)).ok).toBe(false);
  });

  it('parses_what_JSON_parse_parses', () => {
    const t = '{"a":[1,2.5,-3e2,true,false,null,"x\\n\\u0041"],"b":{}}';
    const r = parseJsonWithLines(t);
    expect(r.ok && r.value).toEqual(JSON.parse(t));
  });
});

describe('flags', () => {
  it('build_one_service_from_vip_mode_algo_and_backends', () => {
    const c = configFromFlags({ vip: '198.18.0.2:80', mode: 'proxy', algo: 'wrr', backend: ['198.18.1.11:8080,3', '198.18.1.12:8080'], health: 'http:/:200', rise: '1' });
    const s = c.services[0]!;
    expect(s.mode).toBe('proxy');
    expect(s.algo).toBe('wrr');
    expect(s.backends.map((b) => b.weight)).toEqual([3, 1]);
    expect(s.health).toMatchObject({ type: 'http', path: '/', expect: 200, rise: 1 });
  });

  it('require_a_vip_and_backends', () => {
    expect(() => configFromFlags({})).toThrow(/--config FILE, or --vip/);
    expect(() => configFromFlags({ vip: '198.18.0.2:80' })).toThrow(/--backend/);
    expect(() => configFromFlags({ vip: '198.18.0.2:80', backend: ['x'] })).toThrow(/backends\[0\]\.address/);
  });
});

describe('shorthand flags, mode http', () => {
  it('puts_the_backends_into_one_default_pool', () => {
    const c = configFromFlags({ vip: '198.18.0.2:8080', mode: 'http', algo: 'leastconn', backend: ['198.18.1.11:80', '198.18.1.12:80,2'], health: 'http:/h' });
    const s = c.services[0]!;
    expect(s).toMatchObject({ mode: 'http', vip: '198.18.0.2:8080', vipPort: 8080 });
    expect(s.http!.listeners).toEqual([{ port: 8080, tls: false, certs: [] }]);
    expect(s.http!.defaultPool).toBe('default');
    const p = s.http!.pools[0]!;
    expect(p).toMatchObject({ name: 'default', algo: 'leastconn' });
    expect(p.backends.map((b) => [b.key, b.weight])).toEqual([['198.18.1.11:80', 1], ['198.18.1.12:80', 2]]);
    expect(p.health).toMatchObject({ type: 'http', path: '/h' });
  });

  it('keeps_nat_flags_unchanged', () => {
    const c = configFromFlags({ vip: '198.18.0.2:80', backend: ['198.18.1.11:80'] });
    expect(c.services[0]).toMatchObject({ mode: 'nat', backends: [{ key: '198.18.1.11:80', weight: 1 }] });
    expect(c.services[0]!.http).toBeUndefined();
  });
});

describe('ports that collide', () => {
  it('rejects_a_nat_vip_port_inside_the_snat_range', () => {
    expect(() => parseConfigText('{"services":[{"vip":"198.18.0.2:30000","backends":["198.18.1.11:80"]}]}', 'x')).toThrow(/services\[0\]\.vip: port 30000 lies in the SNAT port range 20000-48999/);
  });

  it('rejects_an_http_listener_inside_the_snat_range_when_nat_is_in_use', () => {
    const http = '{"mode":"http","vip":"198.18.0.2","listen":[{"port":8080},{"port":30000}],"pools":{"p":{"backends":["198.18.1.11:80"]}}}';
    expect(() => parseConfigText(`{"services":[${http},{"vip":"198.18.0.2:80","backends":["198.18.1.12:80"]}]}`, 'x')).toThrow(/services\[0\]\.listen\[1\]\.port: port 30000 lies in the SNAT port range/);
    expect(parseConfigText(`{"services":[${http}]}`, 'x').services[0]!.http!.listeners).toHaveLength(2);
  });
});
