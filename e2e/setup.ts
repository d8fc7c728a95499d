// vitest global setup of the e2e project: starts a fresh local cluster
// (e2e/cluster), or uses the cluster named by E2E_KUBECONFIG (kind, or any
// existing cluster; kubectl then comes from E2E_BIN_DIR or PATH).
import type { TestProject } from 'vitest/node';
import { execFileSync } from 'node:child_process';
import { dirname } from 'node:path';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startCluster, type Cluster } from './cluster/cluster.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Path of an admin kubeconfig. */
    kubeconfig: string;
    /** Directory holding kubectl (and, for the local cluster, helm and the control-plane binaries). */
    binDir: string;
    /** True when the suite runs on the local process cluster (kwok nodes). */
    localCluster: boolean;
    /**
     * Local cluster only: base URL of a loopback control endpoint for fault
     * tests (POST /restart-apiserver[?compact=1]); '' on other clusters.
     */
    clusterControl: string;
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
    project.provide('clusterControl', '');
    return;
  }
  cluster = await startCluster({ log: (l) => process.stderr.write(l + '\n') });
  project.provide('kubeconfig', cluster.kubeconfig);
  project.provide('binDir', cluster.binDir);
  project.provide('localCluster', true);
  control = await startControlServer(cluster);
  const addr = control.address() as AddressInfo;
  project.provide('clusterControl', `http://127.0.0.1:${addr.port}`);
}

let control: Server | undefined;

/** Test workers run in other processes: they reach the cluster object through this. */
function startControlServer(c: Cluster): Promise<Server> {
  const srv = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'POST' && url.pathname === '/restart-apiserver') {
      c.restartApiServer({ compact: url.searchParams.get('compact') === '1' }).then(
        () => res.writeHead(200).end('restarted'),
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
      return;
    }
    res.writeHead(404).end();
  });
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve(srv)));
}

export async function teardown(): Promise<void> {
  control?.close();
  await cluster?.stop();
}
