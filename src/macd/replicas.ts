import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { MacdConfig } from '../api/config/macd.ts';
import type { MacStore } from './store.ts';

export interface ReplicaOptions {
  store: MacStore;
  config: MacdConfig;
  kubeConfig: KubeConfig;
  replica: string;
  endpoint: string;
  log: Logger;
}

export async function startReplica(_opts: ReplicaOptions): Promise<{ ownerOf(mac: number): string | null; onConfig(c: MacdConfig): Promise<void>; close(): Promise<void> }> {
  throw new Error('coordination.mode kubernetes is not implemented yet');
}
