import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { MacdConfig } from '../../src/api/config/macd.ts';
import { DhcpdConfig } from '../../src/api/config/dhcpd.ts';
import {
  CONFIG_CHECKSUM_ANNOTATION,
  defaultRenderSettings,
  macPoolEndpoint,
  renderDataPlaneManager,
  renderDhcpSubnet,
  renderMacPool,
  type KubeObject,
} from '../../src/render/index.ts';
import { toProperties } from '../../src/render/properties.ts';
import { OWNER_ANNOTATION, OWNER_UID_LABEL } from '../../src/render/alcor.ts';
import type { Obj } from '../api/invalid-cases.ts';
import { alcorEngineExample, dhcpSubnetExample, dpmExample, macPoolExample, NAMESPACE, nodeLocalExample, UID } from './fixtures.ts';

const s = defaultRenderSettings;
const find = (objects: KubeObject[], kind: string, name?: string): Obj => {
  const o = objects.find((x) => x.kind === kind && (name === undefined || x.metadata.name === name));
  if (!o) throw new Error(`no ${kind} ${name ?? ''} in ${objects.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')}`);
  return o as Obj;
};
const kinds = (objects: KubeObject[]) => objects.map((o) => `${o.kind}/${o.metadata.name}`);
const podTemplate = (o: Obj) => o.spec.template as Obj;

const all: [string, () => KubeObject[], string][] = [
  ['MacPool builtin', () => renderMacPool(macPoolExample(), s), 'MacPool'],
  ['MacPool alcor', () => renderMacPool(alcorEngineExample(), s), 'MacPool'],
  ['DhcpSubnet relay', () => renderDhcpSubnet(dhcpSubnetExample(), s), 'DhcpSubnet'],
  ['DhcpSubnet nodeLocal', () => renderDhcpSubnet(nodeLocalExample(), s), 'DhcpSubnet'],
  ['DataPlaneManager', () => renderDataPlaneManager(dpmExample(), s), 'DataPlaneManager'],
];

