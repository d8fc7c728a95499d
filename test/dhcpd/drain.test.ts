// A real dhcpd stopped with SIGTERM while busy keep-alive clients write
// through its lease API (one lease imported per request): /readyz turns 503,
// every request read is answered, a failed one was never read, and the leases
// on disk are exactly the ones answered 200 (read back after a restart).

import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../e2e/cluster/net.ts';
import { backupLines, type DhcpSubnetBackupHeader, type LeaseEntry } from '../../src/api/backup.ts';
import { describeLoad, isFailure, runClients, send } from '../process/keep-alive-load.ts';
import { spawnDhcpd, stop, type DhcpdProcess } from './api-process.ts';

const running: DhcpdProcess[] = [];
afterEach(async () => {
  for (const p of running.splice(0)) await stop(p);
});

const header: DhcpSubnetBackupHeader = {
  kind: 'DhcpSubnetBackup',
  version: 1,
  subnet: { namespace: 'ns', name: 'net', uid: 'u1', cidr: '10.71.0.0/16' },
  ranges: [{ start: '10.71.0.1', end: '10.71.255.254' }],
  created: new Date().toISOString(),
  count: 1,
};
const hex = (n: number): string => n.toString(16).padStart(2, '0');
const lease = (i: number): LeaseEntry => ({
  ip: `10.71.${i >> 8}.${i & 255}`,
  mac: `52:54:00:00:${hex(i >> 8)}:${hex(i & 255)}`,
  client: `hw:1:52540000${hex(i >> 8)}${hex(i & 255)}`,
  expires: new Date(Date.now() + 3_600_000).toISOString(),
  state: 'bound',
});

describe('dhcpd drains on SIGTERM', () => {
  it('answers every lease API request it read while 16 keep-alive clients import, and exits 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dhcpd-drain-'));
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ subnets: [{ name: 'net', cidr: '10.71.0.0/16', pools: [{ start: '10.71.0.1', end: '10.71.255.254' }], leaseTime: 3600 }] }));
    const [apiPort, metricsPort] = [await freePort(), await freePort()];
    const args = ['--config', config, '--data-dir', join(dir, 'data'), '--metrics-listen', `127.0.0.1:${metricsPort}`, '--shutdown-timeout', '10s'];
    const p = await spawnDhcpd(args, apiPort);
    running.push(p);

    let next = 1;
    const imported = new Set<string>();
    const wrong: string[] = [];
    let sigtermAt: number | null = null;
    let exited = false;
    const load = runClients({
      port: apiPort,
      clients: 16,
      next: () => ({ method: 'POST', path: '/v1/import?mode=import', body: backupLines(header, [lease(next++)]) }),
      onAnswer: (a, spec) => {
        const ip = (JSON.parse(spec.body!.split('\n')[1]!) as LeaseEntry).ip;
        if (a.status !== 200 || (JSON.parse(a.body) as { imported?: number }).imported !== 1) wrong.push(`${ip}: ${a.status} ${a.body.slice(0, 200)}`);
        else imported.add(ip);
      },
      stop: () => exited,
    });
    // A pooled connection its client leaves idle: kept through the linger (so the drain lasts that long), then closed.
    const idle = connect(apiPort, '127.0.0.1');
    idle.on('error', () => {});
    idle.resume();
    const idleClosed = new Promise<void>((resolve) => idle.on('close', () => resolve()));
    idle.write('GET /v1/server HTTP/1.1\r\nHost: t\r\n\r\n');
    const readiness: number[] = [];
    const watch = (async () => {
      while (!exited) {
        const r = await send(false, metricsPort, { method: 'GET', path: '/readyz' });
        if (isFailure(r)) break;
        if (sigtermAt !== null && r.sentAt > sigtermAt) readiness.push(r.status);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    while (imported.size < 500) await new Promise((resolve) => setTimeout(resolve, 20));
    sigtermAt = performance.now();
    p.child.kill('SIGTERM');
    const code = await p.exited;
    exited = true;
    const result = await load;
    await watch;
    const drainedLine = p.lines.find((l) => l.includes('"lease API drained'));
    console.log(`POST /v1/import: ${describeLoad(result)}; ${imported.size} imported; ${drainedLine ?? 'no drain logged'}`);

    expect(code).toBe(0);
    expect(wrong).toEqual([]);
    expect(result.unsafe).toEqual([]);
    // Nothing imported whose answer was lost, nothing answered that is not kept.
    const again = await spawnDhcpd(args, apiPort);
    running.push(again);
    const r = await send(false, apiPort, { method: 'GET', path: '/v1/export' });
    if (isFailure(r)) throw new Error(r.message);
    const held = new Set(r.body.trim().split('\n').slice(1).map((l) => (JSON.parse(l) as LeaseEntry).ip));
    expect(held.size).toBe(imported.size);
    expect(held).toEqual(imported);
    expect(readiness).toContain(503);
    expect(drainedLine).toBeDefined();
    expect(JSON.parse(drainedLine!)).toMatchObject({ cut: 0 });
    await idleClosed;
  });
});
