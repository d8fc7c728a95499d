import type { DataPlaneManager } from '../../api/index.ts';
import { toProperties } from '../properties.ts';

// DPM's application.properties: the keys of Alcor's
// kubernetes/services/dpm_manager.yaml, from the typed spec, then
// extraProperties in key order (a repeated key there wins: Properties keeps
// the last one).

export const REST_PORT = 8080;

export function dpmProperties(dpm: DataPlaneManager): string {
  const s = dpm.spec;
  const m = s.messaging;
  const entries: [string, string | number | boolean][] = [
    ['server.port', REST_PORT],
    ['dataplane.grpc.port', s.grpc.port],
    ['dataplane.grpc.topic-port', s.grpc.topicPort],
    ['dataplane.isovs', true],
    ['grpc.min-threads', s.grpc.minThreads],
    ['grpc.max-threads', s.grpc.maxThreads],
    ['grpc.number-of-channels-per-host', s.grpc.channelsPerHost],
    ['ignite.host', s.ignite.host],
    ['ignite.port', s.ignite.port],
    ['ignite.thin.client.enable', s.ignite.thinClient],
    ['mq.type', m.type],
    ['mq.mode', m.mode],
  ];
  // The broker keys are named after the queue type (pulsar.url, rocketmq.url, ...).
  if (m.url !== undefined) entries.push([`${m.type}.url`, m.url]);
  entries.push([`${m.type}.unicast.topic`, m.unicastTopic], [`${m.type}.multicast.topic`, m.multicastTopic]);
  if (s.nodeManagerUrl !== undefined) entries.push(['microservices.node.service.url', s.nodeManagerUrl]);
  if (s.gatewayUrl !== undefined) entries.push(['microservices.gateway.service.url', s.gatewayUrl]);
  entries.push(
    ['path.mode', s.pathMode],
    ['path.UPPER_VPC_SIZE', s.vpcSizeThresholds.upper],
    ['path.LOWER_VPC_SIZE', s.vpcSizeThresholds.lower],
  );
  const extra = s.extraProperties ?? {};
  for (const key of Object.keys(extra).sort()) entries.push([key, extra[key]!]);
  return toProperties(entries, `DataPlaneManager ${dpm.metadata.name}: rendered by alcor-operator`);
}
