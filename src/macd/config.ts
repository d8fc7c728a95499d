// Reads the MacPool's config file (YAML or JSON) and watches it. Kubernetes
// updates a mounted ConfigMap by swapping a symlink in the directory, so the
// watch is on the directory, and every event re-reads the file and compares.

import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { MacdConfig } from '../api/config/macd.ts';

export function parseConfig(text: string): MacdConfig {
  const data: unknown = text.trim() === '' ? {} : parseYaml(text);
  const r = MacdConfig.safeParse(data ?? {});
  if (!r.success) throw new Error(`invalid macd config: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  return r.data;
}

export function readConfig(path: string | undefined): MacdConfig {
  return path ? parseConfig(readFileSync(path, 'utf8')) : MacdConfig.parse({});
}

/**
 * Calls `onChange` with each new valid config; `onError` when the file is
 * unreadable or invalid (the running config stays).
 */
export function watchConfig(path: string, current: string, onChange: (c: MacdConfig) => void, onError: (e: Error) => void): FSWatcher {
  let last = current;
  let timer: NodeJS.Timeout | null = null;
  const check = (): void => {
    timer = null;
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      return onError(e as Error);
    }
    if (text === last) return;
    last = text;
    try {
      onChange(parseConfig(text));
    } catch (e) {
      onError(e as Error);
    }
  };
  const w = watch(dirname(path), (_event, file) => {
    // ConfigMap volumes swap "..data"; plain files change in place.
    if (file !== null && file !== basename(path) && !file.startsWith('..')) return;
    if (!timer) timer = setTimeout(check, 100);
  });
  return w;
}
