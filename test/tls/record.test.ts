// Record layer behaviour (RFC 8446 §5): framing across arbitrary TCP splits, header checks, AEAD
// protection (nonces, sequence, padding, limits, bad input alerts), KeyUpdate generations, and fuzzing.

import { describe, expect, it } from 'vitest';
import { CipherSuite, ContentType, MAX_PLAINTEXT } from '../../src/tls/constants.js';
import type { Aead, CryptoProvider } from '../../src/tls/crypto/provider.js';
import { nobleProvider } from '../../src/tls/crypto/noble.js';
import { nextTrafficSecret, trafficKeys } from '../../src/tls/keyschedule.js';
import {
  RecordProtection,
  RecordReader,
  changeCipherSpecRecord,
  fragment,
  isRecordError,
  maxPlaintextForLimit,
  plaintextRecord,
  type RecordError,
  type RecordFrame,
} from '../../src/tls/record.js';

const hash = nobleProvider.hash('sha256');
const AES128 = CipherSuite.TLS_AES_128_GCM_SHA256;
const SECRET = Uint8Array.from({ length: 32 }, (_, i) => i * 7 + 1);
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (n: number, seed = 1): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

/** mulberry32: a small seeded PRNG so fuzz runs are reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pair = (suite: CipherSuite = AES128, provider: CryptoProvider = nobleProvider): [RecordProtection, RecordProtection] => {
  const h = nobleProvider.hash(suite === CipherSuite.TLS_AES_256_GCM_SHA384 ? 'sha384' : 'sha256');
  const secret = new Uint8Array(h.outputLen).fill(0x5a);
  return [new RecordProtection(provider, suite, h, secret), new RecordProtection(provider, suite, h, secret)];
};

function frame(record: Uint8Array): RecordFrame {
  const r = new RecordReader();
  r.push(record);
  const f = r.next();
  if (f === undefined || isRecordError(f)) throw new Error(`no frame: ${JSON.stringify(f)}`);
  return f;
}

function expectError(x: object | undefined, alert: RecordError['alert']): void {
  expect(x).toBeDefined();
  expect(isRecordError(x!), JSON.stringify(x)).toBe(true);
  expect((x as RecordError).alert).toBe(alert);
}

/** A TLSCiphertext record built by hand from an arbitrary inner plaintext, for malformed-inner tests. */
function rawRecord(inner: Uint8Array, seq = 0, lengthOverride?: number): Uint8Array {
  const { key, iv } = trafficKeys(hash, AES128, SECRET);
  const nonce = iv.slice();
  nonce[11]! ^= seq;
  const len = lengthOverride ?? inner.length + 16;
  const header = Uint8Array.of(23, 3, 3, len >> 8, len & 0xff);
  const ct = nobleProvider.aead(AES128, key).seal(nonce, inner, header);
  return Buffer.concat([header, ct]);
}

/** Drains a reader; stops at the first error (errors are sticky). */
function drain(r: RecordReader): (RecordFrame | RecordError)[] {
  const out: (RecordFrame | RecordError)[] = [];
  for (let f = r.next(); f !== undefined; f = r.next()) {
    out.push(isRecordError(f) ? f : { ...f, fragment: f.fragment.slice(), header: f.header.slice() });
    if (isRecordError(f)) break;
  }
  return out;
}

