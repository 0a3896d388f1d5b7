// TLS for mode http, shared by `tunstack lb` and the tests: a TLS listener's certificates (its own PEM
// files chosen by SNI, or a certificate for the VIP from the state directory's local CA, as
// `serve --https`), and the roots a re-encrypting pool verifies its backends with (the local CA).

import { readFileSync } from 'node:fs';
import { httpsServerConfig } from '../../cli/https.js';
import type { CryptoProvider } from '../../tls/crypto/provider.js';
import { ensureServerIdentity } from '../../socket/tls-state-dir.js';
import type { HttpProxyEnv } from './proxy-http.js';

export interface ProxyTlsOptions {
  /** The VIP (tunstack's address): the local CA's certificate is issued for it. */
  address: string;
  stateDir: string;
  crypto: CryptoProvider;
}

/** The TLS parts of an HttpProxyEnv. Errors name the file or the state directory. */
export function proxyTlsEnv(o: ProxyTlsOptions): Pick<HttpProxyEnv, 'tlsServerConfig' | 'backendCa' | 'readCa' | 'crypto'> & { caPath: () => string } {
  let identity: ReturnType<typeof ensureServerIdentity> | undefined;
  const local = () => (identity ??= ensureServerIdentity(o.stateDir, { address: o.address, crypto: o.crypto, now: Date.now() }));
  return {
    crypto: o.crypto,
    tlsServerConfig: (certs) =>
      httpsServerConfig({ address: o.address, stateDir: o.stateDir, certs: certs.map((c) => c.cert), keys: certs.map((c) => c.key), crypto: o.crypto }).config,
    backendCa: () => local().caPem,
    readCa: (path) => {
      try {
        return readFileSync(path, 'utf8');
      } catch (e) {
        throw new Error(`cannot read the pool's cacert ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
    },
    caPath: () => local().caPath,
  };
}
