// TLS key logging in the NSS key log format (https://tlswg.org/sslkeylogfile, the format behind
// SSLKEYLOGFILE): one `LABEL <client_random hex> <secret hex>\n` line per secret, appended to a file.

import { closeSync, openSync, writeSync } from 'node:fs';
import type { KeyLogLabel } from '../tls/engine-api.js';

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex');
}

/** One key log line, newline included: `CLIENT_HANDSHAKE_TRAFFIC_SECRET <64 hex> <64 or 96 hex>\n`. */
export function keyLogLine(label: KeyLogLabel, clientRandom: Uint8Array, secret: Uint8Array): string {
  return `${label} ${hex(clientRandom)} ${hex(secret)}\n`;
}

/**
 * Appends key log lines to a file, opened lazily in append mode (mode 0600: the file holds secrets).
 * Each append is one synchronous write(2) of whole lines, so lines from several processes appending
 * to the same file (O_APPEND) never interleave. A file that cannot be opened or written is reported
 * once through `onError` and then ignored: key logging never takes a connection down.
 */
export class KeyLogFile {
  private fd: number | undefined;
  private failed = false;

  constructor(
    readonly path: string,
    private readonly onError: (e: Error) => void = () => {},
  ) {}

  append(lines: string): void {
    if (this.failed || lines.length === 0) return;
    try {
      this.fd ??= openSync(this.path, 'a', 0o600);
      writeSync(this.fd, lines);
    } catch (e) {
      this.failed = true;
      this.onError(new Error(`cannot write key log ${this.path}: ${(e as Error).message}`));
      this.close();
    }
  }

  close(): void {
    if (this.fd === undefined) return;
    try {
      closeSync(this.fd);
    } catch {
      // already gone
    }
    this.fd = undefined;
  }
}

const byPath = new Map<string, KeyLogFile>();

/**
 * The SSLKEYLOGFILE appender for this process (one shared per path), or undefined when the variable
 * is unset or empty — as in curl, Firefox and node (`--tls-keylog`).
 */
export function keyLogFromEnv(env: NodeJS.ProcessEnv = process.env, onError?: (e: Error) => void): KeyLogFile | undefined {
  const path = env.SSLKEYLOGFILE;
  if (path === undefined || path === '') return undefined;
  let file = byPath.get(path);
  if (!file) {
    file = new KeyLogFile(path, onError);
    byPath.set(path, file);
  }
  return file;
}
