// Key schedule behaviour beyond RFC 8448 (see rfc8448.test.ts): HKDF known answers (RFC 5869), label
// encoding limits, SHA-384 stages, binders, exporters, the KeyUpdate chain and the constant-time compare.

import { hkdf, expand as nobleExpand } from '@noble/hashes/hkdf.js';
import { sha256, sha384 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { CipherSuite } from '../../src/tls/constants.js';
import { nobleProvider } from '../../src/tls/crypto/noble.js';
import type { KeyLogLabel } from '../../src/tls/engine-api.js';
import {
  binderValue,
  deriveSecret,
  earlyStage,
  emptyTranscriptHash,
  equalBytes,
  exporter,
  finishedKey,
  hkdfExpand,
  hkdfExpandLabel,
  hkdfExtract,
  nextTrafficSecret,
  resumptionPsk,
  SECRETS,
  trafficKeys,
} from '../../src/tls/keyschedule.js';

const sha256h = nobleProvider.hash('sha256');
const sha384h = nobleProvider.hash('sha384');
const h = (s: string): Uint8Array => Buffer.from(s, 'hex');
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
const filled = (n: number, v: number): Uint8Array => new Uint8Array(n).fill(v);

/** HKDF-Expand-Label written out independently of keyschedule.ts, over noble's HKDF-Expand. */
function referenceExpandLabel(
  fn: typeof sha256 | typeof sha384,
  secret: Uint8Array,
  label: string,
  context: Uint8Array,
  length: number,
): Uint8Array {
  const full = ascii(`tls13 ${label}`);
  const info = Uint8Array.from([length >> 8, length & 0xff, full.length, ...full, context.length, ...context]);
  return nobleExpand(fn, secret, info, length);
}

describe('HKDF (RFC 5869)', () => {
  it('matches RFC 5869 A.1 (SHA-256, salt and info)', () => {
    const ikm = filled(22, 0x0b);
    const prk = hkdfExtract(sha256h, h('000102030405060708090a0b0c'), ikm);
    expect(toHex(prk)).toBe('077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5');
    expect(toHex(hkdfExpand(sha256h, prk, h('f0f1f2f3f4f5f6f7f8f9'), 42))).toBe(
      '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865',
    );
  });

  it('matches RFC 5869 A.3 (empty salt means HashLen zeros, empty info)', () => {
    const prk = hkdfExtract(sha256h, new Uint8Array(0), filled(22, 0x0b));
    expect(toHex(prk)).toBe('19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04');
    expect(toHex(hkdfExpand(sha256h, prk, new Uint8Array(0), 42))).toBe(
      '8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8',
    );
  });

  it('agrees with noble HKDF for every output length across block boundaries, both hashes', () => {
    const ikm = filled(40, 7);
    const salt = filled(13, 9);
    const info = ascii('context info');
    for (const [ours, fn] of [
      [sha256h, sha256],
      [sha384h, sha384],
    ] as const) {
      const prk = hkdfExtract(ours, salt, ikm);
      for (const len of [0, 1, 31, 32, 33, 48, 49, 96, 97, 200]) {
        expect(toHex(hkdfExpand(ours, prk, info, len)), `${ours.name} L=${len}`).toBe(
          toHex(hkdf(fn, ikm, salt, info, len)),
        );
      }
    }
  });

  it('refuses output longer than 255 * HashLen (a local error)', () => {
    expect(() => hkdfExpand(sha256h, filled(32, 1), new Uint8Array(0), 255 * 32 + 1)).toThrow(RangeError);
    expect(hkdfExpand(sha256h, filled(32, 1), new Uint8Array(0), 255 * 32)).toHaveLength(255 * 32);
  });
});

describe('HKDF-Expand-Label and Derive-Secret (RFC 8446 §7.1)', () => {
  it('encodes HkdfLabel with the "tls13 " prefix and the context, for both hashes', () => {
    const secret = filled(48, 0x42);
    const ctx = filled(20, 0x99);
    expect(toHex(hkdfExpandLabel(sha256h, secret.subarray(0, 32), 'c hs traffic', ctx, 32))).toBe(
      toHex(referenceExpandLabel(sha256, secret.subarray(0, 32), 'c hs traffic', ctx, 32)),
    );
    expect(toHex(hkdfExpandLabel(sha384h, secret, 'key', new Uint8Array(0), 32))).toBe(
      toHex(referenceExpandLabel(sha384, secret, 'key', new Uint8Array(0), 32)),
    );
  });

  it('rejects a label over 249 bytes or a context over 255 bytes as local errors', () => {
    const s = filled(32, 1);
    expect(() => hkdfExpandLabel(sha256h, s, 'x'.repeat(250), new Uint8Array(0), 32)).toThrow(RangeError);
    expect(hkdfExpandLabel(sha256h, s, 'x'.repeat(249), new Uint8Array(0), 32)).toHaveLength(32);
    expect(() => hkdfExpandLabel(sha256h, s, 'key', new Uint8Array(256), 32)).toThrow(RangeError);
  });

  it('makes Derive-Secret an Expand-Label of Hash.length over the transcript hash', () => {
    const s = filled(48, 3);
    const th = sha384h.digest(ascii('messages'));
    expect(toHex(deriveSecret(sha384h, s, 's ap traffic', th))).toBe(
      toHex(referenceExpandLabel(sha384, s, 's ap traffic', th, 48)),
    );
  });
});

describe('the staged secrets', () => {
  it('runs the whole SHA-384 schedule with "derived" steps over Hash("") and 48-byte secrets', () => {
    const psk = filled(48, 0x11);
    const ecdhe = filled(48, 0x22);
    const zeros = new Uint8Array(48);
    const empty = sha384.create().digest();
    expect(toHex(emptyTranscriptHash(sha384h))).toBe(toHex(empty));

    const early = earlyStage(sha384h, psk);
    const earlyRef = hkdfExtract(sha384h, zeros, psk);
    expect(toHex(early.secret)).toBe(toHex(earlyRef));
    const derived1 = referenceExpandLabel(sha384, earlyRef, 'derived', empty, 48);
    expect(toHex(early.derived())).toBe(toHex(derived1));

    const hs = early.handshakeStage(ecdhe);
    const hsRef = hkdfExtract(sha384h, derived1, ecdhe);
    expect(toHex(hs.secret)).toBe(toHex(hsRef));
    const th = sha384h.digest(ascii('CH..SH'));
    expect(toHex(hs.clientTrafficSecret(th))).toBe(toHex(referenceExpandLabel(sha384, hsRef, 'c hs traffic', th, 48)));
    expect(toHex(hs.serverTrafficSecret(th))).toBe(toHex(referenceExpandLabel(sha384, hsRef, 's hs traffic', th, 48)));

    const master = hs.masterStage();
    const derived2 = referenceExpandLabel(sha384, hsRef, 'derived', empty, 48);
    expect(toHex(master.secret)).toBe(toHex(hkdfExtract(sha384h, derived2, zeros)));
    const th2 = sha384h.digest(ascii('CH..SF'));
    for (const s of [
      master.clientTrafficSecret(th2),
      master.serverTrafficSecret(th2),
      master.exporterSecret(th2),
      master.resumptionSecret(th2),
    ]) {
      expect(s).toHaveLength(48);
    }
    expect(toHex(master.exporterSecret(th2))).toBe(
      toHex(referenceExpandLabel(sha384, master.secret, 'exp master', th2, 48)),
    );

    const keys = trafficKeys(sha384h, CipherSuite.TLS_AES_256_GCM_SHA384, master.serverTrafficSecret(th2));
    expect(keys.key).toHaveLength(32);
    expect(keys.iv).toHaveLength(12);
  });

  it('treats an absent PSK and an absent (EC)DHE as zeros of hash length', () => {
    expect(toHex(earlyStage(sha256h).secret)).toBe(toHex(earlyStage(sha256h, new Uint8Array(32)).secret));
    const early = earlyStage(sha256h, filled(32, 5));
    expect(toHex(early.handshakeStage(undefined).secret)).toBe(toHex(early.handshakeStage(new Uint8Array(32)).secret));
    expect(toHex(early.secret)).not.toBe(toHex(earlyStage(sha256h).secret));
  });

  it('keys per suite: 16-byte AES-128 key, 32-byte AES-256 and ChaCha20 keys, 12-byte IVs', () => {
    const s = filled(32, 8);
    expect(trafficKeys(sha256h, CipherSuite.TLS_AES_128_GCM_SHA256, s).key).toHaveLength(16);
    expect(trafficKeys(sha256h, CipherSuite.TLS_CHACHA20_POLY1305_SHA256, s).key).toHaveLength(32);
    expect(trafficKeys(sha256h, CipherSuite.TLS_CHACHA20_POLY1305_SHA256, s).iv).toHaveLength(12);
  });

  it('derives different early traffic, early exporter and binder secrets, each from its own label', () => {
    const early = earlyStage(sha256h, filled(32, 0x33));
    const th = sha256h.digest(ascii('ClientHello'));
    const empty = emptyTranscriptHash(sha256h);
    expect(toHex(early.binderKey(true))).toBe(toHex(deriveSecret(sha256h, early.secret, 'res binder', empty)));
    expect(toHex(early.binderKey(false))).toBe(toHex(deriveSecret(sha256h, early.secret, 'ext binder', empty)));
    expect(toHex(early.clientEarlyTrafficSecret(th))).toBe(toHex(deriveSecret(sha256h, early.secret, 'c e traffic', th)));
    expect(toHex(early.earlyExporterSecret(th))).toBe(toHex(deriveSecret(sha256h, early.secret, 'e exp master', th)));
    const all = [early.binderKey(true), early.binderKey(false), early.clientEarlyTrafficSecret(th), early.earlyExporterSecret(th)];
    expect(new Set(all.map(toHex)).size).toBe(4);
  });
});

describe('Finished, binders, resumption, exporters, KeyUpdate', () => {
  it('computes a PSK binder as the Finished HMAC under the binder key (RFC 8446 §4.2.11.2)', () => {
    const binderKey = earlyStage(sha256h, filled(32, 0x44)).binderKey(true);
    const th = sha256h.digest(ascii('truncated ClientHello'));
    const value = binderValue(sha256h, binderKey, th);
    expect(toHex(value)).toBe(toHex(sha256h.hmac(finishedKey(sha256h, binderKey), th)));
    expect(value).toHaveLength(32);
  });

  it('gives each ticket nonce its own PSK', () => {
    const rms = filled(32, 0x55);
    const a = resumptionPsk(sha256h, rms, Uint8Array.of(0, 0));
    const b = resumptionPsk(sha256h, rms, Uint8Array.of(0, 1));
    expect(toHex(a)).not.toBe(toHex(b));
    expect(toHex(a)).toBe(toHex(referenceExpandLabel(sha256, rms, 'resumption', Uint8Array.of(0, 0), 32)));
  });

  it('exports per RFC 8446 §7.5 and separates labels, contexts and lengths', () => {
    const es = filled(32, 0x66);
    const empty = sha256.create().digest();
    const ctx = ascii('context');
    const out = exporter(sha256h, es, 'EXPORTER-test', ctx, 40);
    const perLabel = referenceExpandLabel(sha256, es, 'EXPORTER-test', empty, 32);
    expect(toHex(out)).toBe(toHex(referenceExpandLabel(sha256, perLabel, 'exporter', sha256(ctx), 40)));
    expect(toHex(exporter(sha256h, es, 'EXPORTER-other', ctx, 40))).not.toBe(toHex(out));
    expect(toHex(exporter(sha256h, es, 'EXPORTER-test', new Uint8Array(0), 40))).not.toBe(toHex(out));
    // An empty context is hashed like any other (RFC 8446 §7.5: no distinction from absent).
    expect(toHex(exporter(sha256h, es, 'EXPORTER-test', new Uint8Array(0), 40))).toBe(
      toHex(referenceExpandLabel(sha256, perLabel, 'exporter', empty, 40)),
    );
  });

  it('chains KeyUpdate secrets with "traffic upd", changing keys and IV every generation (RFC 8446 §7.2)', () => {
    const suite = CipherSuite.TLS_AES_128_GCM_SHA256;
    let secret = filled(32, 0x77);
    const seen = new Set<string>();
    for (let gen = 0; gen < 5; gen++) {
      const { key, iv } = trafficKeys(sha256h, suite, secret);
      seen.add(toHex(key));
      seen.add(toHex(iv));
      const next = nextTrafficSecret(sha256h, secret);
      expect(toHex(next)).toBe(toHex(referenceExpandLabel(sha256, secret, 'traffic upd', new Uint8Array(0), 32)));
      secret = next;
    }
    expect(seen.size).toBe(10);
  });
});

describe('equalBytes', () => {
  it('is true only for equal contents of equal length', () => {
    const a = Uint8Array.from({ length: 32 }, (_, i) => i);
    expect(equalBytes(a, a.slice())).toBe(true);
    expect(equalBytes(new Uint8Array(0), new Uint8Array(0))).toBe(true);
    expect(equalBytes(a, a.subarray(0, 31))).toBe(false);
    for (let i = 0; i < a.length; i++) {
      for (const bit of [0x01, 0x80]) {
        const b = a.slice();
        b[i]! ^= bit;
        expect(equalBytes(a, b)).toBe(false);
      }
    }
  });
});

describe('the label table', () => {
  it('holds the RFC 8446 §7.1 labels once each and key-log labels that engine-api knows', () => {
    const labels = Object.values(SECRETS).map((s) => s.label);
    expect(new Set(labels).size).toBe(labels.length);
    expect(labels).toEqual([
      'c e traffic',
      'e exp master',
      'res binder',
      'ext binder',
      'c hs traffic',
      's hs traffic',
      'c ap traffic',
      's ap traffic',
      'exp master',
      'res master',
    ]);
    // Type-level: the key-log labels of the secrets a connection logs are KeyLogLabels.
    const logged: KeyLogLabel[] = [
      SECRETS.clientEarly.keyLog,
      SECRETS.clientHandshake.keyLog,
      SECRETS.serverHandshake.keyLog,
      SECRETS.clientApplication.keyLog,
      SECRETS.serverApplication.keyLog,
      SECRETS.exporter.keyLog,
    ];
    expect(logged).toEqual([
      'CLIENT_EARLY_TRAFFIC_SECRET',
      'CLIENT_HANDSHAKE_TRAFFIC_SECRET',
      'SERVER_HANDSHAKE_TRAFFIC_SECRET',
      'CLIENT_TRAFFIC_SECRET_0',
      'SERVER_TRAFFIC_SECRET_0',
      'EXPORTER_SECRET',
    ]);
  });
});