describe('RecordProtection: seal and open', () => {
  it('round-trips every content type for all three suites', () => {
    for (const suite of [AES128, CipherSuite.TLS_AES_256_GCM_SHA384, CipherSuite.TLS_CHACHA20_POLY1305_SHA256]) {
      const [w, r] = pair(suite);
      for (const [type, content] of [
        [ContentType.handshake, bytes(300)],
        [ContentType.application_data, bytes(1)],
        [ContentType.application_data, new Uint8Array(0)],
        [ContentType.alert, Uint8Array.of(1, 0)],
      ] as const) {
        const rec = w.seal(type, content);
        expect(toHex(rec.subarray(0, 3))).toBe('170303'); // RFC 8446 §5.2: opaque_type 23, version 0x0303
        expect((rec[3]! << 8) | rec[4]!).toBe(rec.length - 5);
        expect(rec.length).toBe(5 + content.length + 1 + 16);
        const opened = r.open(frame(rec));
        if (isRecordError(opened)) throw new Error(opened.reason);
        expect(opened.contentType).toBe(type);
        expect(toHex(opened.content)).toBe(toHex(content));
      }
    }
  });

  it('advances the sequence per record and never reuses a nonce (iv XOR left-padded sequence)', () => {
    const nonces: string[] = [];
    const spy: CryptoProvider = {
      ...nobleProvider,
      aead: (suite, key): Aead => {
        const inner = nobleProvider.aead(suite, key);
        return {
          keyLen: inner.keyLen,
          ivLen: 12,
          tagLen: 16,
          seal: (nonce, pt, aad) => (nonces.push(toHex(nonce)), inner.seal(nonce, pt, aad)),
          open: (nonce, ct, aad) => inner.open(nonce, ct, aad),
        };
      },
    };
    const w = new RecordProtection(spy, AES128, hash, SECRET);
    const { iv } = trafficKeys(hash, AES128, SECRET);
    const records: string[] = [];
    for (let i = 0; i < 300; i++) {
      expect(w.sequence).toBe(BigInt(i));
      records.push(toHex(w.seal(ContentType.application_data, bytes(10))));
    }
    expect(new Set(nonces).size).toBe(300);
    expect(new Set(records).size).toBe(300); // same plaintext, different ciphertext each time
    expect(nonces[0]).toBe(toHex(iv)); // sequence 0: the IV itself
    const n257 = Buffer.from(nonces[257]!, 'hex');
    expect(n257[10]! ^ iv[10]!).toBe(1);
    expect(n257[11]! ^ iv[11]!).toBe(1);
    // Sequence 2^32 + 5 touches the high half of the 64-bit number.
    nonces.length = 0;
    w.sequence = (1n << 32n) + 5n;
    w.seal(ContentType.application_data, bytes(1));
    const hi = Buffer.from(nonces[0]!, 'hex');
    expect(hi[7]! ^ iv[7]!).toBe(1);
    expect(hi[11]! ^ iv[11]!).toBe(5);
    expect(w.sequence).toBe((1n << 32n) + 6n);
  });

  it('opens records in order only: a record replayed or skipped fails with bad_record_mac', () => {
    const [w, r] = pair();
    const a = w.seal(ContentType.application_data, bytes(5, 1));
    const b = w.seal(ContentType.application_data, bytes(5, 2));
    expectError(r.open(frame(b)), 'bad_record_mac');
    expect(r.sequence).toBe(0n); // a failed open leaves the sequence (trial decryption, RFC 8446 §4.2.10)
    expect(isRecordError(r.open(frame(a)))).toBe(false);
    expectError(r.open(frame(a)), 'bad_record_mac');
    expect(isRecordError(r.open(frame(b)))).toBe(false);
    expect(r.sequence).toBe(2n);
  });

  it('fails with bad_record_mac on any flipped ciphertext, tag or header (AAD) bit', () => {
    const [w] = pair();
    const rec = w.seal(ContentType.handshake, bytes(40));
    for (let i = 0; i < rec.length; i++) {
      if (i < 3) continue; // type/version flips are framing errors or different frames, tested elsewhere
      const bad = rec.slice();
      bad[i]! ^= 0x04;
      const [, r] = pair();
      const f = new RecordReader();
      f.push(bad);
      const got = f.next();
      if (got === undefined) continue; // a length flip made the record longer than what we pushed
      if (isRecordError(got)) continue; // a length flip over the limit
      expectError(r.open(got), 'bad_record_mac');
    }
  });

  it('strips padding and keeps trailing zero bytes of the content', () => {
    const [w, r] = pair();
    const content = Uint8Array.of(9, 0, 0, 0);
    const rec = w.seal(ContentType.application_data, content, 200);
    expect(rec.length).toBe(5 + content.length + 1 + 200 + 16);
    const opened = r.open(frame(rec));
    if (isRecordError(opened)) throw new Error(opened.reason);
    expect(toHex(opened.content)).toBe('09000000');
    // A padding-only application_data record (zero-length content) is legal and opens to nothing.
    const padded = r.open(frame(w.seal(ContentType.application_data, new Uint8Array(0), 50)));
    expect(isRecordError(padded) ? padded : padded.content.length).toBe(0);
  });

  it('clamps padding so the inner plaintext never exceeds maxPlaintext + 1', () => {
    const [w, r] = pair();
    const rec = w.seal(ContentType.application_data, bytes(MAX_PLAINTEXT - 10), 1000);
    expect(rec.length).toBe(5 + MAX_PLAINTEXT + 1 + 16);
    expect(isRecordError(r.open(frame(rec)))).toBe(false);
    w.maxPlaintext = 100;
    expect(w.seal(ContentType.application_data, bytes(50), 1000).length).toBe(5 + 101 + 16);
  });

  it('throws on local misuse: oversize content, zero-length handshake, unprotectable types', () => {
    const [w] = pair();
    expect(() => w.seal(ContentType.application_data, new Uint8Array(MAX_PLAINTEXT + 1))).toThrow(RangeError);
    expect(() => w.seal(ContentType.handshake, new Uint8Array(0))).toThrow(RangeError);
    expect(() => w.seal(ContentType.alert, new Uint8Array(0))).toThrow(RangeError);
    expect(() => w.seal(ContentType.change_cipher_spec, Uint8Array.of(1))).toThrow(RangeError);
    expect(() => w.seal(ContentType.invalid, Uint8Array.of(1))).toThrow(RangeError);
    expect(w.sequence).toBe(0n);
    expect(() => (w.maxPlaintext = 0)).toThrow(RangeError);
    expect(() => (w.maxPlaintext = MAX_PLAINTEXT + 1)).toThrow(RangeError);
    expect(() => (w.sequence = 1n << 64n)).toThrow(RangeError);
  });

  it('uses sequence 2^64-1 and then refuses to wrap (RFC 8446 §5.3)', () => {
    const [w, r] = pair();
    w.sequence = (1n << 64n) - 1n;
    r.sequence = (1n << 64n) - 1n;
    const last = w.seal(ContentType.application_data, bytes(3));
    expect(isRecordError(r.open(frame(last)))).toBe(false);
    expect(() => w.seal(ContentType.application_data, bytes(3))).toThrow(/wrap/);
    expectError(r.open(frame(last)), 'unexpected_message');
  });

  it('answers an all-zero inner plaintext with unexpected_message (RFC 8446 §5.4)', () => {
    const r = new RecordProtection(nobleProvider, AES128, hash, SECRET);
    expectError(r.open(frame(rawRecord(new Uint8Array(30)))), 'unexpected_message');
    const r2 = new RecordProtection(nobleProvider, AES128, hash, SECRET);
    expectError(r2.open(frame(rawRecord(new Uint8Array(0)))), 'unexpected_message');
  });

  it('answers zero-length handshake/alert content and protected CCS or unknown types with unexpected_message', () => {
    for (const inner of [Uint8Array.of(22), Uint8Array.of(21, 0, 0), Uint8Array.of(1, 20), Uint8Array.of(1, 99, 0), Uint8Array.of(5, 24)]) {
      const r = new RecordProtection(nobleProvider, AES128, hash, SECRET);
      expectError(r.open(frame(rawRecord(inner))), 'unexpected_message');
    }
  });

  it('answers an inner plaintext over 2^14+1, or over our record_size_limit, with record_overflow', () => {
    const big = new Uint8Array(MAX_PLAINTEXT + 2);
    big[0] = 23;
    const r = new RecordProtection(nobleProvider, AES128, hash, SECRET);
    expectError(r.open(frame(rawRecord(big))), 'record_overflow');

    const exact = new Uint8Array(MAX_PLAINTEXT + 1);
    exact[MAX_PLAINTEXT] = 23;
    expect(isRecordError(new RecordProtection(nobleProvider, AES128, hash, SECRET).open(frame(rawRecord(exact))))).toBe(false);

    // RFC 8449: we advertised record_size_limit 512 → at most 511 bytes of content + the type byte.
    const limited = new RecordProtection(nobleProvider, AES128, hash, SECRET);
    limited.maxPlaintext = maxPlaintextForLimit(512);
    const ok = new Uint8Array(512);
    ok[511] = 23;
    expect(isRecordError(limited.open(frame(rawRecord(ok))))).toBe(false);
    const over = new Uint8Array(513);
    over[512] = 23;
    expectError(limited.open(frame(rawRecord(over, 1))), 'record_overflow');
  });

  it('refuses to open a frame that is not application_data', () => {
    const r = new RecordProtection(nobleProvider, AES128, hash, SECRET);
    expectError(r.open(frame(plaintextRecord(ContentType.handshake, bytes(4)))), 'unexpected_message');
  });

  it('maps record_size_limit to content bytes (RFC 8449 §4: the limit counts the type byte)', () => {
    expect(maxPlaintextForLimit(64)).toBe(63);
    expect(maxPlaintextForLimit((1 << 14) + 1)).toBe(1 << 14);
    expect(maxPlaintextForLimit(65535)).toBe(1 << 14);
  });
});

