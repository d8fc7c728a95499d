import type { DataPlaneManager } from '../../api/index.ts';
import { resourcesOr } from '../common.ts';
import { renderSpringBootApp } from '../springboot.ts';
import type { KubeObject, RenderSettings } from '../types.ts';
import { dpmProperties, REST_PORT } from './properties.ts';

export { dpmProperties } from './properties.ts';

// Alcor's Data Plane Manager: ConfigMap, Deployment and Service named after
// the resource, like Alcor's own dpm_manager.yaml.

const CONFIG_DIR = '/etc/dpm';
const SERVICE_REST_PORT = 9010;

export function renderDataPlaneManager(dpm: DataPlaneManager, settings: RenderSettings): KubeObject[] {
  const s = dpm.spec;
  return renderSpringBootApp(
    {
      part: { owner: dpm, app: 'dataplanemanager', component: 'dataplane-manager' },
      name: dpm.metadata.name,
      replicas: s.replicas,
      properties: dpmProperties(dpm),
      configDir: CONFIG_DIR,
      container: {
        name: 'dataplanemanager',
        image: s.image,
        jar: '/app/AlcorDataPlaneManager-0.1.0.jar',
        ports: [
          { name: 'http', containerPort: REST_PORT, protocol: 'TCP' },
          { name: 'grpc', containerPort: s.grpc.port, protocol: 'TCP' },
          { name: 'grpc-topic', containerPort: s.grpc.topicPort, protocol: 'TCP' },
        ],
        resources: resourcesOr(s.resources, { requests: { cpu: '500m', memory: '1Gi' } }),
      },
      servicePorts: [
        { name: 'http', port: SERVICE_REST_PORT, targetPort: 'http', protocol: 'TCP' },
        { name: 'grpc', port: s.grpc.port, targetPort: 'grpc', protocol: 'TCP' },
        { name: 'grpc-topic', port: s.grpc.topicPort, targetPort: 'grpc-topic', protocol: 'TCP' },
      ],
      ignite: s.ignite,
    },
    settings,
  );
}
