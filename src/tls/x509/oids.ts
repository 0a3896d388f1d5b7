// Object identifiers used by the X.509 code (RFC 5280, RFC 3279, RFC 4055, RFC 5480, RFC 5758, RFC 8410),
// and the keyUsage bit numbers of RFC 5280 §4.2.1.3.

export const Oid = {
  // RFC 5758 §3.2 / RFC 3279 §2.2.3: ECDSA signature algorithms.
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ecdsaWithSha384: '1.2.840.10045.4.3.3',
  ecdsaWithSha512: '1.2.840.10045.4.3.4',
  // RFC 4055 §5 / RFC 8017 App. C: RSA PKCS #1 v1.5 and PSS.
  rsaEncryption: '1.2.840.113549.1.1.1',
  sha1WithRsa: '1.2.840.113549.1.1.5',
  mgf1: '1.2.840.113549.1.1.8',
  rsassaPss: '1.2.840.113549.1.1.10',
  sha256WithRsa: '1.2.840.113549.1.1.11',
  sha384WithRsa: '1.2.840.113549.1.1.12',
  sha512WithRsa: '1.2.840.113549.1.1.13',
  // NIST hash algorithms (RFC 5754 §2).
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
  // RFC 5480 §2.1.1: id-ecPublicKey and curves; RFC 8410 §3: Ed25519.
  ecPublicKey: '1.2.840.10045.2.1',
  ed25519: '1.3.101.112',
  // RFC 5280 §4.2.1: certificate extensions.
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  nameConstraints: '2.5.29.30',
  certificatePolicies: '2.5.29.32',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  anyExtendedKeyUsage: '2.5.29.37.0',
  // RFC 5280 §4.2.1.12: key purposes.
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  // RFC 5280 App. A / RFC 4519: naming attributes.
  commonName: '2.5.4.3',
  countryName: '2.5.4.6',
  organizationName: '2.5.4.10',
} as const;

/** RFC 5280 §4.2.1.3: KeyUsage named bits, as bit positions in CertInfo.keyUsage (bit i = 1 << i). */
export const KeyUsage = {
  digitalSignature: 1 << 0,
  nonRepudiation: 1 << 1,
  keyEncipherment: 1 << 2,
  dataEncipherment: 1 << 3,
  keyAgreement: 1 << 4,
  keyCertSign: 1 << 5,
  cRLSign: 1 << 6,
  encipherOnly: 1 << 7,
  decipherOnly: 1 << 8,
} as const;
