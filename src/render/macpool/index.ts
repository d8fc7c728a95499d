import type { MacPool } from '../../api/index.ts';
import { namespaceOf } from '../common.ts';
import type { KubeObject, RenderSettings } from '../types.ts';
import { macManagerName, renderAlcorEngine } from './alcor.ts';
import { macdName, renderBuiltin } from './builtin.ts';

export { effectiveRanges } from './ranges.ts';
export { macdConfig, macdName } from './builtin.ts';
export { macManagerProperties } from './alcor.ts';

/** Every object a MacPool needs, for its engine. */
export function renderMacPool(pool: MacPool, settings: RenderSettings): KubeObject[] {
  return pool.spec.engine === 'alcor' ? renderAlcorEngine(pool, settings) : renderBuiltin(pool, settings);
}

/** In-cluster URL of the pool's MAC manager REST API. */
export function macPoolEndpoint(pool: MacPool): string {
  const service = pool.spec.engine === 'alcor' ? macManagerName(pool) : macdName(pool);
  return `http://${service}.${namespaceOf(pool)}.svc:${pool.spec.allocator.servicePort}`;
}
