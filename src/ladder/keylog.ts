// The NSS key log format (https://tlswg.org/sslkeylogfile, as in a pcapng DSB): "LABEL <client random
// hex> <secret hex>" lines, looked up by client random. Malformed lines are ignored, not fatal.

export class KeyLog {
  private readonly byRandom = new Map<string, Map<string, Uint8Array>>();
  /** Well-formed lines read. */
  readonly lines: number;

  constructor(text: string) {
    let n = 0;
    for (const raw of text.split(/\r?\n/)) {
      const line = raw.trim();
      // "Lines beginning with # are comments"; blank lines are ignored.
      if (line.length === 0 || line.startsWith('#')) continue;
      const parts = line.split(/\s+/);
      if (parts.length !== 3) continue;
      const [label, random, secret] = parts as [string, string, string];
      if (!/^[A-Z0-9_]+$/.test(label) || !/^[0-9a-fA-F]{64}$/.test(random) || !/^(?:[0-9a-fA-F]{2}){16,64}$/.test(secret)) continue;
      const key = random.toLowerCase();
      let m = this.byRandom.get(key);
      if (m === undefined) this.byRandom.set(key, (m = new Map()));
      m.set(label, Uint8Array.from(Buffer.from(secret, 'hex')));
      n++;
    }
    this.lines = n;
  }

  /** The secret logged under `label` for the connection whose ClientHello.random is `clientRandom`. */
  get(clientRandom: Uint8Array, label: string): Uint8Array | undefined {
    return this.byRandom.get(Buffer.from(clientRandom).toString('hex'))?.get(label);
  }

  has(clientRandom: Uint8Array): boolean {
    return this.byRandom.has(Buffer.from(clientRandom).toString('hex'));
  }
}
