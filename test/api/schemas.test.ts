import { describe, expect, it } from 'vitest';
import { DataPlaneManager, DhcpReservation, DhcpSubnet, formatIssues, MacPool, parseResource } from '../../src/api/index.ts';
import { brokenObject, hiddenCases, invalidCases, loadExample, type Obj } from './invalid-cases.ts';

const schemas = { MacPool, DhcpSubnet, DataPlaneManager, DhcpReservation } as const;

function errorsOf(o: Obj): string {
  const schema = schemas[o.kind as keyof typeof schemas];
  const r = schema.safeParse(o);
  return r.success ? '' : formatIssues(r.error);
}

describe('examples are valid', () => {
  it.each(['macpool.yaml', 'macpool-alcor.yaml', 'dhcpsubnet.yaml', 'dataplanemanager.yaml', 'dhcpreservation.yaml'])('%s', (file) => {
    expect(errorsOf(loadExample(file))).toBe('');
  });
});

describe('invalid objects are refused with the field named', () => {
  it.each([...invalidCases, ...hiddenCases].map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const errors = errorsOf(brokenObject(c, 'bad'));
    expect(errors).not.toBe('');
    const line = errors.split('\n').find((l) => l.startsWith(`${c.field}: `));
    expect(line, errors).toBeDefined();
    expect(errors).toContain(c.zod);
  });
});

function macPool(spec: Obj): Obj {
  return { apiVersion: 'alcor.dev/v1alpha1', kind: 'MacPool', metadata: { name: 'p' }, spec };
}
function subnet(spec: Obj): Obj {
  return { apiVersion: 'alcor.dev/v1alpha1', kind: 'DhcpSubnet', metadata: { name: 's' }, spec: { cidr: '10.0.0.0/24', pools: [{ start: '10.0.0.10', end: '10.0.0.20' }], ...spec } };
}

describe('more valid objects', () => {
  const cases: [string, Obj][] = [
    ['MacPool with only an OUI', macPool({ oui: '02:00:00' })],
    ['MacPool ranges outside the OUI, adjacent', macPool({ oui: 'aa:bb:cc', ranges: [{ name: 'a', from: '02:00:00:00:00:00', to: '02:00:00:00:00:ff' }, { name: 'b', from: '02:00:00:00:01:00', to: '02:00:00:ff:ff:ff' }] })],
    ['MacPool ranges overlapping and nested (as Alcor allows)', macPool({ oui: 'aa:bb:cc', ranges: [{ name: 'range0', from: 'aa:bb:cc:00:00:00', to: 'aa:bb:cc:ff:ff:ff' }, { name: 'tenant', from: 'aa:bb:cc:20:00:00', to: 'aa:bb:cc:20:ff:ff' }, { name: 'same', from: 'aa:bb:cc:20:00:00', to: 'aa:bb:cc:20:ff:ff' }] })],
    ['MacPool single-address range', macPool({ oui: 'aa:bb:cc', ranges: [{ name: 'one', from: 'aa:bb:cc:00:00:01', to: 'aa:bb:cc:00:00:01' }] })],
    ['MacPool engine alcor, nothing else', macPool({ oui: 'aa:bb:cc', engine: 'alcor' })],
    ['MacPool engine alcor as stored before: the old defaults of retired fields', macPool({ oui: 'aa:bb:cc', engine: 'alcor', alcor: { ignite: { serviceName: 'ignite', port: 10800 }, poolSize: 100 } })],
    ['MacPool exclusion prefixes of every length', macPool({ oui: 'aa:bb:cc', exclusions: ['fe', 'fe:16', 'fe:16:11:*', 'fe:16:11:00:00', '60:d7:55:f7:c2:09'] })],
    ['DhcpSubnet minimal', subnet({})],
    ['DhcpSubnet gateway at the edge', subnet({ gateway: '10.0.0.255' })],
    ['DhcpSubnet nodeLocal with interface', subnet({ server: { mode: 'nodeLocal', interface: 'eth1' } })],
    ['DhcpSubnet lease bounds', subnet({ leaseTime: '1m' })],
    ['DhcpSubnet lease upper bound', subnet({ leaseTime: '8760h' })],
    ['DhcpSubnet typed options', subnet({ options: [{ code: 150, type: 'ipv4List', value: '10.0.0.1, 10.0.0.2' }, { code: 23, type: 'uint8', value: '64' }, { code: 19, type: 'boolean', value: 'false' }, { code: 43, type: 'hex', value: '0a0B' }] })],
    ['DataPlaneManager minimal', { apiVersion: 'alcor.dev/v1alpha1', kind: 'DataPlaneManager', metadata: { name: 'd' }, spec: {} }],
    [
      'DataPlaneManager as stored before: the old defaults of retired fields',
      { apiVersion: 'alcor.dev/v1alpha1', kind: 'DataPlaneManager', metadata: { name: 'd' }, spec: { ignite: { port: 10800, thinClient: true }, messaging: { type: 'pulsar', mode: 'vpc', multicastTopic: 'multicast-topic1' } } },
    ],
    ['DataPlaneManager with Zeta on', { apiVersion: 'alcor.dev/v1alpha1', kind: 'DataPlaneManager', metadata: { name: 'd' }, spec: { gatewayUrl: 'http://gw:9015/', zetaGateway: { nodeMac: 'e0:97:96:02:45:53', managementUrl: 'http://zeta:80' } } }],
  ];
  it.each(cases)('%s', (_name, o) => {
    expect(errorsOf(o)).toBe('');
  });
});

