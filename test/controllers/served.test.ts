import { describe, expect, it } from 'vitest';
import { DhcpdReport, MAC_POOL_LABEL, MacdReport, SERVED_ANNOTATION, reportText } from '../../src/api/leases.ts';
import { reportsOf, servedVerdict } from '../../src/controllers/served.ts';
import type { KubeObject } from '../../src/runtime/client.ts';

const report = (generation: number, refused: string[] = [], capacity = 100, allocated = 0): MacdReport => ({ generation, refused, capacity, allocated });
const lease = (name: string, annotations: Record<string, string>, pool = 'pool', namespace = 'ns'): KubeObject => ({
  apiVersion: 'coordination.k8s.io/v1',
  kind: 'Lease',
  metadata: { name, namespace, labels: { [MAC_POOL_LABEL]: pool }, annotations },
});

describe('reportsOf', () => {
  it('reads the reports of one resource, passing over other pools, namespaces, block Leases and garbage', () => {
    const leases = [
      lease('pool-macd-0', { [SERVED_ANNOTATION]: reportText(report(2)) }),
      lease('pool-macd-1', { [SERVED_ANNOTATION]: '{"generation": "two"}' }),
      lease('pool-block-range0-3', { 'alcor.dev/allocated': '5' }),
      lease('other-macd-0', { [SERVED_ANNOTATION]: reportText(report(2)) }, 'other'),
      lease('pool-macd-0', { [SERVED_ANNOTATION]: reportText(report(9)) }, 'pool', 'elsewhere'),
      lease('pool-macd-2', { [SERVED_ANNOTATION]: 'not json' }),
    ];
    const got = reportsOf(MacdReport, leases, { namespace: 'ns', name: 'pool' }, MAC_POOL_LABEL);
    expect([...got]).toEqual([['pool-macd-0', report(2)]]);
    // A dhcpd report is not a macd one.
    expect(reportsOf(DhcpdReport, leases, { namespace: 'ns', name: 'pool' }, MAC_POOL_LABEL).size).toBe(0);
  });
});

describe('servedVerdict', () => {
  const names = { names: ['pool-macd-0', 'pool-macd-1'] };

  it('says nothing when every replica serves the current generation whole', () => {
    expect(servedVerdict(new Map([['pool-macd-0', report(3)], ['pool-macd-1', report(3)]]), names, 3)).toEqual({});
  });

  it('names the replicas that have not reported the current generation, or not at all', () => {
    expect(servedVerdict(new Map([['pool-macd-0', report(3)], ['pool-macd-1', report(2)]]), names, 3)).toEqual({ pending: 'waiting for pool-macd-1 to report serving generation 3' });
    expect(servedVerdict(new Map(), names, 1)).toEqual({ pending: 'waiting for pool-macd-0, pool-macd-1 to report serving generation 1' });
  });

  it("gives each refusal once, in the servers' words, with the replicas that refuse it", () => {
    const part = 'ranges[0] (huge): not served: it holds 1099511627776 addresses; at most 16777216 per range';
    const got = servedVerdict(new Map([['pool-macd-0', report(3, [part])], ['pool-macd-1', report(3, [part, 'config: bad'])]]), names, 3);
    expect(got).toEqual({ refused: `pool-macd-0, pool-macd-1: ${part}; pool-macd-1: config: bad` });
  });

  it('passes over replicas scaled away', () => {
    const got = servedVerdict(new Map([['pool-macd-0', report(3)], ['pool-macd-1', report(3)], ['pool-macd-2', report(1, ['old'])]]), names, 3);
    expect(got).toEqual({});
  });

  it('counts servers when only their number is known (a DaemonSet)', () => {
    const reports = new Map([['net-dhcpd-node-a', report(4)], ['net-dhcpd-node-b', report(3)]]);
    expect(servedVerdict(reports, { count: 2 }, 4)).toEqual({ pending: '1 of 2 servers report serving generation 4' });
    expect(servedVerdict(reports, { count: 1 }, 4)).toEqual({});
  });
});
