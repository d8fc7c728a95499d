import { stringify } from 'yaml';
import type { MacPool } from '../../api/index.ts';
import type { MacdConfigInput } from '../../api/config/macd.ts';
import { macdLimitFlags, type MacdLimitKey, type MacPoolLimits } from '../../api/macd-limits.ts';
import {
  labels,
  leaseRbac,
  namespaceOf,
  object,
  dataVolumeClaimTemplate,
  podDisruptionBudget,
  podIdentityEnv,
  podUidEnv,
  drainLifecycle,
  TERMINATION_GRACE_SECONDS,
  pullPolicy,
  resourcesOr,
  restrictedContainerSecurityContext,
  restrictedPodSecurityContext,
  selectorLabels,
  httpProbe,
  apiServerPeers,
  type Part,
} from '../common.ts';
import type { KubeObject, RenderSettings } from '../types.ts';
import { MACD_API_PORT, macdName as macdServiceName } from '../../api/services.ts';
import { effectiveRanges } from './ranges.ts';

// Engine builtin: `alcor-operator macd` on a StatefulSet. Stable pod names give
// each replica a stable identity for its block Leases and its own volume for
// the durable allocation log.

const HTTP_PORT = MACD_API_PORT;
/** /metrics and the probes on their own port, which the NetworkPolicy opens to any scraper. */
const METRICS_PORT = 9090;
const DATA_DIR = '/var/lib/macd';
const CONFIG_DIR = '/etc/macd';
/**
 * Node's flags in macd's pods (NODE_OPTIONS; bench:macd runs macd with them
 * too). A 1 MiB young generation keeps RSS near the live state (docs/macd.md).
 */
export const MACD_NODE_OPTIONS = '--max-semi-space-size=1';
/**
 * The environment of macd's pods (bench:macd and the fuzz targets run macd
 * with it too). A fixed glibc mmap threshold: request bodies and answers of
 * bulk allocations (a megabyte each) are mapped and unmapped, not left in the
 * malloc heap; with glibc's moving threshold, freeing the first one raised it
 * and an 8.4M-MAC fill left RSS about 40 MiB higher (docs/macd.md).
 */
export const MACD_ENV: Readonly<Record<string, string>> = { NODE_OPTIONS: MACD_NODE_OPTIONS, MALLOC_MMAP_THRESHOLD_: '131072' };

export function macdName(pool: MacPool): string {
  return macdServiceName(pool.metadata.name);
}

export function macdConfig(pool: MacPool): MacdConfigInput {
  return {
    ...(pool.metadata.generation !== undefined ? { generation: pool.metadata.generation } : {}),
    oui: pool.spec.oui,
    ranges: effectiveRanges(pool.spec).map((r) => ({ id: r.name, from: r.from, to: r.to })),
    exclusions: pool.spec.exclusions ?? [],
    coordination: {
      mode: 'kubernetes',
      pool: { name: pool.metadata.name, namespace: namespaceOf(pool), uid: pool.metadata.uid ?? '' },
    },
  };
}