describe('every object', () => {
  it.each(all)('%s: namespace, labels, controller owner reference (or owner label in another namespace)', (_name, render, kind) => {
    for (const o of render()) {
      expect(o.metadata.labels).toMatchObject({ 'app.kubernetes.io/part-of': 'alcor', 'app.kubernetes.io/managed-by': 'alcor-operator' });
      expect(Object.keys(o.metadata.labels ?? {})).toEqual(expect.arrayContaining(['app.kubernetes.io/name', 'app.kubernetes.io/instance', 'app.kubernetes.io/component']));
      if (o.metadata.namespace === NAMESPACE) {
        expect(o.metadata.ownerReferences).toEqual([{ apiVersion: 'alcor.dev/v1alpha1', kind, name: expect.any(String), uid: UID, controller: true, blockOwnerDeletion: true }]);
      } else {
        // Ignite's namespace: owner references cannot cross namespaces; the reconcile prunes by label.
        expect(['Role', 'RoleBinding']).toContain(o.kind);
        expect(o.metadata.ownerReferences).toBeUndefined();
        expect(o.metadata.labels?.[OWNER_UID_LABEL]).toBe(UID);
        expect(o.metadata.annotations?.[OWNER_ANNOTATION]).toMatch(new RegExp(`^${kind}/${NAMESPACE}/[a-z-]+$`));
      }
    }
  });

  it.each(all)('%s: every serving pod leaves gracefully (preStop sleep, then SIGTERM within a grace that covers the drain)', (_name, render) => {
    for (const o of render().filter((x) => ['StatefulSet', 'Deployment', 'DaemonSet'].includes(x.kind))) {
      const pod = podTemplate(o as Obj).spec as Obj;
      expect(pod.containers[0].lifecycle).toEqual({ preStop: { sleep: { seconds: 5 } } });
      if (o.kind !== 'Deployment') expect(pod.terminationGracePeriodSeconds).toBe(30);
    }
  });

  it.each(all.filter(([n]) => n === 'MacPool alcor' || n === 'DataPlaneManager'))('%s: Alcor\'s Deployment rolls with a new pod ready before an old one goes', (_name, render) => {
    expect((find(render(), 'Deployment') as Obj).spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
  });

  it('without a uid there are no owner references (nothing to point at)', () => {
    const pool = macPoolExample();
    delete pool.metadata.uid;
    for (const o of renderMacPool(pool, s)) expect(o.metadata.ownerReferences).toBeUndefined();
  });
});

describe('MacPool, engine builtin', () => {
  const objects = renderMacPool(macPoolExample(), s);

  it('renders the allocator objects', () => {
    expect(kinds(objects)).toEqual([
      'ServiceAccount/tenant-macs-macd',
      'Role/tenant-macs-macd',
      'RoleBinding/tenant-macs-macd',
      'ConfigMap/tenant-macs-macd',
      'Service/tenant-macs-macd-peers',
      'Service/tenant-macs-macd',
      'StatefulSet/tenant-macs-macd',
      'PodDisruptionBudget/tenant-macs-macd',
      'NetworkPolicy/tenant-macs-macd',
    ]);
  });

  it('grants leases and nothing else', () => {
    expect(find(objects, 'Role').rules).toEqual([{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch'] }]);
  });

  it('writes a valid MacdConfig with kubernetes coordination', () => {
    const config = MacdConfig.parse(parse(find(objects, 'ConfigMap').data['config.yaml']));
    expect(config.coordination).toMatchObject({ mode: 'kubernetes', pool: { name: 'tenant-macs', namespace: NAMESPACE, uid: UID } });
    expect(config.ranges.map((r) => r.id)).toEqual(['range0', 'range1']);
    expect(config.exclusions).toEqual(['aa:bb:cc:00:00:*', 'aa:bb:cd:12:34:56']);
  });

  it('defaults to range0 over the whole OUI', () => {
    const pool = macPoolExample((spec) => ({ oui: spec.oui }));
    const config = MacdConfig.parse(parse(find(renderMacPool(pool, s), 'ConfigMap').data['config.yaml']));
    expect(config.ranges).toEqual([{ id: 'range0', from: 'aa:bb:cc:00:00:00', to: 'aa:bb:cc:ff:ff:ff' }]);
  });

  it('config changes do not roll the pods (macd reloads live)', () => {
    const changed = renderMacPool(macPoolExample((spec) => ({ ...spec, exclusions: ['fe:16:11:*'] })), s);
    expect(find(changed, 'ConfigMap').data).not.toEqual(find(objects, 'ConfigMap').data);
    expect(podTemplate(find(changed, 'StatefulSet'))).toEqual(podTemplate(find(objects, 'StatefulSet')));
    expect(podTemplate(find(objects, 'StatefulSet')).metadata.annotations).toBeUndefined();
  });

  it('runs macd under the restricted standard with a volume and probes', () => {
    const sts = find(objects, 'StatefulSet');
    const pod = podTemplate(sts).spec;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } });
    const c = pod.containers[0];
    expect(c.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
    expect(c.args).toEqual(['macd', '--listen', '0.0.0.0:8080', '--data-dir', '/var/lib/macd', '--config', '/etc/macd/config.yaml', '--replica', '$(POD_NAME)', '--advertise-url', `http://$(POD_NAME).tenant-macs-macd-peers.${NAMESPACE}.svc:8080`, '--metrics-listen', '0.0.0.0:9090', '--pod-uid', '$(POD_UID)', '--request-timeout', '30s', '--max-bulk', '10000']);
    expect(c.ports).toEqual([{ name: 'http', containerPort: 8080, protocol: 'TCP' }, { name: 'metrics', containerPort: 9090, protocol: 'TCP' }]);
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(c.resources.requests).toBeDefined();
    expect(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe('1Gi');
    expect(c.volumeMounts).toContainEqual({ name: 'config', mountPath: '/etc/macd', readOnly: true });
  });

  it("passes the pool's limits as macd's flags; an unset one is left to macd's default", () => {
    const all = { maxRequestBytes: 2_097_152, maxBulk: 500, maxIdLength: 40, maxConnections: 64, maxRequestsPerConnection: 0, headersTimeout: '5s', requestTimeout: '1m', keepAliveTimeout: '30s' };
    const args = (limits: Obj | undefined): string[] => {
      const pool = macPoolExample((spec) => ({ ...spec, allocator: { ...spec.allocator, limits } }));
      return podTemplate(find(renderMacPool(pool, s), 'StatefulSet')).spec.containers[0].args.slice(15);
    };
    expect(args(undefined)).toEqual([]);
    expect(args({ maxIdLength: 40 })).toEqual(['--max-id-length', '40']);
    expect(args(all)).toEqual([
      '--max-request-bytes', '2097152', '--headers-timeout', '5s', '--request-timeout', '1m', '--keep-alive-timeout', '30s',
      '--max-connections', '64', '--max-requests-per-connection', '0', '--max-bulk', '500', '--max-id-length', '40',
    ]);
  });

  it('admits its own namespace, the allowed ones and the peers', () => {
    const np = find(objects, 'NetworkPolicy');
    const namespaces = np.spec.ingress[0].from.flatMap((f: Obj) => (f.namespaceSelector ? [f.namespaceSelector.matchLabels['kubernetes.io/metadata.name']] : []));
    expect(namespaces).toEqual([NAMESPACE, 'alcor-system']);
    expect(np.spec.ingress[0].ports).toEqual([{ protocol: 'TCP', port: 8080 }]);
    // /metrics on its own port, open to any scraper; the API is not.
    expect(np.spec.ingress[1]).toEqual({ ports: [{ protocol: 'TCP', port: 9090 }] });
    expect(np.spec.ingress).toHaveLength(2);
  });

  it("admits the API server's service proxy to the API from its addresses, and nothing else new", () => {
    const np = find(renderMacPool(macPoolExample(), { ...s, apiServerCIDRs: ['172.18.0.2/32', '10.0.0.0/28'] }), 'NetworkPolicy');
    expect(np.spec.ingress[0].from.slice(-2)).toEqual([{ ipBlock: { cidr: '172.18.0.2/32' } }, { ipBlock: { cidr: '10.0.0.0/28' } }]);
    expect(np.spec.ingress[0].ports).toEqual([{ protocol: 'TCP', port: 8080 }]);
    expect(np.spec.ingress[1]).toEqual({ ports: [{ protocol: 'TCP', port: 9090 }] });
    expect(np.spec.ingress).toHaveLength(2);
  });

  it('has a PDB only with more than one replica', () => {
    const one = renderMacPool(macPoolExample((spec) => ({ ...spec, allocator: { replicas: 1 } })), s);
    expect(one.some((o) => o.kind === 'PodDisruptionBudget')).toBe(false);
    expect(find(objects, 'PodDisruptionBudget').spec.maxUnavailable).toBe(1);
  });

  it('uses the image override, else the operator image', () => {
    const sts = (o: KubeObject[]) => podTemplate(find(o, 'StatefulSet')).spec.containers[0];
    expect(sts(objects).image).toBe('alcor-operator:0.3.0');
    expect(sts(renderMacPool(macPoolExample(), { image: 'x:1', imagePullPolicy: 'Never' }))).toMatchObject({ image: 'x:1', imagePullPolicy: 'Never' });
    expect(sts(renderMacPool(macPoolExample((spec) => ({ ...spec, allocator: { image: 'mine:2' } })), s)).image).toBe('mine:2');
  });
});

describe('MacPool, engine alcor', () => {
  const objects = renderMacPool(alcorEngineExample(), s);
  it('renders the MAC manager like Alcor does', () => {
    const rbacName = `${NAMESPACE}.alcor-macs-macmanager.ignite-discovery`;
    expect(kinds(objects)).toEqual([
      'ServiceAccount/alcor-macs-macmanager',
      `Role/${rbacName}`,
      `RoleBinding/${rbacName}`,
      'ConfigMap/alcor-macs-macmanager',
      'Deployment/alcor-macs-macmanager',
      'Service/alcor-macs-macmanager',
      'PodDisruptionBudget/alcor-macs-macmanager',
      'NetworkPolicy/alcor-macs-macmanager',
    ]);
    // allowedNamespaces: the pool's own and alcor-system may call port 8080.
    const np = find(objects, 'NetworkPolicy').spec;
    expect(np.ingress).toEqual([
      {
        from: [
          { podSelector: { matchLabels: find(objects, 'Deployment').spec.selector.matchLabels } },
          { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': NAMESPACE } } },
          { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'alcor-system' } } },
        ],
        ports: [{ protocol: 'TCP', port: 8080 }],
      },
    ]);
    const props = find(objects, 'ConfigMap').data['application.properties'] as string;
    expect(props).toContain('macmanager.oui=aa:bb:cd\n');
    expect(props).toContain('macmanager.retrylimit=10\n');
    expect(props).toContain('macmanager.pool.top-request-numbers=400\n');
    expect(props).toContain('ignite.kubeNamespace=ignite-alcor\nignite.kubeServiceName=ignite-alcor-service\n');
    expect(props).toContain('management.health.redis.enabled=false\n');
    expect(props).not.toContain('macmanager.pool.size');
    expect(find(objects, 'Service').spec.ports).toEqual([{ name: 'http', port: 9005, targetPort: 'http', protocol: 'TCP' }]);
  });

  it("lets the pods read Ignite's Endpoints in Ignite's namespace, and nothing else", () => {
    const role = find(objects, 'Role');
    expect(role.metadata.namespace).toBe('ignite-alcor');
    expect(role.rules).toEqual([{ apiGroups: [''], resources: ['endpoints'], resourceNames: ['ignite-alcor-service'], verbs: ['get'] }]);
    const binding = find(objects, 'RoleBinding');
    expect(binding.metadata.namespace).toBe('ignite-alcor');
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata.name });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'alcor-macs-macmanager', namespace: NAMESPACE }]);
    const pod = podTemplate(find(objects, 'Deployment')).spec;
    expect(pod.serviceAccountName).toBe('alcor-macs-macmanager');
    expect(pod.automountServiceAccountToken).toBe(true);
    // Ignite in the pool's own namespace: the same objects there, owned the usual way.
    const local = renderMacPool(alcorEngineExample((spec) => ({ ...spec, alcor: { ignite: { serviceName: 'ignite' } } })), s);
    expect(find(local, 'Role').metadata.namespace).toBe(NAMESPACE);
    expect(find(local, 'Role').metadata.ownerReferences).toHaveLength(1);
  });

  it('probes /actuator/health, not a port', () => {
    const c = podTemplate(find(objects, 'Deployment')).spec.containers[0];
    for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) expect(c[probe].httpGet).toEqual({ path: '/actuator/health', port: 'http' });
  });
  it('rolls the Java pods when, and only when, the properties change', () => {
    const annotation = (o: KubeObject[]) => podTemplate(find(o, 'Deployment')).metadata.annotations[CONFIG_CHECKSUM_ANNOTATION];
    const base = annotation(objects);
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    const scaled = alcorEngineExample();
    scaled.spec.allocator.replicas = 5;
    expect(annotation(renderMacPool(scaled, s))).toBe(base);
    const retuned = alcorEngineExample();
    retuned.spec.alcor!.retryLimit = 20;
    expect(annotation(renderMacPool(retuned, s))).not.toBe(base);
  });
  it('the endpoint points at the engine Service', () => {
    expect(macPoolEndpoint(alcorEngineExample())).toBe(`http://alcor-macs-macmanager.${NAMESPACE}.svc:9005`);
    expect(macPoolEndpoint(macPoolExample())).toBe(`http://tenant-macs-macd.${NAMESPACE}.svc:9005`);
  });
});

