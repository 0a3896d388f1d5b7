// RFC 8448 §3 "Simple 1-RTT Handshake" known answers: every secret, key and IV of the key schedule, the
// Finished values, and every encrypted record decrypted and re-encrypted byte-exact (keyschedule.ts, record.ts).

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CipherSuite, ContentType } from '../../src/tls/constants.js';
import { nobleProvider } from '../../src/tls/crypto/noble.js';
import {
  deriveSecret,
  earlyStage,
  emptyTranscriptHash,
  finishedKey,
  finishedVerifyData,
  hkdfExpand,
  hkdfExtract,
  resumptionPsk,
  SECRETS,
  trafficKeys,
} from '../../src/tls/keyschedule.js';
import {
  RecordProtection,
  RecordReader,
  isRecordError,
  plaintextRecord,
  type RecordFrame,
} from '../../src/tls/record.js';

const V = JSON.parse(readFileSync(new URL('./vectors/rfc8448-simple-1rtt.json', import.meta.url), 'utf8')) as Record<
  string,
  unknown
>;

function hex(key: string): Uint8Array {
  const s = V[key];
  if (typeof s !== 'string') throw new Error(`vector ${key} missing`);
  return Buffer.from(s, 'hex');
}
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const concat = (...parts: Uint8Array[]): Uint8Array => Buffer.concat(parts);
const seqOf = (key: string): number => (V.record_sequence_numbers as Record<string, number>)[key]!;
const labelInfo = (key: string): Uint8Array => Buffer.from((V.hkdf_expand_label_info as Record<string, string>)[key]!, 'hex');

const suite = CipherSuite.TLS_AES_128_GCM_SHA256;
const hash = nobleProvider.hash('sha256');

// The transcript, from the handshake messages in the vectors (RFC 8446 §4.4.1).
const CH = hex('client_hello');
const SH = hex('server_hello');
const EE = hex('encrypted_extensions');
const CERT = hex('certificate');
const CV = hex('certificate_verify');
const SF = hex('server_finished');
const CF = hex('client_finished');

const early = earlyStage(hash);
const hs = early.handshakeStage(hex('ecdhe_shared_secret'));
const master = hs.masterStage();
const thCHSH = hash.digest(concat(CH, SH));
const thToSF = hash.digest(concat(CH, SH, EE, CERT, CV, SF));
const thToCF = hash.digest(concat(CH, SH, EE, CERT, CV, SF, CF));
const secrets = {
  clientHs: hs.clientTrafficSecret(thCHSH),
  serverHs: hs.serverTrafficSecret(thCHSH),
  clientAp: master.clientTrafficSecret(thToSF),
  serverAp: master.serverTrafficSecret(thToSF),
};

function frameOf(record: Uint8Array): RecordFrame {
  const reader = new RecordReader();
  reader.push(record);
  const frame = reader.next();
  if (frame === undefined || isRecordError(frame)) throw new Error(`record did not frame: ${JSON.stringify(frame)}`);
  expect(reader.next()).toBeUndefined();
  expect(reader.buffered).toBe(0);
  return frame;
}

