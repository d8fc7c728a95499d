// dhcpd stopped with SIGTERM in the middle of a perfdhcp load, with its
// socket thread on and off: it exits 0 (nothing sent on a closed socket), and
// the ACKs perfdhcp received are exactly the binds in the lease log: each ACK
// left once its lease was durable, as always, and each lease made durable had
// its ACK sent before the socket closed. Network namespaces made here (tag
// "dn").

import type { ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boundLeases } from './lab/leases.ts';
import { Lab, labUnavailable } from './lab/netns.ts';

const unavailable = await labUnavailable(['perfdhcp']);
if (unavailable) console.warn(`skipping dhcpd drain tests: ${unavailable}`);

const config = JSON.stringify({
  subnets: [{ name: 'drain', cidr: '10.98.0.0/16', gateway: '10.98.0.1', pools: [{ start: '10.98.1.0', end: '10.98.255.254' }], leaseTime: 3600 }],
});

function acksOf(out: string): number {
  return Number(/REQUEST-ACK\*+\s*\n\s*sent packets: \d+\s*\n\s*received packets: (\d+)/.exec(out)?.[1] ?? 0);
}

describe.skipIf(unavailable !== undefined)('dhcpd drains on SIGTERM under DHCP load', () => {
  let lab: Lab;

  beforeAll(async () => {
    lab = await Lab.create('dn', '10.98.0.1/16');
    await lab.exec(lab.cli, ['ip', 'addr', 'add', '10.98.0.2/16', 'dev', lab.cliIf]);
    await writeFile(join(lab.dir, 'dhcpd.json'), config);
  }, 60_000);

  afterAll(async () => {
    await lab?.destroy();
  });

  it.each([
    ['on', '00:0c:04:00:00:00'],
    ['off', '00:0c:05:00:00:00'],
  ])('socket thread %s: exits 0, one ACK received per bind in the log', async (mode, macs) => {
    const data = join(lab.dir, `data-${mode}`);
    const server: ChildProcess = await lab.startServer({ config: join(lab.dir, 'dhcpd.json'), dataDir: data, args: ['--socket-thread', mode] });
    const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
    // perfdhcp relaying (giaddr 10.98.0.2) at 2,000 new clients per second for 3 s; SIGTERM after 1.5 s.
    const load = lab.exec(lab.cli, ['perfdhcp', '-4', '-l', '10.98.0.2', '-b', `mac=${macs}`, '-R', '1000000', '-p', '3', '-r', '2000', '10.98.0.1'], 40_000);
    await new Promise((r) => setTimeout(r, 1500));
    server.kill('SIGTERM');
    const code = await exited;
    const output = (server as ChildProcess & { output: () => string }).output();
    const r = await load;
    const acks = acksOf(r.stdout);
    const leases = await boundLeases(join(data, 'leases.log'));
    console.log(`socket thread ${mode}: ${acks} ACKs received, ${leases.binds} binds in the log, exit ${code}`);
    expect(code, output.slice(-2000)).toBe(0);
    expect(output).toContain('"stopped"');
    expect(acks, r.stdout + r.stderr).toBeGreaterThan(1000);
    expect(leases.conflicts).toEqual([]);
    // Every lease made durable had its ACK sent, and none was sent before it was durable.
    expect(leases.binds).toBe(acks);
  });
});
