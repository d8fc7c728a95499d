// The MacPool's config file (YAML or JSON; empty: every default), followed
// as it changes by src/process/config-watch.ts.

import { parse as parseYaml } from 'yaml';
import { MacdConfig } from '../api/config/macd.ts';

export function parseConfig(text: string): MacdConfig {
  const data: unknown = text.trim() === '' ? {} : parseYaml(text);
  const r = MacdConfig.safeParse(data ?? {});
  if (!r.success) throw new Error(`invalid macd config: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  return r.data;
}
