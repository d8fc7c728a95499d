// Alcor's MAC manager as the operator renders it for an engine-alcor MacPool
// of OUI aa:bb:cc (macd's default OUI): what the differential suite and
// `npm run bench:macd` boot with the harness.
import type { KubeObject } from '../../src/render/index.ts';
import { defaultRenderSettings, renderMacPool } from '../../src/render/index.ts';
import { alcorEngineExample } from '../render/fixtures.ts';
import { OUI } from './mac-sequence.ts';

export function macManagerProperties(): string {
  const cm = renderMacPool(alcorEngineExample((s) => ({ ...s, oui: OUI })), defaultRenderSettings).find((o: KubeObject) => o.kind === 'ConfigMap') as KubeObject & { data: Record<string, string> };
  return cm.data['application.properties']!;
}