describe('RFC 8448 §3 key schedule', () => {
  it('computes the transcript hashes the trace shows', () => {
    expect(toHex(thCHSH)).toBe(toHex(hex('transcript_hash_ch_sh')));
    expect(toHex(thToSF)).toBe(toHex(hex('transcript_hash_ch_through_server_finished')));
    expect(toHex(thToCF)).toBe(toHex(hex('transcript_hash_ch_through_client_finished')));
    expect(toHex(emptyTranscriptHash(hash))).toBe(toHex(hex('empty_transcript_hash')));
  });

  it('derives the early secret from a zero PSK, with or without an explicit one', () => {
    expect(toHex(early.secret)).toBe(toHex(hex('early_secret')));
    expect(toHex(earlyStage(hash, hex('psk_ikm_zero')).secret)).toBe(toHex(hex('early_secret')));
    expect(toHex(hkdfExtract(hash, new Uint8Array(0), hex('psk_ikm_zero')))).toBe(toHex(hex('early_secret')));
  });

  it('derives the "derived" salts, the handshake secret and the master secret', () => {
    expect(toHex(early.derived())).toBe(toHex(hex('derived_secret_for_handshake')));
    expect(toHex(hs.secret)).toBe(toHex(hex('handshake_secret')));
    expect(toHex(hs.derived())).toBe(toHex(hex('derived_secret_for_master')));
    expect(toHex(master.secret)).toBe(toHex(hex('master_secret')));
  });

  it('derives both handshake traffic secrets', () => {
    expect(toHex(secrets.clientHs)).toBe(toHex(hex('client_handshake_traffic_secret')));
    expect(toHex(secrets.serverHs)).toBe(toHex(hex('server_handshake_traffic_secret')));
  });

  it('derives both application traffic secrets, the exporter and the resumption master secret', () => {
    expect(toHex(secrets.clientAp)).toBe(toHex(hex('client_application_traffic_secret_0')));
    expect(toHex(secrets.serverAp)).toBe(toHex(hex('server_application_traffic_secret_0')));
    expect(toHex(master.exporterSecret(thToSF))).toBe(toHex(hex('exporter_master_secret')));
    expect(toHex(master.resumptionSecret(thToCF))).toBe(toHex(hex('resumption_master_secret')));
  });

  it('derives the ticket PSK from the resumption master secret and the ticket nonce', () => {
    const psk = resumptionPsk(hash, hex('resumption_master_secret'), hex('ticket_nonce'));
    expect(toHex(psk)).toBe(toHex(hex('resumption_psk')));
  });

  it('derives every traffic key and IV', () => {
    const cases = [
      ['client_handshake', secrets.clientHs],
      ['server_handshake', secrets.serverHs],
      ['client_application', secrets.clientAp],
      ['server_application', secrets.serverAp],
    ] as const;
    for (const [name, secret] of cases) {
      const { key, iv } = trafficKeys(hash, suite, secret);
      expect(toHex(key), `${name} key`).toBe(toHex(hex(`${name}_write_key`)));
      expect(toHex(iv), `${name} iv`).toBe(toHex(hex(`${name}_write_iv`)));
    }
  });

  it('computes both finished keys and verify_data, matching the Finished messages', () => {
    const thToCV = hash.digest(concat(CH, SH, EE, CERT, CV));
    expect(toHex(finishedKey(hash, secrets.serverHs))).toBe(toHex(hex('server_finished_key')));
    const sfv = finishedVerifyData(hash, secrets.serverHs, thToCV);
    expect(toHex(sfv)).toBe(toHex(hex('server_finished_verify_data')));
    expect(toHex(SF)).toBe('14000020' + toHex(sfv)); // RFC 8446 §4.4.4: Finished { verify_data }

    expect(toHex(finishedKey(hash, secrets.clientHs))).toBe(toHex(hex('client_finished_key')));
    const cfv = finishedVerifyData(hash, secrets.clientHs, thToSF);
    expect(toHex(cfv)).toBe(toHex(hex('client_finished_verify_data')));
    expect(toHex(CF)).toBe('14000020' + toHex(cfv));
  });

  it('builds the HkdfLabel exactly as the trace shows for every label', () => {
    // hkdfExpand over the trace's HkdfLabel bytes must equal the schedule's own hkdfExpandLabel result.
    const E = emptyTranscriptHash(hash);
    const cases: [string, Uint8Array, Uint8Array, number][] = [
      ['derived', early.secret, hex('derived_secret_for_handshake'), 32],
      ['c_hs_traffic', hs.secret, secrets.clientHs, 32],
      ['s_hs_traffic', hs.secret, secrets.serverHs, 32],
      ['c_ap_traffic', master.secret, secrets.clientAp, 32],
      ['s_ap_traffic', master.secret, secrets.serverAp, 32],
      ['exp_master', master.secret, hex('exporter_master_secret'), 32],
      ['res_master', master.secret, hex('resumption_master_secret'), 32],
      ['resumption', hex('resumption_master_secret'), hex('resumption_psk'), 32],
      ['finished', secrets.serverHs, hex('server_finished_key'), 32],
      ['key_16', secrets.serverHs, hex('server_handshake_write_key'), 16],
      ['iv_12', secrets.serverHs, hex('server_handshake_write_iv'), 12],
    ];
    for (const [name, prk, expected, len] of cases) {
      expect(toHex(hkdfExpand(hash, prk, labelInfo(name), len)), name).toBe(toHex(expected));
    }
    expect(toHex(deriveSecret(hash, early.secret, 'derived', E))).toBe(toHex(hex('derived_secret_for_handshake')));
    expect(SECRETS.clientHandshake.label).toBe('c hs traffic');
  });
});