describe('RecordProtection: KeyUpdate generations', () => {
  it('changes keys each generation: old keys cannot open new records, peers that update in step can', () => {
    const w0 = new RecordProtection(nobleProvider, AES128, hash, SECRET);
    w0.maxPlaintext = 1000;
    w0.seal(ContentType.application_data, bytes(4));
    const w1 = w0.nextGeneration();
    expect(w1.sequence).toBe(0n); // RFC 8446 §5.3: reset on key change
    expect(w1.maxPlaintext).toBe(1000);
    const rec = w1.seal(ContentType.application_data, bytes(8));

    expectError(new RecordProtection(nobleProvider, AES128, hash, SECRET).open(frame(rec)), 'bad_record_mac');
    const r1 = new RecordProtection(nobleProvider, AES128, hash, nextTrafficSecret(hash, SECRET));
    const opened = r1.open(frame(rec));
    expect(isRecordError(opened) ? opened.reason : toHex(opened.content)).toBe(toHex(bytes(8)));

    const r2 = r1.nextGeneration();
    const rec2 = w1.nextGeneration().seal(ContentType.application_data, bytes(8));
    expect(isRecordError(r2.open(frame(rec2)))).toBe(false);
    expect(toHex(rec2)).not.toBe(toHex(rec));
  });
});

