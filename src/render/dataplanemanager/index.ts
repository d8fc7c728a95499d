import type { DataPlaneManager } from '../../api/index.ts';
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
import type { KubeObject, RenderSettings } from '../types.ts';
import { dpmProperties, REST_PORT } from './properties.ts';

export { dpmProperties } from './properties.ts';

// Alcor's Data Plane Manager: ConfigMap, Deployment and Service named after
// the resource, like Alcor's own dpm_manager.yaml.

const CONFIG_DIR = '/etc/dpm';
const SERVICE_REST_PORT = 9010;

export function renderDataPlaneManager(dpm: DataPlaneManager, settings: RenderSettings): KubeObject[] {
  const part: Part = { owner: dpm, app: 'dataplanemanager', component: 'dataplane-manager' };
  const name = dpm.metadata.name;
  const s = dpm.spec;
  const properties = dpmProperties(dpm);
  const objects: KubeObject[] = [
    object('v1', 'ConfigMap', part, name, { data: { 'application.properties': properties } }),
    object('apps/v1', 'Deployment', part, name, {
      spec: {
        replicas: s.replicas,
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
                name: 'dataplanemanager',
                image: s.image,
                ...pullPolicy(settings),
                command: ['java', '-jar', '/app/AlcorDataPlaneManager-0.1.0.jar', `--spring.config.location=${CONFIG_DIR}/application.properties`],
                ports: [
                  { name: 'http', containerPort: REST_PORT, protocol: 'TCP' },
                  { name: 'grpc', containerPort: s.grpc.port, protocol: 'TCP' },
                  { name: 'grpc-topic', containerPort: s.grpc.topicPort, protocol: 'TCP' },
                ],
                resources: resourcesOr(s.resources, { requests: { cpu: '500m', memory: '1Gi' } }),
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
        ports: [
          { name: 'http', port: SERVICE_REST_PORT, targetPort: 'http', protocol: 'TCP' },
          { name: 'grpc', port: s.grpc.port, targetPort: 'grpc', protocol: 'TCP' },
          { name: 'grpc-topic', port: s.grpc.topicPort, targetPort: 'grpc-topic', protocol: 'TCP' },
        ],
      },
    }),
  ];
  if (s.replicas > 1) objects.push(podDisruptionBudget(part, name));
  return objects;
}
