// What macd 0.2.0 wrote (test/fixtures/release-0.2.0, produced by running
// 0.2.0: see its README) is read by this release, and what this release
// writes is what 0.2.0 reads: the same data files (slot bytes, snapshot,
// log records), and Lease annotations that are a superset of 0.2.0's with
// the same value formats, plus alcor.dev/format.
import { cpSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { MacdConfig } from '../../src/api/config/macd.ts';
import { DATA_DIR_MARKER, FORMAT_ANNOTATION } from '../../src/api/formats.ts';
import { MacdReport, readReport } from '../../src/api/leases.ts';
import { formatMac, parseMac } from '../../src/api/mac.ts';
import { RELEASE_VERSION } from '../../src/api/version.ts';
import { readLog } from '../../src/macd/journal.ts';
import { kubernetesLeaseApi, type BlockLease } from '../../src/macd/leases.ts';
import { BlockCoordinator } from '../../src/macd/replicas.ts';
import { startMacd } from '../../src/macd/server.ts';
import { MacStore } from '../../src/macd/store.ts';
import type { KubeClient } from '../../src/runtime/client.ts';
import type { Lease } from '../../src/runtime/lease.ts';
import { markerText } from '../../src/process/data-dir-format.ts';
import { FakeLeases } from './fake-leases.ts';
import { call, quietLog, tempDir } from './helpers.ts';

const FIXTURES = new URL('../fixtures/release-0.2.0/', import.meta.url).pathname;
const fixture = (name: string): string => join(FIXTURES, name);
const lease = (name: string): Lease => JSON.parse(readFileSync(fixture(name), 'utf8')) as Lease;
const blockLease = lease('macd-block-lease.json');
const reportLease = lease('macd-report-lease.json');
const config = MacdConfig.parse(parse(readFileSync(fixture('macd.yaml'), 'utf8')));
const BASE = parseMac('aa:bb:cc:00:00:00')!;
const BLOCK = { from: BASE, to: BASE + 65_535 };

/** What 0.2.0 was asked (make.sh): MAC (offset from BASE) → its state afterwards; null: released. */
const expected: [number, { portId: string; projectId: string; vpcId: string; state: string } | null][] = [
  [0, { portId: 'port-1', projectId: 'proj-a', vpcId: 'vpc-a', state: 'Active' }],
  [1, { portId: 'port-2-moved', projectId: 'proj-a', vpcId: 'vpc-a', state: 'Inactive' }],
  [2, null],
  [3, null],
  [4, { portId: 'port-5', projectId: 'proj-a', vpcId: 'vpc-a', state: 'Active' }],
  [5, { portId: 'port-6', projectId: 'proj-a', vpcId: 'vpc-a', state: 'Active' }],
  [6, { portId: 'port-7', projectId: 'proj-a', vpcId: 'vpc-a', state: 'Active' }],
  [7, { portId: 'port-8', projectId: 'proj-a', vpcId: 'vpc-a', state: 'Active' }],
  [0x10, { portId: 'port-specific', projectId: 'proj-b', vpcId: 'vpc-b', state: 'Active' }],
];

/** A copy of 0.2.0's data directory (opening it writes). */
function copyOfDataDir(): string {
  const dir = join(tempDir('macd-020-'), 'data');
  cpSync(fixture('macd-data'), dir, { recursive: true });
  return dir;
}

const open = (dataDir: string) => MacStore.open({ dataDir, log: quietLog, coordinated: true, onFatal: (e) => { throw e; } });

/** A KubeClient that serves `leases` and records what is written (enough for kubernetesLeaseApi). */
function recordingClient(leases: Lease[]): { client: KubeClient; created: Lease[]; patched: { path: string; patch: { metadata: { annotations: Record<string, string> } } }[] } {
  const created: Lease[] = [];
  const patched: { path: string; patch: { metadata: { annotations: Record<string, string> } } }[] = [];
  const client = {
    get: async () => ({ metadata: { resourceVersion: '1' }, items: leases }),
    create: async (_path: string, obj: Lease) => void created.push(obj),
    mergePatch: async (path: string, patch: { metadata: { annotations: Record<string, string> } }) => void patched.push({ path, patch }),
  };
  return { client: client as unknown as KubeClient, created, patched };
}

/** The format of an annotation value as 0.2.0 writes it. */
function shape(value: string): string {
  if (parseMac(value) !== undefined) return 'mac';
  if (/^(0|[1-9][0-9]*)$/.test(value)) return 'integer';
  if (/^https?:\/\//.test(value)) return 'url';
  const parsed: unknown = JSON.parse(value);
  return `json ${Array.isArray(parsed) ? 'array' : typeof parsed}`;
}

describe('macd: what 0.2.0 wrote', () => {
  it('reads its data directory: every MAC with its ids and state, the released ones free, the held block, the cursor', async () => {
    const dir = copyOfDataDir();
    const store = await open(dir);
    await store.applyConfig(config);
    for (const [offset, meta] of expected) {
      const got = store.find(BASE + offset);
      if (meta === null) expect(got, formatMac(BASE + offset)).toBeNull();
      else expect(got?.meta, formatMac(BASE + offset)).toEqual(meta);
    }
    expect(store.allocator.space.allocated).toBe(7);
    expect(store.held).toEqual([BLOCK]);
    // The next free MAC after the cursor 0.2.0 left.
    const [next] = await store.allocate([{ mac: null, meta: { portId: 'port-9', projectId: null, vpcId: null, state: 'Active' } }]);
    expect(formatMac(next!.mac)).toBe('aa:bb:cc:00:00:08');
    await store.close();
  });

  it('reads its Leases: the block with its counts, the report as a report', async () => {
    const { client } = recordingClient([blockLease, reportLease]);
    const api = kubernetesLeaseApi(client, config.coordination.mode === 'kubernetes' ? config.coordination.pool : { name: '', namespace: '', uid: '' });
    expect(await api.list()).toEqual({
      blocks: [{ name: 'pool-block-aabbcc000000', ...BLOCK, holder: 'pool-macd-0', endpoint: 'http://pool-macd-0.pool-macd.fixtures.svc:9005', allocated: 7, byRange: { range0: 7 } }],
      unreadable: [],
    });
    expect(readReport(MacdReport, reportLease.metadata.annotations)).toEqual({ allocated: 7, capacity: 4096, generation: 1, refused: [] });
  });

  it('a replica of this release takes over the volume and the Leases of the 0.2.0 replica it replaces', async () => {
    const api = new FakeLeases();
    for (const l of [blockLease, reportLease]) api.raw.set(l.metadata.name, { holder: l.spec?.holderIdentity ?? '', annotations: { ...l.metadata.annotations } });
    const root = tempDir('macd-020-');
    const dataDir = join(root, 'data');
    cpSync(fixture('macd-data'), dataDir, { recursive: true });
    // The config 0.2.0 ran with.
    const configFile = join(root, 'macd.yaml');
    cpSync(fixture('macd.yaml'), configFile);
    const m = await startMacd({
      host: '127.0.0.1',
      port: 0,
      dataDir,
      configFile,
      log: quietLog,
      podUid: 'uid-0',
      coordinate: async (store, _c, port, report) => {
        const c = new BlockCoordinator({ store, api, pool: 'pool', replica: 'pool-macd-0', endpoint: `http://127.0.0.1:${port.port}`, log: quietLog, publishMs: 60_000, report });
        await c.start();
        return { ownerOf: (mac) => c.ownerOf(mac), close: () => c.close() };
      },
    });
    try {
      const url = `http://127.0.0.1:${m.port}`;
      expect((await call(url, 'GET', '/macs/aa:bb:cc:00:00:10')).body['mac_state']).toEqual({ mac_address: 'aa:bb:cc:00:00:10', project_id: 'proj-b', vpc_id: 'vpc-b', port_id: 'port-specific', state: 'Active' });
      expect((await call(url, 'POST', '/macs', { mac_state: { project_id: 'p', vpc_id: 'v', port_id: 'new' } })).body['mac_state']).toMatchObject({ mac_address: 'aa:bb:cc:00:00:08' });
      // Its own block again (its new endpoint on the 0.2.0 Lease); no block claimed besides.
      expect(api.raw.get('pool-block-aabbcc000000')?.annotations['alcor.dev/endpoint']).toBe(url);
      expect(api.items.size).toBe(0);
      expect(MacdReport.parse(JSON.parse(api.reports.get('pool-macd-0')!.at(-1)!))).toEqual({ generation: 1, refused: [], capacity: 4096, allocated: 7, version: RELEASE_VERSION, pod: 'uid-0' });
      expect(readFileSync(join(dataDir, DATA_DIR_MARKER), 'utf8')).toBe(markerText('macd'));
    } finally {
      await m.close();
    }
  });
});

describe('macd: what this release writes is what 0.2.0 reads', () => {
  it('the same data files for the same requests: slot bytes, snapshot, log records (format 1)', async () => {
    const dir = tempDir('macd-030-');
    const meta = (portId: string, projectId = 'proj-a', vpcId = 'vpc-a', state = 'Active') => ({ portId, projectId, vpcId, state });
    // make.sh's requests, to this release's store.
    let store = await open(dir);
    await store.applyConfig(config);
    await store.setHeld([BLOCK]);
    await store.allocate(['port-1', 'port-2', 'port-3', 'port-4', 'port-5'].map((p) => ({ mac: null, meta: meta(p) })));
    await store.allocate([{ mac: BASE + 0x10, meta: meta('port-specific', 'proj-b', 'vpc-b') }]);
    await store.update(BASE + 1, meta('port-2-moved', 'proj-a', 'vpc-a', 'Inactive'));
    await store.release([BASE + 2]);
    await store.close({ snapshot: true });
    store = await open(dir);
    await store.applyConfig(config);
    await store.setHeld([BLOCK]);
    await store.allocate(['port-6', 'port-7', 'port-8'].map((p) => ({ mac: null, meta: meta(p) })));
    await store.release([BASE + 3]);
    await store.close();

    const bytes = (d: string, f: string) => readFileSync(join(d, f));
    const old = fixture('macd-data');
    expect(readdirSync(dir).sort()).toEqual(readdirSync(old).sort());
    expect(bytes(dir, 'slots-aabbcc000000.bin').equals(bytes(old, 'slots-aabbcc000000.bin'))).toBe(true);
    expect(bytes(dir, 'snapshot.bin').equals(bytes(old, 'snapshot.bin'))).toBe(true);
    const records = (d: string) => readdirSync(d).filter((f) => f.startsWith('log-')).sort().map((f) => readLog(join(d, f), false).records.map((r) => JSON.parse(r.toString()) as unknown));
    expect(records(dir)).toEqual(records(old));
  });

  it('Leases: annotations, labels, owner and spec a superset of 0.2.0’s with the same value formats, plus alcor.dev/format 1', async () => {
    const { client, created, patched } = recordingClient([]);
    const pool = { name: 'pool', namespace: 'fixtures', uid: blockLease.metadata.ownerReferences![0]!.uid };
    const api = kubernetesLeaseApi(client, pool);
    const block: BlockLease = { name: 'pool-block-aabbcc000000', ...BLOCK, holder: 'pool-macd-0', endpoint: 'http://pool-macd-0.pool-macd.fixtures.svc:9005', allocated: 7, byRange: { range0: 7 } };
    expect(await api.create(block)).toBe('created');
    await api.putReport('pool-macd-0', JSON.stringify({ allocated: 7, capacity: 4096, generation: 1, refused: [], version: RELEASE_VERSION }));

    const compare = (ours: { annotations?: Record<string, string> } | undefined, theirs: Lease['metadata']) => {
      const mine = ours?.annotations ?? {};
      for (const [key, value] of Object.entries(theirs.annotations ?? {})) expect([key, shape(mine[key] ?? 'absent')]).toEqual([key, shape(value)]);
      expect(mine[FORMAT_ANNOTATION]).toBe('1');
    };
    const made = created[0]!;
    compare(made.metadata, blockLease.metadata);
    expect(Object.fromEntries(Object.entries(made.metadata.annotations ?? {}).filter(([k]) => k !== FORMAT_ANNOTATION))).toEqual(blockLease.metadata.annotations);
    expect({ ...made.metadata, annotations: {} }).toEqual({ ...blockLease.metadata, annotations: {} });
    expect(Object.keys(made.spec ?? {}).sort()).toEqual(Object.keys(blockLease.spec ?? {}).sort());
    expect(made.spec?.holderIdentity).toBe(blockLease.spec?.holderIdentity);

    // The report: a merge patch on its Lease, the report's keys a superset of 0.2.0's, each of the same type.
    const report = patched.find((p) => p.path.endsWith('/leases/pool-macd-0'))!.patch.metadata;
    compare(report, reportLease.metadata);
    const theirs = JSON.parse(reportLease.metadata.annotations!['alcor.dev/served']!) as Record<string, unknown>;
    const ours = JSON.parse(report.annotations['alcor.dev/served']!) as Record<string, unknown>;
    for (const key of Object.keys(theirs)) expect([key, typeof ours[key], Array.isArray(ours[key])]).toEqual([key, typeof theirs[key], Array.isArray(theirs[key])]);
  });
});
