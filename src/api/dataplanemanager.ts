import { z } from 'zod';
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

const url = z.string().min(1).max(512).regex(/^[a-z][a-z0-9+.-]*:\/\/\S+$/, { message: 'must be a URL such as http://host:port' });

export const DpmGrpc = withRules(
  z.object({
    port: portField.default(50001).describe('gRPC port the host agents call (dataplane.grpc.port).'),
    topicPort: portField.default(50002).describe('gRPC topic port (dataplane.grpc.topic-port).'),
    minThreads: z.number().int().min(1).max(10000).default(100).describe('Smallest gRPC thread pool (grpc.min-threads).'),
    maxThreads: z.number().int().min(1).max(10000).default(200).describe('Largest gRPC thread pool (grpc.max-threads).'),
    channelsPerHost: z.number().int().min(1).max(64).default(1).describe('gRPC channels per host agent (grpc.number-of-channels-per-host).'),
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

export const DpmMessaging = z
  .object({
    type: z.enum(['pulsar', 'rocketmq']).default('pulsar').describe('Message queue (mq.type): pulsar (default) or rocketmq.'),
    url: url.optional().describe('Broker URL, e.g. pulsar://pulsar-broker:6650 (pulsar.url).'),
    unicastTopic: z.string().min(1).max(255).default('unicast-topic1').describe('Topic for messages to one host (pulsar.unicast.topic).'),
    multicastTopic: z.string().min(1).max(255).default('multicast-topic1').describe('Topic for messages to many hosts (pulsar.multicast.topic).'),
    mode: z.string().min(1).max(63).default('vpc').describe('How topics are assigned (mq.mode), vpc by default.'),
  })
  .prefault({})
  .describe('Message-queue path to the host agents (used by pathMode MQ and AUTO).');
export type DpmMessaging = z.infer<typeof DpmMessaging>;

export const DpmIgnite = z
  .object({
    host: z.string().min(1).max(253).describe('Host of the Apache Ignite cluster (ignite.host).'),
    port: portField.default(10800).describe('Ignite thin-client port (ignite.port).'),
    thinClient: z.boolean().default(true).describe('Use the Ignite thin client (ignite.thin.client.enable).'),
  })
  .describe('Apache Ignite, where DPM keeps its caches.');
export type DpmIgnite = z.infer<typeof DpmIgnite>;

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

export const DataPlaneManagerSpec = z
  .object({
    replicas: z
      .number()
      .int()
      .min(1, { message: 'replicas must be at least 1' })
      .max(100)
      .default(2)
      .describe('DPM pods. Default 2, so a restart never stops programming the hosts.'),
    image: imageField.default('data_plane_manager:v1.0').describe("Image of Alcor's Data Plane Manager."),
    grpc: DpmGrpc,
    messaging: DpmMessaging,
    ignite: DpmIgnite,
    pathMode: z
      .enum(['GRPC', 'MQ', 'AUTO'], { message: 'pathMode must be one of GRPC, MQ, AUTO' })
      .default('GRPC')
      .describe('How DPM reaches the host agents (path.mode): GRPC (default), MQ, or AUTO by VPC size.'),
    vpcSizeThresholds: DpmVpcSizeThresholds,
    nodeManagerUrl: url.optional().describe("Alcor node manager URL (microservices.node.service.url), e.g. http://nodemanager-service:9007."),
    gatewayUrl: url.optional().describe('Alcor gateway manager URL (microservices.gateway.service.url), e.g. http://gatewaymanager-service:9015.'),
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
  })
  .describe('Desired state of a DataPlaneManager; fields mirror its application.properties.');
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
