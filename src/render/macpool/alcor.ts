import type { MacPool } from '../../api/index.ts';
import { resourcesOr } from '../common.ts';
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

export function macManagerProperties(pool: MacPool): string {
  const alcor = pool.spec.alcor;
  if (!alcor) throw new Error(`MacPool ${pool.metadata.name}: engine alcor needs spec.alcor`);
  return toProperties(
    [
      ['server.port', HTTP_PORT],
      ['macmanager.oui', pool.spec.oui],
      ['macmanager.pool.size', alcor.poolSize],
      ['macmanager.retrylimit', alcor.retryLimit],
      ['ignite.host', alcor.ignite.host],
      ['ignite.port', alcor.ignite.port],
      ['ignite.thin.client.enable', true],
    ],
    `MacPool ${pool.metadata.name}: rendered by alcor-operator`,
  );
}

export function renderAlcorEngine(pool: MacPool, settings: RenderSettings): KubeObject[] {
  const { allocator } = pool.spec;
  const alcor = pool.spec.alcor!;
  return renderSpringBootApp(
    {
      part: { owner: pool, app: 'macmanager', component: 'mac-allocator' },
      name: macManagerName(pool),
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
    },
    settings,
  );
}
