import { z } from 'zod';
import { igniteDescription, igniteFields, igniteRules, retiredRule } from './alcor.ts';
import { ipv4Pattern } from './ipv4.ts';
import { macAddressPattern } from './mac.ts';
import {
  conditionsField,
  imageField,
  observedGenerationField,
  portField,
  ResourceRequirements,
  resourceSchema,
  withRules,
  type KindInfo,
} from './common.ts';

// DataPlaneManager: Alcor's Data Plane Manager (Java, Spring Boot), which
// programs the host agents over gRPC or a message queue. The spec mirrors the
// keys of its application.properties.

export const dataPlaneManagerKind: KindInfo = {
  kind: 'DataPlaneManager',
  plural: 'dataplanemanagers',
  singular: 'dataplanemanager',
  shortNames: ['dpm'],
  listKind: 'DataPlaneManagerList',
};

const hostIPv4 = z.string().max(15).regex(ipv4Pattern, { message: 'must be an IPv4 address such as 10.0.0.1' });
const hostName = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, { message: 'must be a host name or IPv4 address' });

const url = z.string().min(1).max(512).regex(/^[a-z][a-z0-9+.-]*:\/\/\S+$/, { message: 'must be a URL such as http://host:port' });

export const DpmGrpc = withRules(
  z.object({
    port: portField.default(50001).describe('gRPC port the host agents call (dataplane.grpc.port).'),
    topicPort: portField.default(50002).describe('gRPC topic port (dataplane.grpc.topic-port).'),
    minThreads: z.number().int().min(1).max(10000).default(100).describe('Smallest gRPC thread pool (grpc.min-threads).'),
    maxThreads: z.number().int().min(1).max(10000).default(200).describe('Largest gRPC thread pool (grpc.max-threads).'),
    channelsPerHost: z.number().int().min(1).max(64).default(1).describe('gRPC channels per host agent (grpc.number-of-channels-per-host).'),
    monitorHosts: z
      .array(hostIPv4)
      .max(64)
      .optional()
      .describe(
        "Hosts whose goal states the DPM logs with a UUID and timestamp, to trace them end to end (grpc.monitor-hosts). Absent: Alcor's own placeholder 0.0.0.0,0.0.0.1, which matches no host.",
      )
      .meta({ 'x-kubernetes-list-type': 'set' }),
  }),
  'gRPC server settings.',
  [
    {
      rule: 'self.minThreads <= self.maxThreads',
      message: 'grpc.minThreads must not exceed grpc.maxThreads',
      fieldPath: '.minThreads',
      check: (g) => g.minThreads <= g.maxThreads,
    },
    {
      rule: 'self.port != self.topicPort',
      message: 'grpc.port and grpc.topicPort must differ',
      fieldPath: '.topicPort',
      check: (g) => g.port !== g.topicPort,
    },
    {
      rule: 'self.port != 8080 && self.topicPort != 8080',
      message: 'grpc ports must not be 8080, the REST port',
      fieldPath: '.port',
      check: (g) => g.port !== 8080 && g.topicPort !== 8080,
    },
  ],
).prefault({});
export type DpmGrpc = z.infer<typeof DpmGrpc>;

const topicName = z.string().min(1).max(255).regex(/^[^\s:,]+$/, { message: 'a topic name has no spaces, colons or commas' });

export const DpmGroupTopic = z
  .object({
    name: topicName.describe('Group topic.'),
    hosts: z.array(hostIPv4).min(1).max(1024).describe('IPv4 addresses of the hosts in this group.').meta({ 'x-kubernetes-list-type': 'set' }),
  })
  .describe('A group topic and the hosts it serves.');

export const DpmMulticastTopic = z
  .object({
    name: topicName.describe('Multicast topic.'),
    groupTopics: z.array(topicName).min(1).max(1024).describe('Group topics it covers.').meta({ 'x-kubernetes-list-type': 'set' }),
  })
  .describe('A multicast topic and the group topics it covers.');

