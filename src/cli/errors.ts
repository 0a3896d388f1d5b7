// Errors meant for a person: what went wrong and what to do, printed as one line, never a stack trace.

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Turns any thrown value into the one line the CLI prints. Environment errors keep their own wording. */
export function describeError(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as NodeJS.ErrnoException).code;
    if ((code === 'EPERM' || code === 'EACCES') && !/sudo/.test(e.message)) {
      return `${e.message}\ntunstack needs CAP_NET_ADMIN: run it with sudo`;
    }
    return e.message;
  }
  return String(e);
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}
