// Reading the config file (YAML or JSON) and following it as it changes.
// Kubernetes updates a mounted ConfigMap by swapping a symlink in the
// directory, which a watch on the file itself misses; so the directory is
// watched, and a slow poll backs the watch up.

import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { DhcpdConfig } from '../api/config/dhcpd.ts';

export async function readConfig(path: string): Promise<{ config: DhcpdConfig; text: string }> {
  const text = await readFile(path, 'utf8');
  return { config: parseConfigText(text, path), text };
}

export function parseConfigText(text: string, path: string): DhcpdConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new Error(`${path}: not YAML or JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  const r = DhcpdConfig.safeParse(raw);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`${path}: invalid config: ${issues}`);
  }
  return r.data;
}

export interface ConfigWatcher {
  close(): void;
}

/** Calls `onChange(text)` when the file's content differs from the last seen. */
export function watchConfig(path: string, initialText: string, onChange: (text: string) => void, pollMs = 5000): ConfigWatcher {
  let last = initialText;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const check = (): void => {
    timer = undefined;
    readFile(path, 'utf8').then(
      (text) => {
        if (closed || text === last) return;
        last = text;
        onChange(text);
      },
      () => {
        // Mid-swap the file may be missing for a moment; the next event or poll sees it.
      },
    );
  };
  const soon = (): void => {
    if (timer === undefined && !closed) timer = setTimeout(check, 100);
  };
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(path), { persistent: false }, soon);
    watcher.on('error', () => undefined);
  } catch {
    watcher = undefined;
  }
  const poll = setInterval(soon, pollMs);
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
