// What dhcpd 0.2.0 wrote (test/fixtures/release-0.2.0, produced by running
// 0.2.0: see its README) is read by this release, and what this release
// writes is what 0.2.0 reads: lease log lines of the same text, a report
// Lease whose annotations and reports are a superset of 0.2.0's.
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DhcpdConfig } from '../../src/api/config/dhcpd.ts';
import { DATA_DIR_MARKER } from '../../src/api/formats.ts';
import { formatIPv4, ipv4ToNumber } from '../../src/api/ipv4.ts';
import { ConflictReport, DHCP_CONFLICTS_ANNOTATION, DHCP_RESERVATIONS_ANNOTATION, DhcpdReport, ReservationReport, SERVED_ANNOTATION, readReport, reportText } from '../../src/api/leases.ts';
import { RELEASE_VERSION } from '../../src/api/version.ts';
import { DhcpCore } from '../../src/dhcpd/core.ts';
import { startDaemon } from '../../src/dhcpd/daemon.ts';
import { LeaseLog } from '../../src/dhcpd/lease-log.ts';
import { dhcpdReport } from '../../src/dhcpd/status-lease.ts';
import { conflictReport, reservationReport } from '../../src/dhcpd/status-report.ts';
import { markerText } from '../../src/process/data-dir-format.ts';
import { createLogger } from '../../src/process/log.ts';
import type { Lease } from '../../src/runtime/lease.ts';
import { tempDir } from '../macd/helpers.ts';

const FIXTURES = new URL('../fixtures/release-0.2.0/', import.meta.url).pathname;
const fixture = (name: string): string => join(FIXTURES, name);
const reportLease = JSON.parse(readFileSync(fixture('dhcpd-report-lease.json'), 'utf8')) as Lease;
const annotations = reportLease.metadata.annotations ?? {};
const config = DhcpdConfig.parse(JSON.parse(readFileSync(fixture('dhcpd.json'), 'utf8')));
const log = createLogger('dhcpd-test', 'silent');
const EXPIRES = Date.parse('2035-01-01T00:00:00.000Z');

function copyOfDataDir(): string {
  const dir = join(tempDir('dhcpd-020-'), 'data');
  cpSync(fixture('dhcpd-data'), dir, { recursive: true });
  return dir;
}

/** The fixture's lease log read by this release, and a core restored from it as of `now` (the time 0.2.0 released 10.72.0.13). */
async function restored(): Promise<{ core: DhcpCore; now: number }> {
  const opened = await LeaseLog.open({ dir: copyOfDataDir(), snapshot: () => [] });
  await opened.log.close();
  const now = opened.records.find((r) => r.op === 'release')!.expires;
  const core = new DhcpCore(config, { share: 0 });
  for (const r of opened.records) core.restore(r, now);
  return { core, now };
}

describe('dhcpd: what 0.2.0 wrote', () => {
  it('reads its lease log: the bound leases with their expiry, the released one gone, the declined address quarantined', async () => {
    const { core, now } = await restored();
    const leases = [...core.leases.byIp.values()].map((l) => ({ ip: formatIPv4(l.ip), state: l.state, client: l.client, mac: l.mac, expires: l.expires, hostname: l.hostname, conflict: l.conflict }));
    expect(leases.sort((a, b) => a.ip.localeCompare(b.ip))).toEqual([
      { ip: '10.72.0.11', state: 'bound', client: 'hw:1:525400000011', mac: '525400000011', expires: EXPIRES, hostname: 'vm11', conflict: undefined },
      { ip: '10.72.0.12', state: 'quarantined', client: '', mac: '525400000012', expires: expect.any(Number), hostname: undefined, conflict: 'decline' },
      { ip: '10.72.0.14', state: 'bound', client: 'hw:1:525400000014', mac: '525400000014', expires: EXPIRES, hostname: 'vm14', conflict: undefined },
    ]);
    // Quarantined for the config's quarantineTime (a year) from the DECLINE, a moment after the release.
    const quarantined = core.leases.get(ipv4ToNumber('10.72.0.12'))!;
    expect(quarantined.expires - now).toBeGreaterThan(365 * 86_400_000 - 60_000);
    expect(quarantined.expires - now).toBeLessThanOrEqual(365 * 86_400_000 + 60_000);
  });

  it('reads its report Lease: served, conflicts, reservations', () => {
    expect(readReport(DhcpdReport, annotations)).toEqual({ generation: 2, refused: [], share: 0, shares: 1, subnets: { net: { capacity: 41, leased: 2 } } });
    expect(readReport(ConflictReport, annotations, DHCP_CONFLICTS_ANNOTATION)).toMatchObject({ net: { quarantined: 1, recent: 1, windowSeconds: 600, addresses: [{ ip: '10.72.0.12', reason: 'decline' }] } });
    expect(readReport(ReservationReport, annotations, DHCP_RESERVATIONS_ANNOTATION)).toEqual({});
  });

  it('a server of this release opens its data directory, writes its marker, and rewrites the log as lines 0.2.0 wrote', async () => {
    const dir = copyOfDataDir();
    const d = await startDaemon({ configPath: fixture('dhcpd.json'), dataDir: dir, share: 0, listenAddress: '127.0.0.1', listenPort: 0, offerHoldSeconds: 30, logger: log });
    await d.close();
    expect(readFileSync(join(dir, DATA_DIR_MARKER), 'utf8')).toBe(markerText('dhcpd'));
    // Compacted at start: the live leases, each line as 0.2.0 wrote it.
    const lines = (path: string) => readFileSync(path, 'utf8').split('\n').filter((l) => l !== '');
    const rewritten = lines(join(dir, 'leases.log'));
    expect(rewritten.length).toBeGreaterThan(0);
    for (const line of rewritten) expect(lines(fixture('dhcpd-data/leases.log'))).toContain(line);
  });
});

describe('dhcpd: what this release writes is what 0.2.0 reads', () => {
  it('the same reports for the same leases, plus version and pod', async () => {
    const { core, now } = await restored();
    const served = JSON.parse(reportText(dhcpdReport(core, { generation: 2, refused: [] }, 0, now, 'uid-0'))) as Record<string, unknown>;
    const theirs = JSON.parse(annotations[SERVED_ANNOTATION]!) as Record<string, unknown>;
    expect(served).toEqual({ ...theirs, version: RELEASE_VERSION, pod: 'uid-0' });
    // The conflicts report as 0.2.0 wrote it, but for `recent`: conflicts seen since the process started.
    const ours = JSON.parse(reportText(conflictReport(core, now, undefined))) as ConflictReport;
    const written = JSON.parse(annotations[DHCP_CONFLICTS_ANNOTATION]!) as ConflictReport;
    expect({ net: { ...ours['net']!, recent: written['net']!.recent } }).toEqual(written);
    expect(reportText(reservationReport(core, now))).toBe(annotations[DHCP_RESERVATIONS_ANNOTATION]);
  });
});