describe('RecordReader', () => {
  const stream = Buffer.concat([
    plaintextRecord(ContentType.handshake, bytes(200), 0x0301),
    changeCipherSpecRecord(),
    plaintextRecord(ContentType.alert, Uint8Array.of(2, 40)),
    pair()[0].seal(ContentType.application_data, bytes(100)),
    plaintextRecord(ContentType.application_data, new Uint8Array(0)),
    pair()[0].seal(ContentType.handshake, bytes(MAX_PLAINTEXT)),
  ]);
  const expected = [22, 20, 21, 23, 23, 23];

  function check(frames: (RecordFrame | RecordError)[]): void {
    expect(frames.map((f) => (isRecordError(f) ? f.alert : f.contentType))).toEqual(expected);
    const joined = Buffer.concat(frames.flatMap((f) => (isRecordError(f) ? [] : [f.header, f.fragment])));
    expect(joined.equals(stream)).toBe(true);
  }

  it('returns many records from one push, one per next()', () => {
    const r = new RecordReader();
    r.push(stream);
    check(drain(r));
    expect(r.buffered).toBe(0);
  });

  it('reassembles records split across two pushes at every byte offset', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const r = new RecordReader();
      const frames: (RecordFrame | RecordError)[] = [];
      r.push(stream.subarray(0, cut));
      frames.push(...drain(r));
      r.push(stream.subarray(cut));
      frames.push(...drain(r));
      check(frames);
    }
  });

  it('reassembles a stream pushed one byte at a time, and in random-sized chunks', () => {
    const r = new RecordReader();
    const frames: (RecordFrame | RecordError)[] = [];
    for (let i = 0; i < stream.length; i++) {
      r.push(stream.subarray(i, i + 1));
      frames.push(...drain(r));
    }
    check(frames);
    const rand = prng(7);
    for (let run = 0; run < 20; run++) {
      const r2 = new RecordReader();
      const f2: (RecordFrame | RecordError)[] = [];
      for (let at = 0; at < stream.length; ) {
        const n = 1 + Math.floor(rand() * 3000);
        r2.push(stream.subarray(at, at + n));
        if (rand() < 0.7) f2.push(...drain(r2)); // sometimes push twice before draining
        at += n;
      }
      f2.push(...drain(r2));
      check(f2);
    }
  });

  it('returns views of the pushed bytes when a record is whole, and copies what it must keep', () => {
    const chunk = new Uint8Array(plaintextRecord(ContentType.handshake, bytes(10)));
    const r = new RecordReader();
    r.push(chunk);
    const f = r.next() as RecordFrame;
    expect(f.fragment.buffer).toBe(chunk.buffer); // zero-copy

    // After next() returns undefined the caller may reuse its buffer: the partial record was copied.
    const rec = plaintextRecord(ContentType.handshake, bytes(10));
    const reused = new Uint8Array(rec.subarray(0, 8));
    const r2 = new RecordReader();
    r2.push(reused);
    expect(r2.next()).toBeUndefined();
    expect(r2.buffered).toBe(8);
    reused.fill(0xee);
    r2.push(rec.subarray(8));
    const g = r2.next() as RecordFrame;
    expect(toHex(g.fragment)).toBe(toHex(bytes(10)));
  });

  it('accepts a 0x0301 record version and rejects non-TLS versions with decode_error', () => {
    expect((frame(plaintextRecord(ContentType.handshake, bytes(3), 0x0301))).legacyVersion).toBe(0x0301);
    const r = new RecordReader();
    r.push(Uint8Array.of(22, 0x02, 0x00, 0, 1, 1));
    expectError(r.next(), 'decode_error');
    const http = new RecordReader();
    http.push(new TextEncoder().encode('GET / HTTP/1.1\r\n'));
    expectError(http.next(), 'unexpected_message'); // 'G' (71) is not a content type
  });

  it('rejects unknown content types with unexpected_message, and stays failed', () => {
    for (const type of [0, 19, 24, 255]) {
      const r = new RecordReader();
      r.push(Uint8Array.of(type, 3, 3, 0, 1, 1));
      expectError(r.next(), 'unexpected_message');
      r.push(plaintextRecord(ContentType.handshake, bytes(3)));
      expectError(r.next(), 'unexpected_message');
    }
  });

  it('rejects oversize records with record_overflow from the header alone (RFC 8446 §5.1, §5.2)', () => {
    const r = new RecordReader();
    r.push(Uint8Array.of(23, 3, 3, 0x41, 0x01)); // 2^14 + 257, no body yet
    expectError(r.next(), 'record_overflow');
    const ok = new RecordReader();
    ok.push(Uint8Array.of(23, 3, 3, 0x41, 0x00)); // 2^14 + 256 is allowed
    expect(ok.next()).toBeUndefined();
    const plain = new RecordReader();
    plain.push(Uint8Array.of(22, 3, 3, 0x40, 0x01)); // plaintext over 2^14
    expectError(plain.next(), 'record_overflow');
    // A header split 2+3 is checked as soon as its fifth byte arrives.
    const split = new RecordReader();
    split.push(Uint8Array.of(23, 3));
    expect(split.next()).toBeUndefined();
    split.push(Uint8Array.of(3, 0xff, 0xff));
    expectError(split.next(), 'record_overflow');
  });

  it('rejects zero-length handshake/alert records and malformed ChangeCipherSpec with unexpected_message', () => {
    for (const rec of [
      Uint8Array.of(22, 3, 3, 0, 0),
      Uint8Array.of(21, 3, 3, 0, 0),
      Uint8Array.of(20, 3, 3, 0, 0),
      Uint8Array.of(20, 3, 3, 0, 2, 1, 1),
      Uint8Array.of(20, 3, 3, 0, 1, 2),
    ]) {
      const r = new RecordReader();
      r.push(rec);
      expectError(r.next(), 'unexpected_message');
    }
    // A ChangeCipherSpec whose value byte arrives in a later push is checked then.
    const late = new RecordReader();
    late.push(Uint8Array.of(20, 3, 3, 0, 1));
    expect(late.next()).toBeUndefined();
    late.push(Uint8Array.of(0));
    expectError(late.next(), 'unexpected_message');
  });
});

