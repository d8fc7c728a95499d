// The objects admission must refuse, shared by the schema unit tests
// (test/api) and the real API server test (e2e/crd-validation.test.ts).
// Each case starts from an example and breaks one thing.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export type Obj = Record<string, any>;

export function loadExample(file: string): Obj {
  return parse(readFileSync(join(root, 'examples', file), 'utf8')) as Obj;
}

export interface InvalidCase {
  name: string;
  example: 'macpool.yaml' | 'macpool-alcor.yaml' | 'dhcpsubnet.yaml' | 'dataplanemanager.yaml' | 'dhcpreservation.yaml';
  /** Breaks the (deep-copied) example. */
  mutate: (o: Obj) => void;
  /** The field both the zod error and the API server's error name. */
  field: string;
  /** Text of the reason in the zod error. */
  zod: string;
  /** Text of the reason in the API server's error; the zod text when left out (CEL messages are shared). */
  api?: string;
}

export const invalidCases: InvalidCase[] = [
  // MacPool
  { name: 'malformed MAC in a range', example: 'macpool.yaml', mutate: (o) => { o.spec.ranges[0].from = 'aa:bb:cc:00:00:0g'; }, field: 'spec.ranges[0].from', zod: 'colon-separated MAC', api: 'should match' },
  { name: 'upper-case MAC in a range', example: 'macpool.yaml', mutate: (o) => { o.spec.ranges[1].to = 'AA:BB:CD:FF:FF:FF'; }, field: 'spec.ranges[1].to', zod: 'colon-separated MAC', api: 'should match' },
  { name: 'malformed OUI', example: 'macpool.yaml', mutate: (o) => { o.spec.oui = 'aa:bb'; }, field: 'spec.oui', zod: 'three lower-case octets', api: 'should match' },
  { name: 'multicast OUI', example: 'macpool.yaml', mutate: (o) => { o.spec.oui = 'ab:bb:cc'; }, field: 'spec.oui', zod: 'oui must be unicast' },
  { name: 'range from after to', example: 'macpool.yaml', mutate: (o) => { o.spec.ranges[0].from = 'aa:bb:cc:ff:00:00'; o.spec.ranges[0].to = 'aa:bb:cc:00:00:00'; }, field: 'spec.ranges[0].from', zod: 'range from must not be after to' },
  { name: 'multicast range', example: 'macpool.yaml', mutate: (o) => { o.spec.ranges[0].from = '01:00:5e:00:00:00'; o.spec.ranges[0].to = '01:00:5e:ff:ff:ff'; }, field: 'spec.ranges[0].to', zod: 'must be unicast and share their first octet' },
  { name: 'malformed exclusion', example: 'macpool.yaml', mutate: (o) => { o.spec.exclusions[0] = 'fe:16:11:**'; }, field: 'spec.exclusions[0]', zod: 'full MAC', api: 'should match' },
  { name: 'allocator replicas 0', example: 'macpool.yaml', mutate: (o) => { o.spec.allocator.replicas = 0; }, field: 'spec.allocator.replicas', zod: 'replicas must be at least 1', api: 'should be greater than or equal to 1' },
  { name: 'bulk limit 0', example: 'macpool.yaml', mutate: (o) => { o.spec.allocator.limits.maxBulk = 0; }, field: 'spec.allocator.limits.maxBulk', zod: 'Too small', api: 'should be greater than or equal to 1' },
  { name: 'keep-alive timeout over an hour', example: 'macpool.yaml', mutate: (o) => { o.spec.allocator.limits.keepAliveTimeout = '2h'; }, field: 'spec.allocator.limits.keepAliveTimeout', zod: 'keepAliveTimeout must be between 1s and 1h' },
  { name: 'headers timeout longer than the request timeout', example: 'macpool.yaml', mutate: (o) => { o.spec.allocator.limits.headersTimeout = '45s'; }, field: 'spec.allocator.limits.headersTimeout', zod: 'headersTimeout must not be longer than requestTimeout' },
  // MacPool, engine alcor: retired fields get a message saying what to do instead.
  { name: 'engine alcor with the retired ignite.host', example: 'macpool-alcor.yaml', mutate: (o) => { o.spec.alcor.ignite.host = 'ignite-alcor-service.ignite-alcor.svc'; }, field: 'spec.alcor.ignite.host', zod: "host is retired: Alcor's services find Ignite's pods through the Kubernetes API" },
  { name: 'engine alcor with a poolSize Alcor never read', example: 'macpool-alcor.yaml', mutate: (o) => { o.spec.alcor.poolSize = 200; }, field: 'spec.alcor.poolSize', zod: 'poolSize is retired: Alcor never reads macmanager.pool.size' },
  { name: 'engine alcor with an Ignite port other than 10800', example: 'macpool-alcor.yaml', mutate: (o) => { o.spec.alcor.ignite.port = 10900; }, field: 'spec.alcor.ignite.port', zod: 'port is retired' },
  { name: 'name starting with a digit', example: 'macpool.yaml', mutate: (o) => { o.metadata.name = '1-pool'; }, field: 'metadata.name', zod: 'metadata.name must be at most 45 characters' },
  // DhcpSubnet
  { name: 'CIDR with host bits', example: 'dhcpsubnet.yaml', mutate: (o) => { o.spec.cidr = '10.20.0.1/24'; }, field: 'spec.cidr', zod: 'cidr must be a network address' },
  { name: 'malformed CIDR', example: 'dhcpsubnet.yaml', mutate: (o) => { o.spec.cidr = '10.20.0.0/33'; }, field: 'spec.cidr', zod: 'IPv4 CIDR', api: 'should match' },
  { name: 'gateway outside the CIDR', example: 'dhcpsubnet.yaml', mutate: (o) => { o.spec.gateway = '10.21.0.1'; }, field: 'spec.gateway', zod: 'gateway must lie inside cidr' },
  { name: 'malformed gateway', example: 'dhcpsubnet.yaml', mutate: (o) => { o.spec.gateway = '10.20.0.256'; }, field: 'spec.gateway', zod: 'IPv4 address', api: 'should match' },
  { name: 'pool outside the CIDR', example: 'dhcpsubnet.yaml', mutate: (o) => { o.spec.pools[0].end = '10.20.1.10'; }, field: 'spec.pools', zod: 'pools must lie inside cidr' },
  { name: 'pool start after end', example: 'dhcpsubnet.yaml', mutate: (o) => { o.spec.pools[0] = { start: '10.20.0.199', end: '10.20.0.100' }; }, field: 'spec.pools[0].start', zod: 'pool start must not be after end' },
  { name: 'reservation outside the CIDR', example: 'dhcpsubnet.yaml', mutate: (o) => { o.spec.reservations[0].ip = '10.99.0.10'; }, field: 'spec.reservations', zod: 'reservations[].ip must lie inside cidr' },
  { name: 'malformed reservation MAC', example: 'dhcpsubnet.yaml', mutate: (o) => { o.spec.reservations[0].mac = 'aa-bb-cc-00-10-01'; }, field: 'spec.reservations[0].mac', zod: 'colon-separated MAC', api: 'should match' },
  { name: 'lease time too short', example: 'dhcpsubnet.yaml', mutate: (o) => { o.spec.leaseTime = '30s'; }, field: 'spec.leaseTime', zod: 'leaseTime must be between 1m and 8760h' },
  { name: 'lease time too long', example: 'dhcpsubnet.yaml', mutate: (o) => { o.spec.leaseTime = '9000h'; }, field: 'spec.leaseTime', zod: 'leaseTime must be between 1m and 8760h' },
  { name: 'exclude range backwards', example: 'dhcpsubnet.yaml', mutate: (o) => { o.spec.excludes[1] = '10.20.0.199-10.20.0.190'; }, field: 'spec.excludes[1]', zod: 'range start must not be after its end' },
  { name: 'option value out of its type', example: 'dhcpsubnet.yaml', mutate: (o) => { o.spec.options[0] = { code: 37, type: 'uint8', value: '300' }; }, field: 'spec.options[0].value', zod: 'within the range of its type' },
  { name: 'option code owned by a typed field', example: 'dhcpsubnet.yaml', mutate: (o) => { o.spec.options[0] = { code: 3, type: 'ipv4', value: '10.20.0.1' }; }, field: 'spec.options[0].code', zod: 'is set by a typed field' },
  { name: 'quarantine shorter than a minute', example: 'dhcpsubnet.yaml', mutate: (o) => { o.spec.server.quarantineTime = '30s'; }, field: 'spec.server.quarantineTime', zod: 'server.quarantineTime must be between 1m and 720h' },
  { name: 'conflict window over a day', example: 'dhcpsubnet.yaml', mutate: (o) => { o.spec.server.conflictThreshold = { conflicts: 3, window: '48h' }; }, field: 'spec.server.conflictThreshold.window', zod: 'server.conflictThreshold.window must be between 1m and 24h' },
  { name: 'trusted relay CIDR with host bits', example: 'dhcpsubnet.yaml', mutate: (o) => { o.spec.server.trustedRelays = ['10.20.0.1/24']; }, field: 'spec.server.trustedRelays[0]', zod: 'server.trustedRelays[] must be a network address' },
  { name: 'trusted relay not a CIDR', example: 'dhcpsubnet.yaml', mutate: (o) => { o.spec.server.trustedRelays = ['10.20.0.1']; }, field: 'spec.server.trustedRelays[0]', zod: 'IPv4 CIDR', api: 'should match' },
  { name: 'server replicas 0', example: 'dhcpsubnet.yaml', mutate: (o) => { o.spec.server.replicas = 0; }, field: 'spec.server.replicas', zod: 'replicas must be at least 1', api: 'should be greater than or equal to 1' },
  // DhcpReservation
  { name: 'reservation by both mac and clientId', example: 'dhcpreservation.yaml', mutate: (o) => { o.spec.clientId = '01aabbcc001002'; }, field: 'spec', zod: 'exactly one of mac and clientId must be set' },
  { name: 'reservation by neither mac nor clientId', example: 'dhcpreservation.yaml', mutate: (o) => { delete o.spec.mac; }, field: 'spec', zod: 'exactly one of mac and clientId must be set' },
  { name: 'reservation clientId not hex', example: 'dhcpreservation.yaml', mutate: (o) => { delete o.spec.mac; o.spec.clientId = '01:aa:bb'; }, field: 'spec.clientId', zod: 'clientId must be lower-case hex', api: 'should match' },
  { name: 'reservation ip malformed', example: 'dhcpreservation.yaml', mutate: (o) => { o.spec.ip = '10.20.0.300'; }, field: 'spec.ip', zod: 'IPv4 address', api: 'should match' },
  { name: 'reservation option owned by a typed field', example: 'dhcpreservation.yaml', mutate: (o) => { o.spec.options[0] = { code: 12, type: 'string', value: 'x' }; }, field: 'spec.options[0].code', zod: 'is set by a typed field' },
  { name: 'reservation without a subnet', example: 'dhcpreservation.yaml', mutate: (o) => { delete o.spec.subnetRef; }, field: 'spec.subnetRef', zod: 'expected object', api: 'Required value' },
  // DataPlaneManager
  { name: 'name too long for its Service', example: 'dataplanemanager.yaml', mutate: (o) => { o.metadata.name = 'd'.repeat(46); }, field: 'metadata.name', zod: 'metadata.name must be at most 45 characters' },
  { name: 'unknown path mode', example: 'dataplanemanager.yaml', mutate: (o) => { o.spec.pathMode = 'FAST'; }, field: 'spec.pathMode', zod: 'pathMode must be one of GRPC, MQ, AUTO', api: 'Unsupported value: "FAST"' },
  { name: 'DPM replicas 0', example: 'dataplanemanager.yaml', mutate: (o) => { o.spec.replicas = 0; }, field: 'spec.replicas', zod: 'replicas must be at least 1', api: 'should be greater than or equal to 1' },
  { name: 'gRPC min threads above max', example: 'dataplanemanager.yaml', mutate: (o) => { o.spec.grpc.minThreads = 300; }, field: 'spec.grpc.minThreads', zod: 'grpc.minThreads must not exceed grpc.maxThreads' },
  { name: 'VPC size thresholds reversed', example: 'dataplanemanager.yaml', mutate: (o) => { o.spec.vpcSizeThresholds = { upper: 10, lower: 100 }; }, field: 'spec.vpcSizeThresholds.lower', zod: 'vpcSizeThresholds.lower must not exceed' },
  { name: 'extra property with a bad key', example: 'dataplanemanager.yaml', mutate: (o) => { o.spec.extraProperties = { 'bad key': 'x' }; }, field: 'spec.extraProperties', zod: 'extraProperties keys must be property names' },
  { name: 'DPM with the retired ignite.host', example: 'dataplanemanager.yaml', mutate: (o) => { o.spec.ignite.host = 'ignite-alcor-service.ignite-alcor.svc'; }, field: 'spec.ignite.host', zod: 'host is retired' },
  { name: 'DPM with the thick Ignite client', example: 'dataplanemanager.yaml', mutate: (o) => { o.spec.ignite.thinClient = false; }, field: 'spec.ignite.thinClient', zod: 'thinClient is retired' },
  { name: 'DPM with RocketMQ', example: 'dataplanemanager.yaml', mutate: (o) => { o.spec.messaging.type = 'rocketmq'; }, field: 'spec.messaging.type', zod: "type is retired: Alcor's DPM speaks only Pulsar" },
  { name: 'DPM with an mq mode Alcor does not wire', example: 'dataplanemanager.yaml', mutate: (o) => { o.spec.messaging.mode = 'node'; }, field: 'spec.messaging.mode', zod: 'mode is retired: mq.mode is always vpc' },
  { name: 'DPM with a multicastTopic Alcor never read', example: 'dataplanemanager.yaml', mutate: (o) => { o.spec.messaging.multicastTopic = 'mc-2'; }, field: 'spec.messaging.multicastTopic', zod: 'multicastTopic is retired: Alcor never reads pulsar.multicast.topic' },
  { name: 'DPM goal-state version 103', example: 'dataplanemanager.yaml', mutate: (o) => { o.spec.goalStateVersion = 103; }, field: 'spec.goalStateVersion', zod: 'goalStateVersion must be 101 or 102', api: 'Unsupported value: 103' },
  { name: 'DPM over MQ without a broker', example: 'dataplanemanager.yaml', mutate: (o) => { o.spec.pathMode = 'MQ'; delete o.spec.messaging.url; }, field: 'spec.messaging.url', zod: 'messaging.url is required when pathMode is MQ or AUTO' },
  { name: 'DPM broker URL not Pulsar', example: 'dataplanemanager.yaml', mutate: (o) => { o.spec.messaging.url = 'http://broker:8080'; }, field: 'spec.messaging.url', zod: 'must be a Pulsar service URL', api: 'should match' },
  { name: 'DPM Zeta gateway without a gateway manager URL', example: 'dataplanemanager.yaml', mutate: (o) => { delete o.spec.gatewayUrl; o.spec.zetaGateway = { nodeMac: 'e0:97:96:02:45:53', managementUrl: 'http://zeta:80' }; }, field: 'spec.gatewayUrl', zod: 'gatewayUrl is required with zetaGateway' },
  { name: 'DPM monitor host not an address', example: 'dataplanemanager.yaml', mutate: (o) => { o.spec.grpc.monitorHosts = ['host-1']; }, field: 'spec.grpc.monitorHosts[0]', zod: 'must be an IPv4 address', api: 'should match' },
];

