// How a server process stops: on SIGTERM (or SIGINT) it drains its listeners
// (http-drain.ts) within --shutdown-timeout, then closes its state; a second
// signal exits at once (what is durable was acknowledged; the rest is lost as
// on a crash). The default timeout fits a pod's 30 s grace period with a 5 s
// preStop sleep before the signal and a few seconds left to close.

import { parseDurationMs } from '../api/duration.ts';
import { SHUTDOWN_LINGER_MS, type DrainOptions } from './http-drain.ts';
import type { Logger } from './log.ts';

export const SHUTDOWN_TIMEOUT_DEFAULT = '15s';
/** At most this long: past a pod's grace period the kubelet kills the process anyway. */
const SHUTDOWN_TIMEOUT_MAX_MS = 10 * 60_000;

/** The drain of a --shutdown-timeout (a duration such as "15s"), or why it is invalid. */
export function shutdownDrain(text: string): DrainOptions | string {
  const ms = parseDurationMs(text);
  if (ms === undefined || ms > SHUTDOWN_TIMEOUT_MAX_MS) return `--shutdown-timeout: "${text}" is not a duration of at most 10m (such as 15s)`;
  return { timeoutMs: ms, lingerMs: SHUTDOWN_LINGER_MS };
}

/** Resolves with the first SIGTERM or SIGINT; a second one exits the process at once, with 1. */
export function stopSignal(log: Logger): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let first: NodeJS.Signals | undefined;
    const on = (signal: NodeJS.Signals): void => {
      if (first === undefined) {
        first = signal;
        return resolve(signal);
      }
      log.warn({ signal }, 'second signal: exiting without finishing the shutdown');
      process.exit(1);
    };
    process.on('SIGTERM', on);
    process.on('SIGINT', on);
  });
}
