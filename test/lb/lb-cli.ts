// `tunstack lb` as a child process for the command-line tests: started from dist/, resolved once it
// printed "ready", stopped with SIGTERM (SIGKILL after 10 s).

import { spawn, type ChildProcess } from 'node:child_process';
import { CLI } from '../helpers/harness.js';

export interface LbProc {
  proc: ChildProcess;
  out: () => string;
  err: () => string;
  stop: () => Promise<number | null>;
}

export function startLb(args: string[]): Promise<LbProc> {
  const proc = spawn(process.execPath, [CLI, 'lb', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => proc.on('exit', (c) => r(c)));
  const h: LbProc = {
    proc,
    out: () => out,
    err: () => err,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const k = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      const c = await exited;
      clearTimeout(k);
      return c;
    },
  };
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`tunstack lb not ready in 15 s: ${err}`));
    }, 15_000);
    proc.stdout!.on('data', () => {
      if (/^ready /m.test(out)) {
        clearTimeout(t);
        resolve(h);
      }
    });
    void exited.then((c) => {
      clearTimeout(t);
      reject(new Error(`tunstack lb exited with ${c}: ${err}`));
    });
  });
}

export const waitForText = async (get: () => string, re: RegExp, ms: number) => {
  const t0 = performance.now();
  while (performance.now() - t0 < ms && !re.test(get())) await new Promise((r) => setTimeout(r, 50));
  return re.test(get());
};
