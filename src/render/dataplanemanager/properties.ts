import type { DataPlaneManager } from '../../api/index.ts';
import { namespaceOf } from '../common.ts';
import { alcorIgniteEntries, springBootEntries, type PropertyEntry } from '../alcor.ts';
import { toProperties } from '../properties.ts';

// DPM's application.properties: every key Alcor's DPM reads without a default
// (see test/render/alcor-keys.yaml, taken from its source), from the typed
// spec or, where the spec leaves it out, Alcor's own value from its
// kubernetes/services/dpm_manager.yaml; then extraProperties in key order (a
// repeated key there wins: Properties keeps the last one).

export const REST_PORT = 8080;

/** Alcor's own values for keys it needs at start even when the feature behind them is off. */
export const DPM_PLACEHOLDERS = {
  pulsarUrl: 'pulsar://localhost:6650',
  hostToGroupTopics: 'group-topic1:192.168.131.131,10.10.10.11 group-topic2:192.168.131.131,11.11.11.12',
  groupToMulticastTopics: 'multicast-topic1:group-topic1,group-topic3 multicast-topic2:group-topic2,group-topic4',
  monitorHosts: '0.0.0.0,0.0.0.1',
  gatewayUrl: 'http://localhost:9015',
  zetaNodeMac: 'e0:97:96:02:45:53',
  zetaManagementUrl: 'http://10.213.43.90',
  zetaCheckTimeoutSeconds: 30,
  zetaCheckIntervalSeconds: 2,
} as const;

export function dpmProperties(dpm: DataPlaneManager): string {
  const s = dpm.spec;
  const m = s.messaging;
  const zeta = s.zetaGateway;
  const p = DPM_PLACEHOLDERS;
  const entries: PropertyEntry[] = [
    ...springBootEntries(REST_PORT),
    ['protobuf.goal-state-message.version', s.goalStateVersion],
    ['dataplane.grpc.port', s.grpc.port],
    ['dataplane.grpc.topic-port', s.grpc.topicPort],
    // Alcor's value; its DPM reads it at start and uses the OVS goal-state path.
    ['dataplane.isovs', true],
    ['grpc.min-threads', s.grpc.minThreads],
    ['grpc.max-threads', s.grpc.maxThreads],
    ['grpc.number-of-channels-per-host', s.grpc.channelsPerHost],
    ['grpc.monitor-hosts', s.grpc.monitorHosts?.join(',') ?? p.monitorHosts],
    ['microservices.netwconfigmanager.service.url', s.networkConfigManagerHost],
    ...alcorIgniteEntries(s.ignite, namespaceOf(dpm)),
    // vpc: the only mode whose beans Alcor wires (its Pulsar client and topic manager).
    ['mq.mode', 'vpc'],
    ['pulsar.url', m.url ?? p.pulsarUrl],
    ['pulsar.unicast.topic', m.unicastTopic],
    ['host.ip.to.group.topic.map', m.groupTopics ? m.groupTopics.map((g) => `${g.name}:${g.hosts.join(',')}`).join(' ') : p.hostToGroupTopics],
    [
      'group.topic.to.multicast.topic.map',
      m.multicastTopics ? m.multicastTopics.map((t) => `${t.name}:${t.groupTopics.join(',')}`).join(' ') : p.groupToMulticastTopics,
    ],
    ['path.mode', s.pathMode],
    ['path.UPPER_VPC_SIZE', s.vpcSizeThresholds.upper],
    ['path.LOWER_VPC_SIZE', s.vpcSizeThresholds.lower],
  ];
  if (s.nodeManagerUrl !== undefined) entries.push(['microservices.node.service.url', s.nodeManagerUrl]);
  entries.push(
    ['microservices.gateway.service.url', s.gatewayUrl ?? p.gatewayUrl],
    ['zetaGateway.enabled', zeta !== undefined],
    ['zetaGateway.node.mac', zeta?.nodeMac ?? p.zetaNodeMac],
    ['microservices.zeta.management.url', zeta?.managementUrl ?? p.zetaManagementUrl],
    ['zetaGateway.check.timeout', zeta?.checkTimeoutSeconds ?? p.zetaCheckTimeoutSeconds],
    ['zetaGateway.check.interval', zeta?.checkIntervalSeconds ?? p.zetaCheckIntervalSeconds],
  );
  const extra = s.extraProperties ?? {};
  for (const key of Object.keys(extra).sort()) entries.push([key, extra[key]!]);
  return toProperties(entries, `DataPlaneManager ${dpm.metadata.name}: rendered by alcor-operator`);
}
