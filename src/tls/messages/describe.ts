// One-line descriptions of handshake messages for `--trace` (engine-api.ts HandshakeTrace):
// "ClientHello suites=[TLS_AES_128_GCM_SHA256,…] groups=[x25519,…] shares=[x25519] sni=… alpn=[…] psk=1".

import { CipherSuite, NamedGroup, SignatureScheme, nameOf } from '../constants.js';
import { extensionName, findExtension, extensionCode } from '../extensions.js';
import type { Extension, HandshakeMessage } from './types.js';

const list = (table: Readonly<Record<string, number>>, values: readonly number[]): string =>
  `[${values.map((v) => nameOf(table, v)).join(',')}]`;

/** The message's RFC name and the few facts that tell one handshake from another. */
export function describeHandshake(msg: HandshakeMessage): { message: string; detail: string } {
  switch (msg.type) {
    case 'client_hello': {
      const parts = [`suites=${list(CipherSuite, msg.cipherSuites)}`];
      const groups = findExtension(msg.extensions, 'supported_groups');
      if (groups) parts.push(`groups=${list(NamedGroup, groups.groups)}`);
      const shares = findExtension(msg.extensions, 'key_share_client');
      if (shares) parts.push(`shares=${list(NamedGroup, shares.shares.map((s) => s.group))}`);
      const sni = findExtension(msg.extensions, 'server_name');
      if (sni?.hostName !== undefined) parts.push(`sni=${sni.hostName}`);
      const alpn = findExtension(msg.extensions, 'alpn');
      if (alpn) parts.push(`alpn=[${alpn.protocols.join(',')}]`);
      const psk = findExtension(msg.extensions, 'pre_shared_key_client');
      if (psk) parts.push(`psk=${psk.identities.length}`);
      if (findExtension(msg.extensions, 'early_data')) parts.push('early_data');
      return { message: 'ClientHello', detail: parts.join(' ') };
    }
    case 'server_hello': {
      if (msg.isHelloRetryRequest) {
        const parts: string[] = [];
        const ks = findExtension(msg.extensions, 'key_share_hrr');
        if (ks) parts.push(`group=${nameOf(NamedGroup, ks.group)}`);
        const cookie = findExtension(msg.extensions, 'cookie');
        if (cookie) parts.push(`cookie=${cookie.cookie.length}B`);
        return { message: 'HelloRetryRequest', detail: parts.join(' ') };
      }
      const parts = [nameOf(CipherSuite, msg.cipherSuite)];
      const ks = findExtension(msg.extensions, 'key_share_server');
      if (ks) parts.push(`key_share=${nameOf(NamedGroup, ks.share.group)}`);
      const psk = findExtension(msg.extensions, 'pre_shared_key_server');
      if (psk) parts.push(`psk=${psk.selectedIdentity}`);
      if (!findExtension(msg.extensions, 'supported_versions_server')) parts.push('no supported_versions');
      return { message: 'ServerHello', detail: parts.join(' ') };
    }
    case 'encrypted_extensions':
      return { message: 'EncryptedExtensions', detail: msg.extensions.map(describeExtension).join(' ') };
    case 'certificate': {
      const n = msg.entries.length;
      const ctx = msg.requestContext.length > 0 ? ` context=${msg.requestContext.length}B` : '';
      return { message: 'Certificate', detail: `${n} cert${n === 1 ? '' : 's'}${ctx}` };
    }
    case 'certificate_request': {
      const sa = findExtension(msg.extensions, 'signature_algorithms');
      return { message: 'CertificateRequest', detail: sa ? `sigalgs=${list(SignatureScheme, sa.schemes)}` : '' };
    }
    case 'certificate_verify':
      return { message: 'CertificateVerify', detail: `${nameOf(SignatureScheme, msg.scheme)} sig=${msg.signature.length}B` };
    case 'finished':
      return { message: 'Finished', detail: `${msg.verifyData.length}B` };
    case 'new_session_ticket': {
      const ed = findExtension(msg.extensions, 'early_data');
      const early = ed?.maxEarlyDataSize !== undefined ? ` max_early_data=${ed.maxEarlyDataSize}` : '';
      return { message: 'NewSessionTicket', detail: `lifetime=${msg.lifetime}s ticket=${msg.ticket.length}B${early}` };
    }
    case 'end_of_early_data':
      return { message: 'EndOfEarlyData', detail: '' };
    case 'key_update':
      return { message: 'KeyUpdate', detail: msg.updateRequested ? 'update_requested' : 'update_not_requested' };
  }
}

/** "alpn=h2", "record_size_limit=16385", "server_name", "supported_groups=[x25519,…]", "0x1234". */
export function describeExtension(ext: Extension): string {
  switch (ext.type) {
    case 'alpn':
      return `alpn=${ext.protocols.join(',')}`;
    case 'record_size_limit':
      return `record_size_limit=${ext.limit}`;
    case 'server_name':
      return ext.hostName === undefined ? 'server_name' : `server_name=${ext.hostName}`;
    case 'supported_groups':
      return `supported_groups=${list(NamedGroup, ext.groups)}`;
    case 'early_data':
      return ext.maxEarlyDataSize === undefined ? 'early_data' : `early_data=${ext.maxEarlyDataSize}`;
    default:
      return extensionName(extensionCode(ext));
  }
}