describe('RecordReader: every header error at every split offset', () => {
  it('reports the same alert however the bad record is split', () => {
    const cases: [Uint8Array, RecordError['alert']][] = [
      [Uint8Array.of(22, 3, 3, 0, 0), 'unexpected_message'],
      [Uint8Array.of(21, 3, 3, 0, 0), 'unexpected_message'],
      [Uint8Array.of(20, 3, 3, 0, 0), 'unexpected_message'],
      [Uint8Array.of(20, 3, 3, 0, 1, 0), 'unexpected_message'],
      [Uint8Array.of(24, 3, 3, 0, 1, 1), 'unexpected_message'],
      [Uint8Array.of(22, 4, 3, 0, 1, 1), 'decode_error'],
      [Uint8Array.of(23, 3, 3, 0x41, 0x01), 'record_overflow'],
      [Uint8Array.of(21, 3, 3, 0x40, 0x01), 'record_overflow'],
    ];
    for (const [bad, alert] of cases) {
      // Preceded by a good record so the bad one starts mid-chunk too.
      const stream = Buffer.concat([plaintextRecord(ContentType.handshake, bytes(3)), bad]);
      for (let cut = 0; cut <= stream.length; cut++) {
        const r = new RecordReader();
        const got: (RecordFrame | RecordError)[] = [];
        r.push(stream.subarray(0, cut));
        got.push(...drain(r));
        r.push(stream.subarray(cut));
        if (got.length < 2) got.push(...drain(r)); // (after an error, the reader repeats it)
        expect(got.length, `${toHex(bad)} cut ${cut}`).toBe(2);
        expectError(got[1], alert);
      }
    }
  });
});

