// Reading the config file (YAML or JSON), followed as it changes by
// src/process/config-watch.ts.

import { readFile } from 'node:fs/promises';
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
