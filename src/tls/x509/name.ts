// X.501 Names (RFC 5280 §4.1.2.4): formatting a DER Name as "C=US, O=Example, CN=host" (in DER order,
// like OpenSSL's one-line form with ", " between RDNs) and building a Name for the local CA.

import { asOid, asString, children, DerError, derOid, derSequence, derSet, derUtf8String, type DerElement, Tag } from './der.js';
import { Oid } from './oids.js';

/** RFC 4514 §3 short names, plus the ones OpenSSL prints for common attributes. */
const SHORT: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.4': 'SN',
  '2.5.4.5': 'serialNumber',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.9': 'street',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.12': 'title',
  '2.5.4.42': 'GN',
  '2.5.4.97': 'organizationIdentifier',
  '0.9.2342.19200300.100.1.1': 'UID',
  '0.9.2342.19200300.100.1.25': 'DC',
  '1.2.840.113549.1.9.1': 'emailAddress',
};

export interface ParsedName {
  /** "C=US, O=Example, CN=host" */
  text: string;
  /** The last commonName attribute, if any (RFC 6125 §6.4.4 uses the most specific one). */
  commonName: string | undefined;
}

function hex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

/** RFC 4514 §2.4: backslash-escape the special characters, a leading '#' or space and a trailing space. */
function escapeValue(v: string): string {
  let s = v.replace(/[\\,+"<>;]/g, (c) => `\\${c}`);
  if (s.startsWith('#') || s.startsWith(' ')) s = `\\${s}`;
  if (s.endsWith(' ') && s.length > 1) s = `${s.slice(0, -1)}\\ `;
  return s;
}

/** Parses a Name element; throws DerError (call inside derDecode). */
export function parseName(el: DerElement): ParsedName {
  if (el.tag !== Tag.SEQUENCE) throw new DerError('Name: not a SEQUENCE');
  const rdns: string[] = [];
  let commonName: string | undefined;
  for (const rdn of children(el, 'RDN')) {
    if (rdn.tag !== Tag.SET) throw new DerError('RDN: not a SET');
    const atvs: string[] = [];
    for (const atv of children(rdn, 'AttributeTypeAndValue')) {
      if (atv.tag !== Tag.SEQUENCE) throw new DerError('AttributeTypeAndValue: not a SEQUENCE');
      const [type, value, extra] = children(atv, 'AttributeTypeAndValue');
      if (!type || !value || extra) throw new DerError('AttributeTypeAndValue: wrong shape');
      const oid = asOid(type, 'attribute type');
      let text: string;
      let shown: string;
      try {
        text = asString(value, 'attribute value');
        shown = escapeValue(text);
      } catch (e) {
        if (!(e instanceof DerError)) throw e;
        text = shown = '#' + hex(value.raw); // RFC 4514 §2.4: a value that is not a string, as #hex of its BER
      }
      if (oid === Oid.commonName) commonName = text;
      atvs.push(`${SHORT[oid] ?? oid}=${shown}`);
    }
    if (atvs.length === 0) throw new DerError('RDN: empty SET');
    rdns.push(atvs.join(' + '));
  }
  return { text: rdns.join(', '), commonName };
}

/** A Name of single-valued RDNs, each value a UTF8String (RFC 5280 §4.1.2.6 "SHOULD use UTF8String"). */
export function buildName(attrs: readonly { oid: string; value: string }[]): Uint8Array {
  return derSequence(...attrs.map((a) => derSet(derSequence(derOid(a.oid), derUtf8String(a.value)))));
}