/**
 * Hidden cases: objects that admission used to accept and a server then
 * refused (issue 14). Each is also fed to the server past admission
 * (test/api/server-rules.test.ts), which must refuse it with `server` in its
 * words: a row here is a rule the server really applies.
 */
export interface HiddenCase extends InvalidCase {
  refusedBy: 'macd' | 'dhcpd';
  server: string;
}

export const hiddenCases: HiddenCase[] = [
  // macd: at most 2^24 addresses per range (a bitmap per range).
  { name: 'a range of 2^40 addresses', example: 'macpool.yaml', mutate: (o) => { o.spec.ranges = [{ name: 'huge', from: '02:00:00:00:00:00', to: '02:ff:ff:ff:ff:ff' }]; o.spec.exclusions = []; }, field: 'spec.ranges[0].to', zod: 'a range may hold at most 16777216 addresses', refusedBy: 'macd', server: 'at most 16777216 per range' },
  { name: 'a range of 2^24 + 1 addresses across an OUI boundary', example: 'macpool.yaml', mutate: (o) => { o.spec.ranges[1] = { name: 'range1', from: 'aa:bb:cd:80:00:00', to: 'aa:bb:ce:80:00:00' }; }, field: 'spec.ranges[1].to', zod: 'a range may hold at most 16777216 addresses', refusedBy: 'macd', server: 'it holds 16777217 addresses' },
  // dhcpd: pools must be disjoint; an address is reserved once; options the server sets itself.
  { name: 'overlapping pools', example: 'dhcpsubnet.yaml', mutate: (o) => { o.spec.pools = [{ start: '10.20.0.100', end: '10.20.0.150' }, { start: '10.20.0.150', end: '10.20.0.199' }]; }, field: 'spec.pools', zod: 'pools must not overlap one another', refusedBy: 'dhcpd', server: 'pools overlap' },
  { name: 'the same pool twice', example: 'dhcpsubnet.yaml', mutate: (o) => { o.spec.pools = [o.spec.pools[0], o.spec.pools[0]]; }, field: 'spec.pools', zod: 'pools must not overlap one another', refusedBy: 'dhcpd', server: 'pools overlap' },
  { name: 'one address reserved for two MACs', example: 'dhcpsubnet.yaml', mutate: (o) => { o.spec.reservations.push({ mac: 'aa:bb:cc:00:10:02', ip: o.spec.reservations[0].ip }); }, field: 'spec.reservations', zod: 'reservations[].ip must differ', refusedBy: 'dhcpd', server: 'reserved twice' },
  { name: 'option 82 (relay agent information, the server\'s)', example: 'dhcpsubnet.yaml', mutate: (o) => { o.spec.options[0] = { code: 82, type: 'hex', value: '0104aabbccdd' }; }, field: 'spec.options[0].code', zod: 'or by the server', refusedBy: 'dhcpd', server: 'option 82 is set by the server' },
  { name: 'option 52 (overload, the server\'s)', example: 'dhcpsubnet.yaml', mutate: (o) => { o.spec.options[0] = { code: 52, type: 'uint8', value: '1' }; }, field: 'spec.options[0].code', zod: 'or by the server', refusedBy: 'dhcpd', server: 'option 52 is set by the server' },
  { name: 'a domain search label of 64 characters', example: 'dhcpsubnet.yaml', mutate: (o) => { o.spec.domainSearch = [`${'a'.repeat(64)}.example.internal`]; }, field: 'spec.domainSearch[0]', zod: 'labels of 1-63 characters', api: 'should match', refusedBy: 'dhcpd', server: 'label length must be 1-63' },
];

export function brokenObject(c: InvalidCase, name: string): Obj {
  const o = structuredClone(loadExample(c.example));
  o.metadata.name = name;
  c.mutate(o);
  return o;
}
