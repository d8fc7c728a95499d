// The operator's metrics and probe ports (src/process/probes.ts on the shared
// limit layer) under the fuzz suite of test/fuzz: a real `alcor-operator run`
// against the suite's cluster, random methods, paths, headers, framings and
// bodies, fixed seed and budget; never a 5xx (its /readyz ready), alive, RSS
// bounded.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatReport, fuzz } from '../test/fuzz/run.ts';
import { probeTarget, type Target } from '../test/fuzz/targets.ts';
import { join } from 'node:path';
import { eventually, kubectlOk, waitEstablished } from './kubectl.ts';
import { startOperator, type OperatorProcess } from './operator.ts';

let op: OperatorProcess;
const alive = (): boolean => op.child.exitCode === null && op.child.signalCode === null;

beforeAll(async () => {
  // Ready once its caches of the kinds are synced: the CRDs must exist.
  await kubectlOk(['apply', '--server-side', '--force-conflicts', '-f', join(import.meta.dirname, '..', 'crds')]);
  await waitEstablished(['macpools.alcor.dev', 'dhcpsubnets.alcor.dev', 'dataplanemanagers.alcor.dev', 'dhcpreservations.alcor.dev']);
  op = await startOperator({ name: 'fuzz' });
  await eventually('operator ready', async () => ((await op.ready()) ? true : undefined), 60_000);
});
afterAll(async () => {
  await op?.stop();
});

describe('fuzz: the operator metrics and probe ports', () => {
  for (const port of ['metrics', 'probe'] as const) {
    it(`${port} port: never a 5xx, alive, RSS bounded`, async () => {
      const t: Target = probeTarget(`operator ${port} port`, port === 'metrics' ? op.metricsPort : op.probePort, op.child.pid!, alive, async () => {});
      const r = await fuzz(t, { seed: 19, runs: 300, rssBoundMiB: 64 });
      process.stdout.write(`${formatReport(r)}\n`);
      expect(r.failure).toBeNull();
      expect(r.serverErrors).toBe(0);
    });
  }
});
