import { MacPoolAlcor, type MacPool } from '../../api/index.ts';
import { alcorIgniteEntries, springBootEntries } from '../alcor.ts';
import { namespaceOf, resourcesOr, type Part } from '../common.ts';
import { allocatorNetworkPolicy } from './builtin.ts';
import { renderSpringBootApp } from '../springboot.ts';
import { toProperties } from '../properties.ts';
import type { KubeObject, RenderSettings } from '../types.ts';

// Engine alcor: Alcor's upstream Java MAC manager, shaped like its own
// kubernetes/services/mac_manager.yaml, for sites already running Alcor's
// services on Apache Ignite.

const HTTP_PORT = 8080;
const CONFIG_DIR = '/etc/macmanager';

export function macManagerName(pool: MacPool): string {
  return `${pool.metadata.name}-macmanager`;
}

/** spec.alcor with its defaults when the pool leaves it out. */
export function alcorSettings(pool: MacPool): MacPoolAlcor {
  return pool.spec.alcor ?? MacPoolAlcor.parse({});
}

/** Every key Alcor's MAC manager reads without a default, and the ones the spec sets (see test/render/alcor-keys.yaml). */
export function macManagerProperties(pool: MacPool): string {
  const alcor = alcorSettings(pool);
  const w = alcor.searchWindows;
  return toProperties(
    [
      ...springBootEntries(HTTP_PORT),
      ['macmanager.oui', pool.spec.oui],
      ['macmanager.retrylimit', alcor.retryLimit],
      ['macmanager.pool.low-request-numbers', w.low],
      ['macmanager.pool.middle-request-numbers', w.middle],
      ['macmanager.pool.high-request-numbers', w.high],
      ['macmanager.pool.top-request-numbers', w.top],
      ...alcorIgniteEntries(alcor.ignite, namespaceOf(pool)),
    ],
    `MacPool ${pool.metadata.name}: rendered by alcor-operator`,
  );
}

export function renderAlcorEngine(pool: MacPool, settings: RenderSettings): KubeObject[] {
  const { allocator } = pool.spec;
  const alcor = alcorSettings(pool);
  const part: Part = { owner: pool, app: 'macmanager', component: 'mac-allocator' };
  const name = macManagerName(pool);
  const objects = renderSpringBootApp(
    {
      part,
      name,
      replicas: allocator.replicas,
      properties: macManagerProperties(pool),
      configDir: CONFIG_DIR,
      container: {
        name: 'macmanager',
        image: alcor.image,
        jar: '/app/AlcorMacManager-0.1.0.jar',
        ports: [{ name: 'http', containerPort: HTTP_PORT, protocol: 'TCP' }],
        resources: resourcesOr(allocator.resources, { requests: { cpu: '250m', memory: '512Mi' } }),
      },
      servicePorts: [{ name: 'http', port: allocator.servicePort, targetPort: 'http', protocol: 'TCP' }],
      ignite: alcor.ignite,
    },
    settings,
  );
  // allowedNamespaces holds for Alcor's MAC manager as for macd.
  objects.push(allocatorNetworkPolicy(pool, part, name, settings, { api: HTTP_PORT, open: [] }));
  return objects;
}