describe('more invalid objects', () => {
  const cases: [string, Obj, string][] = [
    ['duplicate range names', macPool({ oui: 'aa:bb:cc', ranges: [{ name: 'a', from: 'aa:bb:cc:00:00:00', to: 'aa:bb:cc:00:00:01' }, { name: 'a', from: 'aa:bb:cc:00:00:02', to: 'aa:bb:cc:00:00:03' }] }), 'spec.ranges[1].name: duplicate range name'],
    ['range spanning a multicast first octet', macPool({ oui: 'aa:bb:cc', ranges: [{ name: 'a', from: '02:00:00:00:00:00', to: '04:00:00:00:00:00' }] }), 'must be unicast and share their first octet'],
    ['alcor engine with ranges', macPool({ oui: 'aa:bb:cc', engine: 'alcor', alcor: {}, ranges: [{ name: 'a', from: 'aa:bb:cc:00:00:00', to: 'aa:bb:cc:00:00:01' }] }), 'spec.engine: ranges and exclusions need engine builtin'],
    ['service port 0', macPool({ oui: 'aa:bb:cc', allocator: { servicePort: 0 } }), 'spec.allocator.servicePort'],
    ['a lease time in days', subnet({ leaseTime: '1d' }), 'spec.leaseTime: leaseTime must be a duration'],
    ['an IPv4 list with a bad entry', subnet({ options: [{ code: 150, type: 'ipv4List', value: '10.0.0.1,x' }] }), 'spec.options[0].value'],
    ['hex of odd length', subnet({ options: [{ code: 43, type: 'hex', value: 'abc' }] }), 'spec.options[0].value'],
    ['a static route to a non-network', subnet({ staticRoutes: [{ destination: '10.1.0.1/16', gateway: '10.0.0.1' }] }), 'spec.staticRoutes[0].destination'],
    ['a /31 subnet', subnet({ cidr: '10.0.0.0/31', pools: [{ start: '10.0.0.0', end: '10.0.0.1' }] }), 'spec.cidr: cidr must be /30 or larger'],
    ['no pools', subnet({ pools: [] }), 'spec.pools'],
    ['duplicate reservation MACs', subnet({ reservations: [{ mac: 'aa:bb:cc:00:00:01', ip: '10.0.0.5' }, { mac: 'aa:bb:cc:00:00:01', ip: '10.0.0.6' }] }), 'spec.reservations[1].mac: duplicate'],
    ['a lowercase path mode', { apiVersion: 'alcor.dev/v1alpha1', kind: 'DataPlaneManager', metadata: { name: 'd' }, spec: { pathMode: 'grpc' } }, 'spec.pathMode'],
    ['equal gRPC ports', { apiVersion: 'alcor.dev/v1alpha1', kind: 'DataPlaneManager', metadata: { name: 'd' }, spec: { grpc: { port: 50001, topicPort: 50001 } } }, 'spec.grpc.topicPort: grpc.port and grpc.topicPort must differ'],
  ];
  it.each(cases)('%s', (_name, o, expected) => {
    expect(errorsOf(o)).toContain(expected);
  });
});

describe('defaults', () => {
  it('fills MacPool defaults the way the CRD does', () => {
    const p = MacPool.parse(macPool({ oui: 'aa:bb:cc' }));
    expect(p.spec.engine).toBe('builtin');
    expect(p.spec.allocator).toEqual({ replicas: 2, storage: { size: '1Gi' }, servicePort: 9005 });
  });
  it('fills DhcpSubnet and DataPlaneManager defaults', () => {
    const s = DhcpSubnet.parse(subnet({}));
    expect(s.spec.leaseTime).toBe('24h');
    expect(s.spec.server).toEqual({
      replicas: 2,
      mode: 'relay',
      conflictDetection: 'none',
      quarantineTime: '1h',
      conflictThreshold: { conflicts: 5, window: '10m' },
      relayInfoWithoutGiaddr: 'drop',
      storage: { size: '256Mi' },
    });
    const d = DataPlaneManager.parse({ apiVersion: 'alcor.dev/v1alpha1', kind: 'DataPlaneManager', metadata: { name: 'd' }, spec: {} });
    expect(d.spec.grpc).toEqual({ port: 50001, topicPort: 50002, minThreads: 100, maxThreads: 200, channelsPerHost: 1 });
    expect(d.spec.pathMode).toBe('GRPC');
    expect(d.spec.image).toBe('data_plane_manager:v1.0');
    expect(d.spec.vpcSizeThresholds).toEqual({ upper: 1000, lower: 100 });
    expect(d.spec.goalStateVersion).toBe(102);
    expect(d.spec.ignite).toEqual({ serviceName: 'ignite' });
    expect(d.spec.messaging).toEqual({ unicastTopic: 'unicast-topic1' });
    expect(d.spec.networkConfigManagerHost).toBe('netwconfigmanager-service');
    expect(d.spec.zetaGateway).toBeUndefined();
  });
  it('keeps unknown metadata fields (passthrough)', () => {
    const p = MacPool.parse({ ...macPool({ oui: 'aa:bb:cc' }), metadata: { name: 'p', finalizers: ['x'] } });
    expect((p.metadata as Obj).finalizers).toEqual(['x']);
  });
});

describe('parseResource', () => {
  it('names the kind, the object and the field', () => {
    expect(() => parseResource(macPool({ oui: 'ab:00:00' }))).toThrow(/MacPool "p" is invalid:\nspec\.oui: oui must be unicast/);
  });
  it('refuses foreign kinds and versions', () => {
    expect(() => parseResource({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } })).toThrow(/apiVersion must be alcor.dev\/v1alpha1/);
    expect(() => parseResource({ apiVersion: 'alcor.dev/v1alpha1', kind: 'Nope', metadata: { name: 'x' } })).toThrow(/kind must be/);
  });
});
