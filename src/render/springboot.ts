import type { V1Container, V1ContainerPort } from '@kubernetes/client-node';
import {
  checksum,
  CONFIG_CHECKSUM_ANNOTATION,
  labels,
  object,
  podDisruptionBudget,
  drainLifecycle,
  pullPolicy,
  restrictedContainerSecurityContext,
  restrictedPodSecurityContext,
  selectorLabels,
  httpProbe,
  type Part,
} from './common.ts';
import { igniteDiscoveryRbac } from './alcor.ts';
import type { KubeObject, RenderSettings } from './types.ts';

// Alcor's Java services (the Data Plane Manager, the upstream MAC manager)
// are Spring Boot jars run the same way: their application.properties in a
// ConfigMap, a Deployment of `java -jar` probed on /actuator/health, a
// Service, a PDB when there is more than one replica, and the ServiceAccount
// with the permission Ignite's Kubernetes discovery needs.

/** Spring Boot Actuator's health endpoint: UP once the application context started. */
export const HEALTH_PATH = '/actuator/health';

export interface SpringBootApp {
  part: Part;
  name: string;
  replicas: number;
  properties: string;
  configDir: string;
  container: { name: string; image: string; jar: string; ports: V1ContainerPort[]; resources: V1Container['resources'] };
  servicePorts: { name: string; port: number; targetPort: string; protocol: 'TCP' }[];
  /** Where Alcor's services find Ignite (its Service's name and namespace). */
  ignite: { serviceName: string; namespace?: string | undefined };
}

export function renderSpringBootApp(app: SpringBootApp, settings: RenderSettings): KubeObject[] {
  const { part, name, configDir } = app;
  const objects: KubeObject[] = [
    ...igniteDiscoveryRbac(part, name, app.ignite),
    object('v1', 'ConfigMap', part, name, { data: { 'application.properties': app.properties } }),
    object('apps/v1', 'Deployment', part, name, {
      spec: {
        replicas: app.replicas,
        selector: { matchLabels: selectorLabels(part) },
        // A new pod serves before an old one goes: never fewer than `replicas` ready during a roll.
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
        template: {
          metadata: {
            labels: labels(part),
            // Spring Boot reads its properties once at start: a changed file must roll the pods, an unchanged one must not.
            annotations: { [CONFIG_CHECKSUM_ANNOTATION]: checksum(app.properties) },
          },
          spec: {
            securityContext: restrictedPodSecurityContext(),
            serviceAccountName: name,
            // Ignite's address finder reads Endpoints with the pod's token.
            automountServiceAccountToken: true,
            containers: [
              {
                name: app.container.name,
                image: app.container.image,
                ...pullPolicy(settings),
                command: ['java', '-jar', app.container.jar, `--spring.config.location=${configDir}/application.properties`],
                ports: app.container.ports,
                resources: app.container.resources,
                // The JVM takes 12-40 s to start on a busy node: the startup
                // probe allows 5 minutes, then readiness and liveness take over.
                // Health, not an open port: the DPM keeps running without one
                // when its start fails.
                startupProbe: httpProbe(HEALTH_PATH, 'http', { periodSeconds: 5, failureThreshold: 60 }),
                readinessProbe: httpProbe(HEALTH_PATH, 'http', { periodSeconds: 5 }),
                livenessProbe: httpProbe(HEALTH_PATH, 'http', { periodSeconds: 10, failureThreshold: 6 }),
                // Out of the Service before the JVM stops (Alcor's Spring Boot 2.2 has no graceful shutdown of its own).
                lifecycle: drainLifecycle(),
                securityContext: restrictedContainerSecurityContext(),
                // The DPM writes ./timestamp.log: the working directory must be writable.
                workingDir: '/tmp',
                volumeMounts: [
                  { name: 'config', mountPath: configDir, readOnly: true },
                  // Read-only root: Spring Boot's embedded Tomcat needs a writable /tmp.
                  { name: 'tmp', mountPath: '/tmp' },
                ],
              },
            ],
            volumes: [
              { name: 'config', configMap: { name } },
              { name: 'tmp', emptyDir: {} },
            ],
          },
        },
      },
    }),
    object('v1', 'Service', part, name, { spec: { selector: selectorLabels(part), ports: app.servicePorts } }),
  ];
  if (app.replicas > 1) objects.push(podDisruptionBudget(part, name));
  return objects;
}