describe('plaintext records and fragmentation', () => {
  it('builds the compatibility ChangeCipherSpec and plaintext records', () => {
    expect(toHex(changeCipherSpecRecord())).toBe('140303000101');
    expect(toHex(plaintextRecord(ContentType.change_cipher_spec, Uint8Array.of(1)))).toBe('140303000101');
    expect(toHex(plaintextRecord(ContentType.alert, Uint8Array.of(2, 70)))).toBe('15030300020246');
    expect(() => plaintextRecord(ContentType.handshake, new Uint8Array(MAX_PLAINTEXT + 1))).toThrow(RangeError);
    expect(() => plaintextRecord(ContentType.handshake, new Uint8Array(0))).toThrow(RangeError);
  });

  it('splits content into views of at most the limit, and empty content into nothing', () => {
    const c = bytes(40_000);
    const parts = fragment(c, MAX_PLAINTEXT);
    expect(parts.map((p) => p.length)).toEqual([16384, 16384, 7232]);
    expect(Buffer.concat(parts).equals(Buffer.from(c))).toBe(true);
    expect(parts[1]!.buffer).toBe(c.buffer);
    expect(fragment(new Uint8Array(0), 100)).toEqual([]);
    expect(fragment(bytes(100), 100)).toHaveLength(1);
    expect(() => fragment(c, 0)).toThrow(RangeError);
  });
});

describe('fuzz: untrusted bytes never throw', () => {
  it('feeds 5000 random and mutated streams to RecordReader and open() without a throw', () => {
    const rand = prng(0x8448);
    const [w] = pair();
    const valid = Buffer.concat([
      plaintextRecord(ContentType.handshake, bytes(60)),
      changeCipherSpecRecord(),
      w.seal(ContentType.handshake, bytes(90)),
      w.seal(ContentType.application_data, bytes(30), 7),
      w.seal(ContentType.alert, Uint8Array.of(1, 0)),
    ]);
    let frames = 0;
    let errors = 0;
    let opened = 0;
    for (let i = 0; i < 5000; i++) {
      let input: Uint8Array;
      const mode = i % 4;
      if (mode === 0) {
        input = Uint8Array.from({ length: Math.floor(rand() * 400) }, () => Math.floor(rand() * 256));
      } else if (mode === 1) {
        // Plausible headers with random bodies and lengths.
        const parts: number[] = [];
        for (let k = 0; k < 1 + rand() * 4; k++) {
          const len = Math.floor(rand() * 80);
          parts.push(20 + Math.floor(rand() * 5), 3, Math.floor(rand() * 5), len >> 8, len & 0xff);
          for (let j = 0; j < len + Math.floor(rand() * 3) - 1; j++) parts.push(Math.floor(rand() * 256));
        }
        input = Uint8Array.from(parts);
      } else {
        // A valid stream with flipped bits, truncation or inserted bytes.
        const m = Array.from(valid);
        const edits = 1 + Math.floor(rand() * 4);
        for (let e = 0; e < edits; e++) {
          const at = Math.floor(rand() * m.length);
          const op = rand();
          if (op < 0.6) m[at] = m[at]! ^ (1 << Math.floor(rand() * 8));
          else if (op < 0.8) m.splice(at, 1 + Math.floor(rand() * 10));
          else m.splice(at, 0, Math.floor(rand() * 256));
        }
        if (mode === 3) m.length = Math.floor(rand() * m.length);
        input = Uint8Array.from(m);
      }
      const reader = new RecordReader();
      const reads = [new RecordProtection(nobleProvider, AES128, hash, new Uint8Array(32).fill(0x5a))];
      reads[0]!.maxPlaintext = 1 + Math.floor(rand() * MAX_PLAINTEXT);
      for (let at = 0; at < input.length; ) {
        const n = 1 + Math.floor(rand() * 200);
        reader.push(input.subarray(at, at + n));
        at += n;
        for (let f = reader.next(); f !== undefined; f = reader.next()) {
          if (isRecordError(f)) {
            errors++;
            expect(typeof f.reason).toBe('string');
            break;
          }
          frames++;
          if (f.contentType === ContentType.application_data) {
            const o = reads[0]!.open(f);
            if (!isRecordError(o)) opened++;
          }
        }
      }
    }
    // The run covered all paths: frames, errors, and records that still authenticate.
    expect(frames).toBeGreaterThan(1000);
    expect(errors).toBeGreaterThan(1000);
    expect(opened).toBeGreaterThan(0);
  });
});
