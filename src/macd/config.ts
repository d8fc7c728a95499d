// The MacPool's config file (YAML or JSON; empty: every default), followed
// as it changes by src/process/config-watch.ts.

import { parse as parseYaml } from 'yaml';
import { MacdConfig } from '../api/config/macd.ts';
import type { PoolRef } from './leases.ts';

/** The pool a config macd refuses whole still names (replica mode), when that part of it is valid: where to report the refusal. */
export function poolOfRefusedConfig(text: string): PoolRef | undefined {
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch {
    return undefined;
  }
  const coordination = data && typeof data === 'object' ? (data as Record<string, unknown>)['coordination'] : undefined;
  const r = MacdConfig.shape.coordination.safeParse(coordination);
  return r.success && r.data.mode === 'kubernetes' ? r.data.pool : undefined;
}

export function parseConfig(text: string): MacdConfig {
  const data: unknown = text.trim() === '' ? {} : parseYaml(text);
  const r = MacdConfig.safeParse(data ?? {});
  if (!r.success) throw new Error(`invalid macd config: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  return r.data;
}