describe('DhcpSubnet', () => {
  const objects = renderDhcpSubnet(dhcpSubnetExample(), s);

  it('relay: StatefulSet, UDP Service, PDB; shares = replicas', () => {
    expect(kinds(objects)).toEqual([
      'ServiceAccount/tenant-net-dhcpd',
      'Role/tenant-net-dhcpd',
      'RoleBinding/tenant-net-dhcpd',
      'ConfigMap/tenant-net-dhcpd',
      'Service/tenant-net-dhcpd',
      'StatefulSet/tenant-net-dhcpd',
      'PodDisruptionBudget/tenant-net-dhcpd',
      'NetworkPolicy/tenant-net-dhcpd',
    ]);
    expect(find(objects, 'Service').spec.ports).toEqual([
      { name: 'dhcp', port: 67, targetPort: 'dhcp', protocol: 'UDP' },
      { name: 'api', port: 9068, targetPort: 'api', protocol: 'TCP' },
    ]);
    expect(find(objects, 'Role').rules).toEqual([
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update', 'patch', 'delete'] },
      { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list'] },
    ]);
    // The report Lease goes with the pod: owned by it, by the downward API's name and UID.
    const c = podTemplate(find(objects, 'StatefulSet')).spec.containers[0];
    expect(c.args.join(' ')).toContain('--status-lease $(POD_NAME) --namespace $(POD_NAMESPACE) --server-name tenant-net --owner-pod $(POD_NAME) --owner-pod-uid $(POD_UID)');
    expect(c.env).toContainEqual({ name: 'POD_UID', valueFrom: { fieldRef: { fieldPath: 'metadata.uid' } } });
    const config = DhcpdConfig.parse(parse(find(objects, 'ConfigMap').data['config.yaml']));
    expect(config.ha.shares).toBe(2);
    const subnet = config.subnets[0]!;
    expect(subnet).toMatchObject({ name: 'tenant-net', cidr: '10.20.0.0/24', gateway: '10.20.0.1', leaseTime: 43_200, mtu: 1450 });
    expect(subnet.excludes).toEqual([{ start: '10.20.0.150', end: '10.20.0.150' }, { start: '10.20.0.190', end: '10.20.0.199' }]);
    expect(subnet.options).toEqual([{ code: 66, type: 'string', value: 'tftp.tenant.example.internal' }]);
  });

  it('relay: DHCP and /metrics open as before; the lease API only to its replicas and the API server', () => {
    const np = find(renderDhcpSubnet(dhcpSubnetExample(), { ...s, apiServerCIDRs: ['172.18.0.2/32'] }), 'NetworkPolicy');
    expect(np.spec.podSelector).toEqual({ matchLabels: { 'app.kubernetes.io/name': 'dhcpd', 'app.kubernetes.io/instance': 'tenant-net', 'app.kubernetes.io/component': 'dhcp-server' } });
    expect(np.spec.ingress).toEqual([
      { ports: [{ protocol: 'UDP', port: 67 }] },
      { ports: [{ protocol: 'TCP', port: 9090 }] },
      { from: [{ podSelector: np.spec.podSelector }, { ipBlock: { cidr: '172.18.0.2/32' } }], ports: [{ protocol: 'TCP', port: 9068 }] },
    ]);
    const c = podTemplate(find(objects, 'StatefulSet')).spec.containers[0];
    expect(c.args.join(' ')).toContain('--api-listen 0.0.0.0:9068 --replica $(POD_NAME) --peers-service tenant-net-dhcpd');
    expect(c.ports).toContainEqual({ name: 'api', containerPort: 9068, protocol: 'TCP' });
  });

  it('relay: each replica takes its share from its pod index, non-root', () => {
    const pod = podTemplate(find(objects, 'StatefulSet')).spec;
    const c = pod.containers[0];
    expect(c.args.slice(-2)).toEqual(['--share', '$(SHARE)']);
    expect(c.env).toContainEqual({ name: 'SHARE', valueFrom: { fieldRef: { fieldPath: "metadata.labels['apps.kubernetes.io/pod-index']" } } });
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } });
    expect(c.securityContext.capabilities).toEqual({ drop: ['ALL'] });
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(pod.hostNetwork).toBeUndefined();
  });

  it('nodeLocal: DaemonSet on host networking with NET_BIND_SERVICE, one share', () => {
    const nl = renderDhcpSubnet(nodeLocalExample(), s);
    expect(kinds(nl)).toEqual(['ServiceAccount/tenant-net-dhcpd', 'Role/tenant-net-dhcpd', 'RoleBinding/tenant-net-dhcpd', 'ConfigMap/tenant-net-dhcpd', 'Service/tenant-net-dhcpd', 'DaemonSet/tenant-net-dhcpd']);
    // The lease API's Service (no NetworkPolicy: host networking is outside their reach).
    expect(find(nl, 'Service').spec.ports).toEqual([{ name: 'api', port: 9068, targetPort: 'api', protocol: 'TCP' }]);
    const pod = podTemplate(find(nl, 'DaemonSet')).spec;
    expect(pod.hostNetwork).toBe(true);
    expect(pod.nodeSelector).toEqual({ 'alcor.dev/dhcp': 'true' });
    expect(pod.containers[0].securityContext.capabilities).toEqual({ drop: ['ALL'], add: ['NET_BIND_SERVICE'] });
    expect(pod.containers[0].args).not.toContain('--share');
    expect(DhcpdConfig.parse(parse(find(nl, 'ConfigMap').data['config.yaml'])).ha.shares).toBe(1);
  });

  it('conflictDetection ping: nodeLocal pods get NET_RAW (the ping_group_range of the node is not theirs); relay pods always carry the ping sysctl', () => {
    const ping = nodeLocalExample();
    ping.spec.server.conflictDetection = 'ping';
    const pod = podTemplate(find(renderDhcpSubnet(ping, s), 'DaemonSet')).spec;
    expect(pod.containers[0].securityContext.capabilities).toEqual({ drop: ['ALL'], add: ['NET_BIND_SERVICE', 'NET_RAW'] });
    const noPing = renderDhcpSubnet(dhcpSubnetExample((spec) => ({ ...spec, server: { ...spec.server, conflictDetection: 'none' } })), s);
    expect(podTemplate(find(noPing, 'StatefulSet'))).toEqual(podTemplate(find(objects, 'StatefulSet')));
    expect(podTemplate(find(objects, 'StatefulSet')).spec.securityContext.sysctls).toContainEqual({ name: 'net.ipv4.ping_group_range', value: '65532 65532' });
  });

  it('config changes do not roll the pods (dhcpd reloads live)', () => {
    const changed = renderDhcpSubnet(dhcpSubnetExample((spec) => ({ ...spec, dnsServers: ['10.20.0.9'] })), s);
    expect(find(changed, 'ConfigMap').data).not.toEqual(find(objects, 'ConfigMap').data);
    expect(podTemplate(find(changed, 'StatefulSet'))).toEqual(podTemplate(find(objects, 'StatefulSet')));
  });

  it('one replica: no PDB', () => {
    const one = renderDhcpSubnet(dhcpSubnetExample((spec) => ({ ...spec, server: { replicas: 1 } })), s);
    expect(one.some((o) => o.kind === 'PodDisruptionBudget')).toBe(false);
  });

  it('converts typed options to the server config', () => {
    const sub = dhcpSubnetExample((spec) => ({ ...spec, options: [
      { code: 150, type: 'ipv4List', value: '10.0.0.1, 10.0.0.2' },
      { code: 23, type: 'uint8', value: '64' },
      { code: 19, type: 'boolean', value: 'false' },
      { code: 43, type: 'hex', value: '0a0b' },
      { code: 4, type: 'ipv4', value: '10.0.0.3' },
    ] }));
    const config = DhcpdConfig.parse(parse(find(renderDhcpSubnet(sub, s), 'ConfigMap').data['config.yaml']));
    expect(config.subnets[0]!.options).toEqual([
      { code: 150, type: 'ipv4List', value: ['10.0.0.1', '10.0.0.2'] },
      { code: 23, type: 'uint8', value: 64 },
      { code: 19, type: 'boolean', value: false },
      { code: 43, type: 'hex', value: '0a0b' },
      { code: 4, type: 'ipv4', value: '10.0.0.3' },
    ]);
  });
});

