import type { V1Container, V1PodSpec } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import type { DhcpReservation, DhcpSubnet } from '../../api/index.ts';
import {
  httpProbe,
  labels,
  NONROOT_UID,
  leaseRbac,
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
  apiServerPeers,
  type Part,
} from '../common.ts';
import { DHCPD_API_PORT, DHCPD_API_PORT_NAME, dhcpdName as dhcpdServiceName } from '../../api/services.ts';
import type { KubeObject, RenderSettings } from '../types.ts';
import { dhcpdConfig } from './config.ts';

export { dhcpdConfig, leaseSeconds, optionValue, shares } from './config.ts';

// A DhcpSubnet's servers: `alcor-operator dhcpd` as a StatefulSet behind a
// Service (relay) or as a DaemonSet on host networking (nodeLocal).

const METRICS_PORT = 9090;
const DATA_DIR = '/var/lib/dhcpd';
const CONFIG_DIR = '/etc/dhcpd';

export function dhcpdName(subnet: DhcpSubnet): string {
  return dhcpdServiceName(subnet.metadata.name);
}

function container(subnet: DhcpSubnet, settings: RenderSettings, relay: boolean): V1Container {
  const { server } = subnet.spec;
  const args = [
    'dhcpd',
    '--config', `${CONFIG_DIR}/config.yaml`,
    '--data-dir', DATA_DIR,
    '--metrics-listen', `0.0.0.0:${METRICS_PORT}`,
    // The report Lease, named after the server's place (a relay replica's
    // ordinal, a node-local server's node) and owned by its pod: it goes
    // with the pod (scale-down, a node leaving the DaemonSet, the subnet
    // deleted), and the next pod in that place takes it over.
    '--status-lease', relay ? '$(POD_NAME)' : `${dhcpdName(subnet)}-$(NODE_NAME)`,
    '--namespace', '$(POD_NAMESPACE)',
    '--server-name', subnet.metadata.name,
    '--owner-pod', '$(POD_NAME)',
    '--owner-pod-uid', '$(POD_UID)',
    // The lease API (kubectl alcor, through the API server's service proxy):
    // any replica answers for the subnet, asking the others it finds in the
    // Service's EndpointSlices.
    '--api-listen', `0.0.0.0:${DHCPD_API_PORT}`,
    '--replica', '$(POD_NAME)',
    '--peers-service', dhcpdName(subnet),
  ];
  const env = [...podIdentityEnv(), podUidEnv()];
  if (relay) {
    args.push('--share', '$(SHARE)');
    // The StatefulSet's ordinal (0..replicas-1) is this replica's share of the pools.
    env.push({ name: 'SHARE', valueFrom: { fieldRef: { fieldPath: "metadata.labels['apps.kubernetes.io/pod-index']" } } });
  } else {
    env.push({ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } });
  }
  return {
    name: 'dhcpd',
    image: server.image ?? settings.image,
    ...pullPolicy(settings),
    args,
    env,
    ports: [
      { name: 'dhcp', containerPort: 67, protocol: 'UDP' },
      { name: 'metrics', containerPort: METRICS_PORT, protocol: 'TCP' },
      { name: DHCPD_API_PORT_NAME, containerPort: DHCPD_API_PORT, protocol: 'TCP' },
    ],
    livenessProbe: httpProbe('/healthz', 'metrics'),
    readinessProbe: httpProbe('/readyz', 'metrics', { periodSeconds: 5 }),
    lifecycle: drainLifecycle(),
    resources: resourcesOr(server.resources, { requests: { cpu: '100m', memory: '64Mi' } }),
    securityContext: relay
      ? restrictedContainerSecurityContext()
      : {
          // Host networking: port 67 of the node's own network namespace, where
          // the unprivileged-port sysctl cannot be set per pod. Binding it takes
          // NET_BIND_SERVICE, and Kubernetes grants added capabilities only to
          // root (no ambient capabilities), so this pod cannot meet the
          // `restricted` standard; it keeps everything else of it.
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          runAsNonRoot: false,
          runAsUser: 0,
          // conflictDetection: ping on the host's network namespace, where
          // ping_group_range is the node's: the ICMP helper opens a raw socket.
          capabilities: { drop: ['ALL'], add: subnet.spec.server.conflictDetection === 'ping' ? ['NET_BIND_SERVICE', 'NET_RAW'] : ['NET_BIND_SERVICE'] },
        },
    volumeMounts: [
      { name: 'data', mountPath: DATA_DIR },
      // A directory mount, so config edits reach the server, which reloads them live (no checksum, no roll).
      { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
    ],
  };
}

