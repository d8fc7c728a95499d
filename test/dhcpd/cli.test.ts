import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DhcpdConfig } from '../../src/api/config/dhcpd.ts';
import { DhcpCore } from '../../src/dhcpd/core.ts';
import { Pacer } from '../../src/dhcpd/pacer.ts';
import { dhcpdReport } from '../../src/dhcpd/status-lease.ts';
import { ipv4ToNumber } from '../../src/api/ipv4.ts';
import { reportText } from '../../src/api/leases.ts';
import { RELEASE_VERSION } from '../../src/api/version.ts';

const root = resolve(import.meta.dirname, '../..');

/** `killed`: still running after `timeoutMs`, so killed. */
function cli(args: string[], timeoutMs = 20_000): Promise<{ code: number; out: string; killed: boolean }> {
  return new Promise((done) => {
    execFile(process.execPath, [join(root, 'src/cli/main.ts'), 'dhcpd', ...args], { timeout: timeoutMs }, (err, stdout, stderr) => {
      done({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr, killed: err?.killed ?? false });
    });
  });
}

describe('alcor-operator dhcpd CLI', () => {
  it('--help documents every flag the parser accepts', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    const src = await readFile(join(root, 'src/cli/dhcpd.ts'), 'utf8');
    const flags = [...src.matchAll(/^\s+'?([a-z-]+)'?: \{ type: '(?:string|boolean)'/gm)].map((m) => m[1]);
    expect(flags.length).toBeGreaterThan(10);
    for (const f of flags) expect(r.out, f).toContain(`--${f}`);
  });

  it('refuses to start without --config and --data-dir', async () => {
    const r = await cli([]);
    expect(r.code).toBe(2);
    expect(r.out).toContain('--config and --data-dir are required');
  });

  it.each(['on', 'off'])('exits with the error when the DHCP port is taken (socket thread %s), its probe server and timers stopped', async (mode) => {
    const taken = createSocket('udp4');
    await new Promise<void>((r) => taken.bind(0, '127.0.0.1', () => r()));
    const dir = await mkdtemp(join(tmpdir(), 'aodh-cli-'));
    try {
      const config = join(dir, 'dhcpd.json');
      await writeFile(config, JSON.stringify({ subnets: [{ name: 'x', cidr: '10.99.0.0/24', pools: [{ start: '10.99.0.10', end: '10.99.0.20' }] }] }));
      const r = await cli(['--config', config, '--data-dir', join(dir, 'data'), '--listen-address', '127.0.0.1', '--listen-port', String(taken.address().port), '--metrics-listen', '127.0.0.1:0', '--socket-thread', mode], 10_000);
      expect(r.killed, 'still running 10 s after the bind failed').toBe(false);
      expect(r.code, r.out).toBe(1);
      expect(r.out).toContain('EADDRINUSE');
    } finally {
      taken.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reports an invalid config file with the field at fault', async () => {
    const r = await cli(['--config', join(root, 'package.json'), '--data-dir', '/tmp/aodh-cli-unused', '--metrics-listen', 'off']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/invalid config: subnets/);
  });
});

describe('the report (alcor.dev/served)', () => {
  it('counts bound leases per subnet, with stable key order', () => {
    const core = new DhcpCore(
      DhcpdConfig.parse({
        subnets: [
          { name: 'zeta', cidr: '10.1.0.0/24', pools: [{ start: '10.1.0.10', end: '10.1.0.20' }] },
          { name: 'alpha', cidr: '10.2.0.0/24', pools: [{ start: '10.2.0.10', end: '10.2.0.20' }] },
        ],
      }),
      { share: 0 },
    );
    const now = Date.now();
    core.restore({ op: 'bind', ip: ipv4ToNumber('10.1.0.10'), subnet: 'zeta', client: 'a', mac: '01', expires: now + 60_000 }, now);
    core.restore({ op: 'bind', ip: ipv4ToNumber('10.1.0.11'), subnet: 'zeta', client: 'b', mac: '02', expires: now + 60_000 }, now);
    core.restore({ op: 'bind', ip: ipv4ToNumber('10.1.0.12'), subnet: 'zeta', client: 'c', mac: '03', expires: now - 1 }, now);
    expect(reportText(dhcpdReport(core, { generation: 4, refused: [] }, 0, now))).toBe(
      `{"generation":4,"refused":[],"share":0,"shares":1,"subnets":{"alpha":{"capacity":11,"leased":0},"zeta":{"capacity":11,"leased":2}},"version":"${RELEASE_VERSION}"}`,
    );
  });

  it('says what its share serves: pools minus excludes (each counted once), reservations in the pools included', () => {
    const config = DhcpdConfig.parse({
      subnets: [
        {
          name: 'net',
          cidr: '10.1.0.0/24',
          pools: [{ start: '10.1.0.10', end: '10.1.0.29' }, { start: '10.1.0.40', end: '10.1.0.49' }],
          excludes: [{ start: '10.1.0.10', end: '10.1.0.13' }, { start: '10.1.0.12', end: '10.1.0.15' }, { start: '10.1.0.200', end: '10.1.0.200' }],
          reservations: [{ mac: '02:00:00:00:00:01', ip: '10.1.0.20' }, { mac: '02:00:00:00:00:02', ip: '10.1.0.100' }],
        },
      ],
      ha: { shares: 2 },
    });
    // 30 pool addresses, 6 excluded (10-15): 24, split evenly by parity.
    const capacity = (share: number) => dhcpdReport(new DhcpCore(config, { share }), { generation: 1, refused: [] }, share, Date.now()).subnets['net']!.capacity;
    expect([capacity(0), capacity(1)]).toEqual([12, 12]);
  });
});

describe('Pacer', () => {
  it('sends a burst at once and the rest at the configured rate, in order', async () => {
    const sent: number[] = [];
    const p = new Pacer<number>(1000, 5, (i) => sent.push(i));
    for (let i = 0; i < 20; i++) p.submit(i);
    expect(sent).toEqual([0, 1, 2, 3, 4]);
    const deadline = Date.now() + 2000;
    while (sent.length < 20 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(sent).toEqual(Array.from({ length: 20 }, (_, i) => i));
    p.stop();
  });

  it('drains a backlog of 20,000 in order (no quadratic queue)', async () => {
    const sent: number[] = [];
    const p = new Pacer<number>(1_000_000, 64, (i) => sent.push(i));
    for (let i = 0; i < 20_000; i++) p.submit(i);
    const deadline = Date.now() + 5000;
    while (sent.length < 20_000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(sent.length).toBe(20_000);
    expect(sent.every((v, i) => v === i)).toBe(true);
    expect(p.backlog()).toBe(0);
    p.stop();
  });
});
