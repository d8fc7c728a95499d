// vitest global setup of the e2e project: starts a fresh local cluster
// (e2e/cluster), or uses the cluster named by E2E_KUBECONFIG (kind, or any
// existing cluster; kubectl then comes from E2E_BIN_DIR or PATH).
import type { TestProject } from 'vitest/node';
import { execFileSync } from 'node:child_process';
import { dirname } from 'node:path';
import { startCluster, type Cluster } from './cluster/cluster.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Path of an admin kubeconfig. */
    kubeconfig: string;
    /** Directory holding kubectl (and, for the local cluster, helm and the control-plane binaries). */
    binDir: string;
    /** True when the suite runs on the local process cluster (kwok nodes). */
    localCluster: boolean;
  }
}

let cluster: Cluster | undefined;

export async function setup(project: TestProject): Promise<void> {
  const external = process.env['E2E_KUBECONFIG'];
  if (external) {
    const binDir = process.env['E2E_BIN_DIR'] ?? dirname(execFileSync('sh', ['-c', 'command -v kubectl'], { encoding: 'utf8' }).trim());
    project.provide('kubeconfig', external);
    project.provide('binDir', binDir);
    project.provide('localCluster', false);
    return;
  }
  cluster = await startCluster({ log: (l) => process.stderr.write(l + '\n') });
  project.provide('kubeconfig', cluster.kubeconfig);
  project.provide('binDir', cluster.binDir);
  project.provide('localCluster', true);
}

export async function teardown(): Promise<void> {
  await cluster?.stop();
}