export function renderBuiltin(pool: MacPool, settings: RenderSettings): KubeObject[] {
  const part: Part = { owner: pool, app: 'macd', component: 'mac-allocator' };
  const name = macdName(pool);
  const peers = `${name}-peers`;
  const namespace = namespaceOf(pool);
  const { allocator } = pool.spec;
  const selector = selectorLabels(part);

  const objects: KubeObject[] = [
    // macd claims blocks of the ranges as Leases; it needs nothing else of the API.
    ...leaseRbac(part, name, ['get', 'list', 'watch', 'create', 'update', 'patch']),
    object('v1', 'ConfigMap', part, name, { data: { 'config.yaml': stringify(macdConfig(pool)) } }),
    object('v1', 'Service', part, peers, {
      spec: {
        clusterIP: 'None',
        // Peers find each other before they are ready (they must, to become ready).
        publishNotReadyAddresses: true,
        selector,
        ports: [{ name: 'http', port: HTTP_PORT, targetPort: 'http', protocol: 'TCP' }],
      },
    }),
    object('v1', 'Service', part, name, {
      spec: {
        selector,
        ports: [{ name: 'http', port: allocator.servicePort, targetPort: 'http', protocol: 'TCP' }],
      },
    }),
    object('apps/v1', 'StatefulSet', part, name, {
      spec: {
        serviceName: peers,
        replicas: allocator.replicas,
        // Replicas don't depend on each other's start: start and replace them all at once.
        podManagementPolicy: 'Parallel',
        selector: { matchLabels: selector },
        template: {
          // No config checksum here: macd reloads config.yaml live, so an edit must not roll the pods.
          metadata: { labels: labels(part) },
          spec: {
            serviceAccountName: name,
            securityContext: restrictedPodSecurityContext(),
            terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
            containers: [
              {
                name: 'macd',
                image: allocator.image ?? settings.image,
                ...pullPolicy(settings),
                args: [
                  'macd',
                  '--listen', `0.0.0.0:${HTTP_PORT}`,
                  '--data-dir', DATA_DIR,
                  '--config', `${CONFIG_DIR}/config.yaml`,
                  '--replica', '$(POD_NAME)',
                  '--advertise-url', `http://$(POD_NAME).${peers}.${namespace}.svc:${HTTP_PORT}`,
                  '--metrics-listen', `0.0.0.0:${METRICS_PORT}`,
                  '--pod-uid', '$(POD_UID)',
                  ...limitArgs(allocator.limits),
                ],
                env: [...podIdentityEnv(), podUidEnv(), ...Object.entries(MACD_ENV).map(([name, value]) => ({ name, value }))],
                ports: [
                  { name: 'http', containerPort: HTTP_PORT, protocol: 'TCP' },
                  { name: 'metrics', containerPort: METRICS_PORT, protocol: 'TCP' },
                ],
                livenessProbe: httpProbe('/healthz', 'http'),
                readinessProbe: httpProbe('/readyz', 'http', { periodSeconds: 5 }),
                lifecycle: drainLifecycle(),
                resources: resourcesOr(allocator.resources, { requests: { cpu: '100m', memory: '128Mi' } }),
                securityContext: restrictedContainerSecurityContext(),
                volumeMounts: [
                  { name: 'data', mountPath: DATA_DIR },
                  // A directory mount (not subPath) so the kubelet's updates reach the running process.
                  { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
                ],
              },
            ],
            volumes: [{ name: 'config', configMap: { name } }],
          },
        },
        volumeClaimTemplates: [dataVolumeClaimTemplate(part, allocator.storage)],
      },
    }),
  ];
  if (allocator.replicas > 1) objects.push(podDisruptionBudget(part, name));
  objects.push(allocatorNetworkPolicy(pool, part, name, settings, { api: HTTP_PORT, open: [METRICS_PORT] }));
  return objects;
}

/** The limits the MacPool sets, as macd's flags (in the flags' order); an unset one keeps macd's default. */
export function limitArgs(limits: MacPoolLimits | undefined): string[] {
  if (!limits) return [];
  return (Object.entries(macdLimitFlags) as [MacdLimitKey, string][]).flatMap(([key, flag]) => (limits[key] === undefined ? [] : [`--${flag}`, String(limits[key])]));
}

/**
 * Who may call the allocator's API, for both engines: its own pods (replicas
 * forward to each other), the pool's namespace and the allowed namespaces,
 * and the API server's service proxy (kubectl alcor) from its own addresses;
 * `open` ports (metrics) to anyone.
 */
export function allocatorNetworkPolicy(pool: MacPool, part: Part, name: string, settings: RenderSettings, ports: { api: number; open: number[] }): KubeObject {
  const namespaces = [namespaceOf(pool), ...(pool.spec.allowedNamespaces ?? [])];
  const unique = [...new Set(namespaces)];
  return object('networking.k8s.io/v1', 'NetworkPolicy', part, name, {
    spec: {
      podSelector: { matchLabels: selectorLabels(part) },
      policyTypes: ['Ingress'],
      ingress: [
        {
          from: [
            { podSelector: { matchLabels: selectorLabels(part) } },
            ...unique.map((ns) => ({ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } } })),
            ...apiServerPeers(settings),
          ],
          ports: [{ protocol: 'TCP', port: ports.api }],
        },
        // Prometheus, wherever it runs, scrapes /metrics; the API stays closed.
        ...(ports.open.length ? [{ ports: ports.open.map((port) => ({ protocol: 'TCP', port })) }] : []),
      ],
    },
  });
}