export const DpmMessaging = withRules(
  z.object({
    url: z
      .string()
      .max(512)
      .regex(/^pulsar(\+ssl)?:\/\/\S+$/, { message: 'messaging.url must be a Pulsar service URL such as pulsar://pulsar-broker:6650' })
      .optional()
      .describe(
        "Pulsar broker URL (pulsar.url), e.g. pulsar://pulsar-broker.pulsar.svc:6650. Required when pathMode is MQ or AUTO. Absent: Alcor's own pulsar://localhost:6650, " +
          'which the DPM needs to start and never contacts while pathMode is GRPC.',
      ),
    unicastTopic: topicName
      .default('unicast-topic1')
      .describe("Topic for goal states to one host (pulsar.unicast.topic). Alcor's VPC mode reads it but, at commit 21f11b5c, sends per-VPC topics instead."),
    groupTopics: z
      .array(DpmGroupTopic)
      .max(256)
      .optional()
      .describe(
        'Host → group topic map (host.ip.to.group.topic.map). Alcor reads it at start (required) and, at commit 21f11b5c, uses it only in its group-node mode, ' +
          "which nothing wires. Absent: Alcor's own example map.",
      )
      .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] }),
    multicastTopics: z
      .array(DpmMulticastTopic)
      .max(256)
      .optional()
      .describe("Group topic → multicast topic map (group.topic.to.multicast.topic.map), read and used like groupTopics. Absent: Alcor's own example map.")
      .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] }),
    type: z.string().max(63).optional().describe("Retired: Alcor's DPM speaks only Pulsar and never reads mq.type. Only pulsar is accepted."),
    mode: z.string().max(63).optional().describe('Retired: mq.mode is always vpc, the only mode whose beans Alcor wires (any other value stops the DPM at start). Only vpc is accepted.'),
    multicastTopic: z.string().max(255).optional().describe('Retired: Alcor never reads pulsar.multicast.topic; multicastTopics is the map it reads. Refused unless it is the old default.'),
  }),
  'Message-queue (Pulsar) path to the host agents, used by pathMode MQ and AUTO.',
  [
    retiredRule('type', "Alcor's DPM speaks only Pulsar and never reads mq.type; remove the field", 'pulsar'),
    retiredRule('mode', 'mq.mode is always vpc, the only mode whose beans Alcor wires; remove the field', 'vpc'),
    retiredRule('multicastTopic', 'Alcor never reads pulsar.multicast.topic; set multicastTopics (group.topic.to.multicast.topic.map) instead', 'multicast-topic1'),
  ],
).prefault({});
export type DpmMessaging = z.infer<typeof DpmMessaging>;

export const DpmIgnite = withRules(
  z.object({
    ...igniteFields,
    thinClient: z
      .boolean()
      .optional()
      .describe("Retired: the thick client (false) joins Ignite's discovery at ignite.host:ignite.port, which no Service offers; the thin client is always used. Only true is accepted."),
  }),
  igniteDescription,
  [
    ...igniteRules,
    retiredRule('thinClient', "the thick client (false) joins Ignite's discovery at ignite.host:ignite.port, which no Service offers; remove the field", true),
  ],
).prefault({});
export type DpmIgnite = z.infer<typeof DpmIgnite>;

export const DpmZetaGateway = z
  .object({
    nodeMac: z
      .string()
      .max(17)
      .regex(macAddressPattern, { message: 'zetaGateway.nodeMac must be a lower-case, colon-separated MAC' })
      .describe('MAC of the Zeta gateway node (zetaGateway.node.mac).'),
    managementUrl: url.describe('Zeta management URL (microservices.zeta.management.url).'),
    checkTimeoutSeconds: z.number().int().min(1).max(3600).default(30).describe('How long to wait for a VPC\'s Zeta gateway to become ready (zetaGateway.check.timeout).'),
    checkIntervalSeconds: z.number().int().min(1).max(3600).default(2).describe('How often to look while waiting (zetaGateway.check.interval).'),
  })
  .describe(
    "Alcor's Zeta gateway: set to turn it on (zetaGateway.enabled=true). Absent: off, and the keys Alcor reads at start anyway get Alcor's own placeholders.",
  );
export type DpmZetaGateway = z.infer<typeof DpmZetaGateway>;

export const DpmVpcSizeThresholds = withRules(
  z.object({
    upper: z.number().int().min(1).default(1000).describe('VPCs with more ports than this go over MQ in AUTO mode (path.UPPER_VPC_SIZE).'),
    lower: z.number().int().min(1).default(100).describe('VPCs with fewer ports than this go over gRPC in AUTO mode (path.LOWER_VPC_SIZE).'),
  }),
  'VPC sizes at which pathMode AUTO switches between gRPC and MQ.',
  [
    {
      rule: 'self.lower <= self.upper',
      message: 'vpcSizeThresholds.lower must not exceed vpcSizeThresholds.upper',
      fieldPath: '.lower',
      check: (t) => t.lower <= t.upper,
    },
  ],
).prefault({});

const propertyKeyPattern = /^[A-Za-z0-9][A-Za-z0-9._\-[\]]*$/;