function podSpec(subnet: DhcpSubnet, settings: RenderSettings, relay: boolean): V1PodSpec {
  const name = dhcpdName(subnet);
  const { server } = subnet.spec;
  // The lease log must outlive the pod: a replacement that forgot the leases
  // could offer a leased address to a second client. Relay replicas keep it on
  // their own PersistentVolume (the StatefulSet's volumeClaimTemplates); a
  // node-local server, pinned to its node, in a host directory.
  const volumes = [
    ...(relay ? [] : [{ name: 'data', hostPath: { path: `/var/lib/alcor-operator/dhcpd/${subnet.metadata.namespace ?? 'default'}/${subnet.metadata.name}`, type: 'DirectoryOrCreate' } }]),
    { name: 'config', configMap: { name } },
  ];
  const common = {
    serviceAccountName: name,
    terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
    ...(server.nodeSelector ? { nodeSelector: server.nodeSelector } : {}),
    containers: [container(subnet, settings, relay)],
    volumes,
  };
  if (relay) {
    return {
      ...common,
      securityContext: {
        ...restrictedPodSecurityContext(),
        // Lets the non-root server bind port 67 in its own network namespace
        // (a "safe" sysctl, allowed by the restricted standard).
        sysctls: [
          { name: 'net.ipv4.ip_unprivileged_port_start', value: '67' },
          // Lets the server's group open ICMP datagram sockets, for
          // conflictDetection: ping without CAP_NET_RAW (also a safe sysctl).
          // Always set, so turning ping on is a live config change.
          { name: 'net.ipv4.ping_group_range', value: `${NONROOT_UID} ${NONROOT_UID}` },
        ],
      },
    };
  }
  return {
    ...common,
    hostNetwork: true,
    dnsPolicy: 'ClusterFirstWithHostNet',
    securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
  };
}

/** `reservations`: the subnet's accepted DhcpReservations, merged into its ConfigMap. */
export function renderDhcpSubnet(subnet: DhcpSubnet, settings: RenderSettings, reservations: readonly DhcpReservation[] = []): KubeObject[] {
  const part: Part = { owner: subnet, app: 'dhcpd', component: 'dhcp-server' };
  const name = dhcpdName(subnet);
  const { server } = subnet.spec;
  const relay = server.mode === 'relay';
  const objects: KubeObject[] = [
    // dhcpd publishes its report in a Lease per pod, and finds the other
    // replicas of its lease API in its Service's EndpointSlices. Delete: the
    // Lease's ownerReference to the pod lets the garbage collector delete it,
    // which the OwnerReferencesPermissionEnforcement admission plugin
    // (OpenShift) allows only to who may delete it.
    ...leaseRbac(part, name, ['get', 'create', 'update', 'patch', 'delete'], [{ apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list'] }]),
    object('v1', 'ConfigMap', part, name, { data: { 'config.yaml': stringify(dhcpdConfig(subnet, reservations)) } }),
  ];
  const template = { metadata: { labels: labels(part) }, spec: podSpec(subnet, settings, relay) };
  if (relay) {
    objects.push(
      object('v1', 'Service', part, name, {
        spec: {
          selector: selectorLabels(part),
          ports: [
            { name: 'dhcp', port: 67, targetPort: 'dhcp', protocol: 'UDP' },
            { name: DHCPD_API_PORT_NAME, port: DHCPD_API_PORT, targetPort: DHCPD_API_PORT_NAME, protocol: 'TCP' },
          ],
        },
      }),
      // A StatefulSet, not a Deployment: each replica must serve a different
      // share of the pools, and only a StatefulSet gives pods stable ordinals
      // (apps.kubernetes.io/pod-index) that a replacement pod inherits, so two
      // live servers never offer from the same share.
      object('apps/v1', 'StatefulSet', part, name, {
        spec: {
          serviceName: name,
          replicas: server.replicas,
          podManagementPolicy: 'Parallel',
          selector: { matchLabels: selectorLabels(part) },
          template,
          volumeClaimTemplates: [dataVolumeClaimTemplate(part, server.storage)],
        },
      }),
    );
    if (server.replicas > 1) objects.push(podDisruptionBudget(part, name));
    objects.push(networkPolicy(part, name, settings));
  } else {
    objects.push(
      // The lease API of the node-local servers (host networking: their
      // endpoints are the nodes' addresses, which NetworkPolicies don't cover).
      object('v1', 'Service', part, name, {
        spec: {
          selector: selectorLabels(part),
          ports: [{ name: DHCPD_API_PORT_NAME, port: DHCPD_API_PORT, targetPort: DHCPD_API_PORT_NAME, protocol: 'TCP' }],
        },
      }),
      object('apps/v1', 'DaemonSet', part, name, {
        spec: {
          selector: { matchLabels: selectorLabels(part) },
          // One server per node: replace it in place, one node at a time.
          updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
          template,
        },
      }),
    );
  }
  return objects;
}

/**
 * Relay replicas: DHCP from anywhere (relays, wherever they are) and /metrics
 * for any scraper, as without a policy; the lease API only from the subnet's
 * own replicas (they merge each other's answers) and the API server's service
 * proxy (kubectl alcor), never from other pods: releasing and importing are
 * for those RBAC lets through the proxy.
 */
function networkPolicy(part: Part, name: string, settings: RenderSettings): KubeObject {
  return object('networking.k8s.io/v1', 'NetworkPolicy', part, name, {
    spec: {
      podSelector: { matchLabels: selectorLabels(part) },
      policyTypes: ['Ingress'],
      ingress: [
        { ports: [{ protocol: 'UDP', port: 67 }] },
        { ports: [{ protocol: 'TCP', port: METRICS_PORT }] },
        {
          from: [{ podSelector: { matchLabels: selectorLabels(part) } }, ...apiServerPeers(settings)],
          ports: [{ protocol: 'TCP', port: DHCPD_API_PORT }],
        },
      ],
    },
  });
}
