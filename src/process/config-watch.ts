// Following a config file as it changes, for macd and dhcpd. Kubernetes
// updates a mounted ConfigMap by swapping the "..data" symlink in its
// directory, which a watch on the file itself misses: so the directory is
// watched, and a slow poll backs the watch up (a watch can fail to start, die,
// or miss events on some file systems). Each event re-reads the file and
// compares it with the last text seen.

import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface ConfigWatchOptions {
  path: string;
  /** The text already in effect: only a different text is a change. */
  current: string;
  /** A new text; parsing and applying it (or refusing it) is the caller's. */
  onChange: (text: string) => void;
  /** The file can't be read or the directory can't be watched. Reported once until it recovers; the running config stays. */
  onError: (err: Error) => void;
  /** The poll period backing the watch up (default 5 s). */
  pollMs?: number;
  /** Events within this window are read once (default 100 ms). */
  debounceMs?: number;
}

export interface ConfigWatcher {
  close(): void;
}

export function watchConfigFile(o: ConfigWatchOptions): ConfigWatcher {
  let last = o.current;
  let reported = '';
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const fail = (err: unknown): void => {
    const e = err instanceof Error ? err : new Error(String(err));
    if (e.message === reported) return;
    reported = e.message;
    o.onError(e);
  };
  const check = (): void => {
    timer = undefined;
    readFile(o.path, 'utf8').then(
      (text) => {
        if (closed) return;
        reported = '';
        if (text === last) return;
        last = text;
        o.onChange(text);
      },
      (err: unknown) => {
        if (!closed) fail(err);
      },
    );
  };
  const soon = (): void => {
    if (timer === undefined && !closed) timer = setTimeout(check, o.debounceMs ?? 100);
  };
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(o.path), { persistent: false }, soon);
    // Without a handler an 'error' event would end the process; the poll carries on.
    watcher.on('error', (err) => fail(new Error(`watching ${dirname(o.path)} failed (polling every ${o.pollMs ?? 5000} ms instead): ${err.message}`)));
  } catch (err) {
    fail(new Error(`watching ${dirname(o.path)} failed (polling every ${o.pollMs ?? 5000} ms instead): ${err instanceof Error ? err.message : String(err)}`));
  }
  const poll = setInterval(soon, o.pollMs ?? 5000);
  poll.unref();
  return {
    close() {
      closed = true;
      watcher?.close();
      clearInterval(poll);
      if (timer !== undefined) clearTimeout(timer);
    },
  };
}
