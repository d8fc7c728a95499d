import type { MacPool } from '../../api/index.ts';
import {
  checksum,
  CONFIG_CHECKSUM_ANNOTATION,
  labels,
  object,
  podDisruptionBudget,
  pullPolicy,
  resourcesOr,
  springBootContainerParts,
  springBootVolumes,
  restrictedPodSecurityContext,
  selectorLabels,
  type Part,
} from '../common.ts';
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
  const part: Part = { owner: pool, app: 'macmanager', component: 'mac-allocator' };
  const name = macManagerName(pool);
  const { allocator } = pool.spec;
  const alcor = pool.spec.alcor!;
  const properties = macManagerProperties(pool);
  const objects: KubeObject[] = [
    object('v1', 'ConfigMap', part, name, { data: { 'application.properties': properties } }),
    object('apps/v1', 'Deployment', part, name, {
      spec: {
        replicas: allocator.replicas,
        selector: { matchLabels: selectorLabels(part) },
        template: {
          metadata: {
            labels: labels(part),
            // Spring Boot reads its properties once at start: a changed file must roll the pods, an unchanged one must not.
            annotations: { [CONFIG_CHECKSUM_ANNOTATION]: checksum(properties) },
          },
          spec: {
            securityContext: restrictedPodSecurityContext(),
            containers: [
              {
                name: 'macmanager',
                image: alcor.image,
                ...pullPolicy(settings),
                command: ['java', '-jar', '/app/AlcorMacManager-0.1.0.jar', `--spring.config.location=${CONFIG_DIR}/application.properties`],
                ports: [{ name: 'http', containerPort: HTTP_PORT, protocol: 'TCP' }],
                resources: resourcesOr(allocator.resources, { requests: { cpu: '250m', memory: '512Mi' } }),
                ...springBootContainerParts(CONFIG_DIR),
              },
            ],
            volumes: springBootVolumes(name),
          },
        },
      },
    }),
    object('v1', 'Service', part, name, {
      spec: {
        selector: selectorLabels(part),
        ports: [{ name: 'http', port: allocator.servicePort, targetPort: 'http', protocol: 'TCP' }],
      },
    }),
  ];
  if (allocator.replicas > 1) objects.push(podDisruptionBudget(part, name));
  return objects;
}