export const DataPlaneManagerSpec = withRules(
  z.object({
    replicas: z
      .number()
      .int()
      .min(1, { message: 'replicas must be at least 1' })
      .max(100)
      .default(2)
      .describe('DPM pods. Default 2, so a restart never stops programming the hosts.'),
    image: imageField.default('data_plane_manager:v1.0').describe("Image of Alcor's Data Plane Manager."),
    goalStateVersion: z
      .literal([101, 102], { message: 'goalStateVersion must be 101 or 102' })
      .default(102)
      .describe(
        "Goal-state message version the DPM sends to the host agents (protobuf.goal-state-message.version): 102 (default, Alcor's current) or 101 (the older one). It also picks which of Alcor's service and client beans run.",
      ),
    grpc: DpmGrpc,
    messaging: DpmMessaging,
    ignite: DpmIgnite,
    pathMode: z
      .enum(['GRPC', 'MQ', 'AUTO'], { message: 'pathMode must be one of GRPC, MQ, AUTO' })
      .default('GRPC')
      .describe('How DPM reaches the host agents (path.mode): GRPC (default), MQ, or AUTO by VPC size.'),
    vpcSizeThresholds: DpmVpcSizeThresholds,
    networkConfigManagerHost: hostName
      .default('netwconfigmanager-service')
      .describe(
        "Host of Alcor's network configuration manager (microservices.netwconfigmanager.service.url: a host name despite the key's name). With goalStateVersion 102 the DPM sends goal states over gRPC to its port 9016. Default: Alcor's netwconfigmanager-service.",
      ),
    nodeManagerUrl: url.optional().describe("Alcor node manager URL (microservices.node.service.url), e.g. http://nodemanager-service:9007/nodes."),
    gatewayUrl: url
      .optional()
      .describe(
        "Alcor gateway manager URL (microservices.gateway.service.url), e.g. http://gatewaymanager-service:9015/; the DPM reports Zeta gateway state there. Required with zetaGateway. Absent: Alcor's own http://localhost:9015, read at start and unused while Zeta is off.",
      ),
    zetaGateway: DpmZetaGateway.optional(),
    extraProperties: withRules(
      z.record(z.string(), z.string().max(4096)).optional(),
      'More application.properties entries, appended after the typed ones in key order (a key repeated here wins).',
      [
        {
          rule: "self.all(k, k.matches('^[A-Za-z0-9][A-Za-z0-9._\\\\-\\\\[\\\\]]*$'))",
          message: 'extraProperties keys must be property names (letters, digits, . _ - [ ])',
          check: (m) => m === undefined || Object.keys(m).every((k) => propertyKeyPattern.test(k)),
        },
      ],
    ).meta({ maxProperties: 128 }),
    resources: ResourceRequirements.optional(),
  }),
  "Desired state of a DataPlaneManager; fields mirror its application.properties, and every key Alcor's DPM needs to start is rendered.",
  [
    {
      rule: "self.pathMode == 'GRPC' || has(self.messaging.url)",
      message: 'messaging.url is required when pathMode is MQ or AUTO: goal states then go through Pulsar',
      fieldPath: '.messaging.url',
      check: (s) => s.pathMode === 'GRPC' || s.messaging.url !== undefined,
    },
    {
      rule: '!has(self.zetaGateway) || has(self.gatewayUrl)',
      message: "gatewayUrl is required with zetaGateway: the DPM reports Zeta gateway state to Alcor's gateway manager",
      fieldPath: '.gatewayUrl',
      check: (s) => s.zetaGateway === undefined || s.gatewayUrl !== undefined,
    },
  ],
);
export type DataPlaneManagerSpec = z.infer<typeof DataPlaneManagerSpec>;
export type DataPlaneManagerSpecInput = z.input<typeof DataPlaneManagerSpec>;

export const DataPlaneManagerStatus = z
  .object({
    observedGeneration: observedGenerationField,
    replicas: z.number().int().min(0).optional().describe('Pods of the current Deployment.'),
    readyReplicas: z.number().int().min(0).optional().describe('Pods ready to serve.'),
    conditions: conditionsField,
  })
  .describe('Observed state of a DataPlaneManager, rebuilt from its Deployment on every pass.');
export type DataPlaneManagerStatus = z.infer<typeof DataPlaneManagerStatus>;

export const DataPlaneManager = resourceSchema('DataPlaneManager', DataPlaneManagerSpec, DataPlaneManagerStatus).describe(
  "Alcor's Data Plane Manager.",
);
export type DataPlaneManager = z.infer<typeof DataPlaneManager>;
export type DataPlaneManagerInput = z.input<typeof DataPlaneManager>;
