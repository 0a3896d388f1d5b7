// Signal handling before a command is ready for graceful shutdown: SIGINT/SIGTERM exit at once,
// which still runs the synchronous 'exit' cleanups (TUN closed, namespace removed).

const hardStop = (signal: NodeJS.Signals) => process.exit(signal === 'SIGINT' ? 130 : 143);

export function installHardStop(): void {
  process.on('SIGINT', hardStop);
  process.on('SIGTERM', hardStop);
}

/** Called by a command that installs its own graceful handlers. */
export function removeHardStop(): void {
  process.off('SIGINT', hardStop);
  process.off('SIGTERM', hardStop);
}