describe('RFC 8448 §3 records', () => {
  it('frames the plaintext ClientHello (legacy version 0x0301) and ServerHello records byte-exact', () => {
    const chRecord = hex('client_hello_record');
    expect(toHex(plaintextRecord(ContentType.handshake, CH, 0x0301))).toBe(toHex(chRecord));
    const chFrame = frameOf(chRecord);
    expect(chFrame.contentType).toBe(ContentType.handshake);
    expect(chFrame.legacyVersion).toBe(0x0301);
    expect(toHex(chFrame.fragment)).toBe(toHex(CH));
    expect(toHex(plaintextRecord(ContentType.handshake, SH))).toBe(toHex(hex('server_hello_record')));
  });

  it('decrypts the server handshake flight and re-encrypts it byte-exact', () => {
    const record = hex('server_handshake_record');
    expect(seqOf('server_handshake_record')).toBe(0);
    const open = new RecordProtection(nobleProvider, suite, hash, secrets.serverHs);
    const opened = open.open(frameOf(record));
    if (isRecordError(opened)) throw new Error(opened.reason);
    expect(opened.contentType).toBe(Number.parseInt(V.server_handshake_flight_inner_content_type as string, 16));
    expect(toHex(opened.content)).toBe(toHex(hex('server_handshake_flight_plaintext')));
    expect(toHex(opened.content)).toBe(toHex(concat(EE, CERT, CV, SF)));
    expect(open.sequence).toBe(1n);

    const seal = new RecordProtection(nobleProvider, suite, hash, secrets.serverHs);
    expect(toHex(seal.seal(ContentType.handshake, opened.content))).toBe(toHex(record));
    expect(seal.sequence).toBe(1n);
  });

  it('decrypts the client Finished record and re-encrypts it byte-exact', () => {
    const record = hex('client_finished_record');
    const open = new RecordProtection(nobleProvider, suite, hash, secrets.clientHs);
    open.sequence = BigInt(seqOf('client_finished_record'));
    const opened = open.open(frameOf(record));
    if (isRecordError(opened)) throw new Error(opened.reason);
    expect(opened.contentType).toBe(ContentType.handshake);
    expect(toHex(opened.content)).toBe(toHex(CF));
    const seal = new RecordProtection(nobleProvider, suite, hash, secrets.clientHs);
    expect(toHex(seal.seal(ContentType.handshake, CF))).toBe(toHex(record));
  });

  it('runs the server application epoch in order: NewSessionTicket, data, alert — both directions byte-exact', () => {
    const steps = [
      ['new_session_ticket_record', ContentType.handshake, hex('new_session_ticket')],
      ['server_application_data_record', ContentType.application_data, hex('server_application_data_plaintext')],
      ['server_alert_record', ContentType.alert, hex('server_alert_plaintext')],
    ] as const;
    const open = new RecordProtection(nobleProvider, suite, hash, secrets.serverAp);
    const seal = new RecordProtection(nobleProvider, suite, hash, secrets.serverAp);
    for (const [name, type, content] of steps) {
      expect(open.sequence, name).toBe(BigInt(seqOf(name)));
      const opened = open.open(frameOf(hex(name)));
      if (isRecordError(opened)) throw new Error(`${name}: ${opened.reason}`);
      expect(opened.contentType, name).toBe(type);
      expect(toHex(opened.content), name).toBe(toHex(content));
      expect(toHex(seal.seal(type, content)), name).toBe(toHex(hex(name)));
    }
  });

  it('runs the client application epoch in order: data, alert — both directions byte-exact', () => {
    const steps = [
      ['client_application_data_record', ContentType.application_data, hex('client_application_data_plaintext')],
      ['client_alert_record', ContentType.alert, hex('client_alert_plaintext')],
    ] as const;
    const open = new RecordProtection(nobleProvider, suite, hash, secrets.clientAp);
    const seal = new RecordProtection(nobleProvider, suite, hash, secrets.clientAp);
    for (const [name, type, content] of steps) {
      expect(open.sequence, name).toBe(BigInt(seqOf(name)));
      const opened = open.open(frameOf(hex(name)));
      if (isRecordError(opened)) throw new Error(`${name}: ${opened.reason}`);
      expect(opened.contentType, name).toBe(type);
      expect(toHex(opened.content), name).toBe(toHex(content));
      expect(toHex(seal.seal(type, content)), name).toBe(toHex(hex(name)));
    }
  });

  it('frames the whole server-to-client byte stream of the trace, split at every byte offset', () => {
    const stream = concat(
      hex('server_hello_record'),
      Uint8Array.of(0x14, 0x03, 0x03, 0x00, 0x01, 0x01),
      hex('server_handshake_record'),
      hex('new_session_ticket_record'),
      hex('server_application_data_record'),
    );
    const expectedTypes = [22, 20, 23, 23, 23];
    for (let cut = 0; cut <= stream.length; cut++) {
      const reader = new RecordReader();
      const frames: RecordFrame[] = [];
      for (const part of [stream.slice(0, cut), stream.slice(cut)]) {
        reader.push(part);
        for (let f = reader.next(); f !== undefined; f = reader.next()) {
          if (isRecordError(f)) throw new Error(f.reason);
          frames.push({ ...f, fragment: f.fragment.slice(), header: f.header.slice() });
        }
      }
      expect(frames.map((f) => f.contentType)).toEqual(expectedTypes);
      expect(toHex(concat(...frames.flatMap((f) => [f.header, f.fragment])))).toBe(toHex(stream));
    }
  });
});