describe('DataPlaneManager', () => {
  const objects = renderDataPlaneManager(dpmExample(), s);
  const props = () => find(objects, 'ConfigMap').data['application.properties'] as string;

  it('renders its ServiceAccount and Ignite discovery RBAC, ConfigMap, Deployment, Service and PDB named after it', () => {
    const rbac = `${NAMESPACE}.dpm.ignite-discovery`;
    expect(kinds(objects)).toEqual(['ServiceAccount/dpm', `Role/${rbac}`, `RoleBinding/${rbac}`, 'ConfigMap/dpm', 'Deployment/dpm', 'Service/dpm', 'PodDisruptionBudget/dpm']);
    expect(find(objects, 'Role').metadata.namespace).toBe('ignite-alcor');
    expect(find(objects, 'Service').spec.ports.map((p: Obj) => [p.port, p.targetPort])).toEqual([[9010, 'http'], [50001, 'grpc'], [50002, 'grpc-topic']]);
    const c = podTemplate(find(objects, 'Deployment')).spec.containers[0];
    expect(c.command).toEqual(['java', '-jar', '/app/AlcorDataPlaneManager-0.1.0.jar', '--spring.config.location=/etc/dpm/application.properties']);
    expect(c.ports.map((p: Obj) => p.containerPort)).toEqual([8080, 50001, 50002]);
  });

  it('writes the keys of Alcor\'s application.properties in a stable order, extras last', () => {
    const keys = props().split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split('=')[0]);
    expect(keys).toEqual([
      'server.port', 'management.health.redis.enabled', 'protobuf.goal-state-message.version', 'dataplane.grpc.port', 'dataplane.grpc.topic-port',
      'dataplane.isovs', 'grpc.min-threads', 'grpc.max-threads', 'grpc.number-of-channels-per-host', 'grpc.monitor-hosts',
      'microservices.netwconfigmanager.service.url', 'ignite.host', 'ignite.port', 'ignite.kubeNamespace', 'ignite.kubeServiceName',
      'ignite.thin.client.enable', 'mq.mode', 'pulsar.url', 'pulsar.unicast.topic', 'host.ip.to.group.topic.map', 'group.topic.to.multicast.topic.map',
      'path.mode', 'path.UPPER_VPC_SIZE', 'path.LOWER_VPC_SIZE', 'microservices.node.service.url', 'microservices.gateway.service.url',
      'zetaGateway.enabled', 'zetaGateway.node.mac', 'microservices.zeta.management.url', 'zetaGateway.check.timeout', 'zetaGateway.check.interval',
      'opentracing.jaeger.enabled',
    ]);
    expect(props()).toContain('path.mode=AUTO\n');
    expect(props()).toContain('pulsar.url=pulsar://pulsar-broker.pulsar.svc:6650\n');
    expect(props()).toContain('host.ip.to.group.topic.map=group-topic1:10.10.10.11,10.10.10.12\n');
    expect(props()).toContain('group.topic.to.multicast.topic.map=multicast-topic1:group-topic1\n');
    expect(props()).toContain('zetaGateway.enabled=false\n');
  });

  it("fills what the spec leaves out with Alcor's own values, and turns Zeta on with its settings", () => {
    const minimal = find(renderDataPlaneManager(dpmExample(() => ({})), s), 'ConfigMap').data['application.properties'] as string;
    expect(minimal).toContain('protobuf.goal-state-message.version=102\n');
    expect(minimal).toContain('grpc.monitor-hosts=0.0.0.0,0.0.0.1\n');
    expect(minimal).toContain('pulsar.url=pulsar://localhost:6650\n');
    expect(minimal).toContain(`ignite.host=ignite.${NAMESPACE}.svc\nignite.port=10800\nignite.kubeNamespace=${NAMESPACE}\nignite.kubeServiceName=ignite\n`);
    const zeta = dpmExample((spec) => ({ ...spec, zetaGateway: { nodeMac: 'e0:97:96:02:45:54', managementUrl: 'http://zeta:80', checkIntervalSeconds: 5 } }));
    const on = find(renderDataPlaneManager(zeta, s), 'ConfigMap').data['application.properties'] as string;
    expect(on).toContain('zetaGateway.enabled=true\nzetaGateway.node.mac=e0:97:96:02:45:54\nmicroservices.zeta.management.url=http://zeta:80\nzetaGateway.check.timeout=30\nzetaGateway.check.interval=5\n');
  });

  it('probes /actuator/health and runs in a writable working directory (the DPM writes ./timestamp.log)', () => {
    const c = podTemplate(find(objects, 'Deployment')).spec.containers[0];
    expect(c.readinessProbe.httpGet).toEqual({ path: '/actuator/health', port: 'http' });
    expect(c.workingDir).toBe('/tmp');
    expect(c.volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
  });

  it('rolls the pods when, and only when, the properties change', () => {
    const annotation = (o: KubeObject[]) => podTemplate(find(o, 'Deployment')).metadata.annotations[CONFIG_CHECKSUM_ANNOTATION];
    const base = annotation(objects);
    expect(annotation(renderDataPlaneManager(dpmExample((spec) => ({ ...spec, replicas: 7 })), s))).toBe(base);
    expect(annotation(renderDataPlaneManager(dpmExample((spec) => ({ ...spec, pathMode: 'MQ' })), s))).not.toBe(base);
    expect(annotation(renderDataPlaneManager(dpmExample((spec) => ({ ...spec, extraProperties: { 'a.b': 'c' } })), s))).not.toBe(base);
  });

  it('meets the restricted standard with a writable /tmp', () => {
    const pod = podTemplate(find(objects, 'Deployment')).spec;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.containers[0].securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(pod.volumes).toContainEqual({ name: 'tmp', emptyDir: {} });
  });
});

describe('properties text', () => {
  it('escapes what java.util.Properties would misread', () => {
    expect(toProperties([['a b=c', 'x\ny'], ['k', ' lead'], ['u', 'pulsar://h:6650']])).toBe('a\\ b\\=c=x\\ny\nk=\\ lead\nu=pulsar://h:6650\n');
  });
});
