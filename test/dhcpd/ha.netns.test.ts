// Two replicas (--share 0 and --share 1) on one L2 segment, 2,000 simulated
// clients broadcasting through perfdhcp: no address is given twice.
// Topology: namespaces aodhhas0 and aodhhas1 (one replica each) and aodhhac
// (perfdhcp) whose bridge joins the two veth pairs.

import type { ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageType } from '../../src/dhcpd/codec/constants.ts';
import { serializeRequest, type DhcpPacket } from '../../src/dhcpd/codec/packet.ts';
import { clientBucket, clientKey } from '../../src/dhcpd/core.ts';
import { ipv4ToNumber } from '../../src/api/ipv4.ts';
import { Lab, labUnavailable, repoRoot, run } from './lab/netns.ts';

const unavailable = await labUnavailable(['perfdhcp']);
if (unavailable) console.warn(`skipping dhcpd HA tests: ${unavailable}`);

const config = JSON.stringify({
  subnets: [{ name: 'ha', cidr: '10.94.0.0/16', gateway: '10.94.0.1', pools: [{ start: '10.94.1.0', end: '10.94.20.255' }], leaseTime: 3600 }],
  ha: { shares: 2 },
});

async function must(args: string[]): Promise<void> {
  const r = await run('ip', args);
  if (r.code !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
}

describe.skipIf(unavailable !== undefined)('dhcpd HA shares', () => {
  let lab: Lab;
  const replicas: ChildProcess[] = [];
  const ns1 = 'aodhhas1';

  beforeAll(async () => {
    // The Lab gives aodhhas (replica 0) and aodhhac (clients); add replica 1 and a bridge.
    lab = await Lab.create('ha', '10.94.0.10/16');
    await run('ip', ['netns', 'del', ns1]);
    await must(['netns', 'add', ns1]);
    await must(['link', 'add', 'aodhhav1', 'type', 'veth', 'peer', 'name', 'aodhhab1']);
    await must(['link', 'set', 'aodhhav1', 'netns', ns1]);
    await must(['link', 'set', 'aodhhab1', 'netns', lab.cli]);
    await must(['-n', ns1, 'addr', 'add', '10.94.0.11/16', 'dev', 'aodhhav1']);
    await must(['-n', ns1, 'link', 'set', 'aodhhav1', 'up']);
    await must(['-n', ns1, 'link', 'set', 'lo', 'up']);
    await must(['-n', lab.cli, 'link', 'add', 'aodhhabr', 'type', 'bridge']);
    for (const port of [lab.cliIf, 'aodhhab1']) await must(['-n', lab.cli, 'link', 'set', port, 'master', 'aodhhabr']);
    await must(['-n', lab.cli, 'link', 'set', 'aodhhab1', 'up']);
    await must(['-n', lab.cli, 'addr', 'add', '10.94.0.2/16', 'dev', 'aodhhabr']);
    await must(['-n', lab.cli, 'link', 'set', 'aodhhabr', 'up']);
    await writeFile(join(lab.dir, 'dhcpd.json'), config);
    const start = (ns: string, share: number) =>
      lab.startServer({ ns, config: join(lab.dir, 'dhcpd.json'), dataDir: join(lab.dir, `data${share}`), args: ['--share', String(share)] });
    replicas.push(await start(lab.srv, 0), await start(ns1, 1));
  }, 60_000);

  afterAll(async () => {
    for (const r of replicas) r.kill('SIGKILL');
    await run('ip', ['netns', 'del', ns1]);
    await lab?.destroy();
  });

  async function bound(share: number): Promise<Map<string, string>> {
    const byIp = new Map<string, string>();
    for (const line of (await readFile(join(lab.dir, `data${share}`, 'leases.log'), 'utf8')).split('\n').filter(Boolean)) {
      const r = JSON.parse(line) as { o: string; ip: string; c: string };
      if (r.o === 'b') byIp.set(r.ip, r.c);
    }
    return byIp;
  }

  it('2,000 clients through two replicas: disjoint shares, no address given twice', async () => {
    const r = await lab.exec(lab.cli, ['perfdhcp', '-4', '-l', 'aodhhabr', '-R', '2000', '-n', '2000', '-r', '400', 'all'], 60_000);
    const acks = Number(/REQUEST-ACK\*+\s*\n\s*sent packets: \d+\s*\n\s*received packets: (\d+)/.exec(r.stdout)?.[1] ?? 0);
    expect(acks, r.stdout + r.stderr).toBeGreaterThanOrEqual(1800);

    const s0 = await bound(0);
    const s1 = await bound(1);
    // Each replica hands out only its own share (even / odd addresses).
    for (const ip of s0.keys()) expect(ipv4ToNumber(ip) % 2).toBe(0);
    for (const ip of s1.keys()) expect(ipv4ToNumber(ip) % 2).toBe(1);
    // No address is held by both, no client holds two.
    const clients0 = new Set(s0.values());
    const both = [...s1.values()].filter((c) => clients0.has(c));
    expect(both).toEqual([]);
    expect(s0.size + s1.size).toBeGreaterThanOrEqual(acks);
    // Load balancing by client hash: both replicas did a real part of the work.
    expect(s0.size).toBeGreaterThan(600);
    expect(s1.size).toBeGreaterThan(600);
    const m0 = await lab.metrics(lab.srv);
    const m1 = await lab.metrics(ns1);
    expect((m0.get('alcor_dhcpd_leases{subnet="ha",state="bound"}') ?? 0) + (m1.get('alcor_dhcpd_leases{subnet="ha",state="bound"}') ?? 0)).toBe(s0.size + s1.size);
    expect(m0.get('alcor_dhcpd_drops_total{reason="ha-other-replica"}') ?? 0).toBeGreaterThan(0);
  });

  it('when replica 0 is gone, its clients are answered by replica 1 once they have waited (secs >= 10)', async () => {
    replicas[0]?.kill('SIGKILL');
    // A client in replica 0's bucket, hashed like the server does (no option 61: hardware address).
    let mac = Uint8Array.of(2, 0xdd, 0, 0, 0, 0);
    for (let i = 0; clientBucket(clientKey({ htype: 1, hlen: 6, chaddr: mac, options: new Map() } as unknown as DhcpPacket), 2) !== 0; i++) {
      mac = Uint8Array.of(2, 0xdd, 0, 0, (i >> 8) & 255, i & 255);
    }
    const giaddr = ipv4ToNumber('10.94.0.2');
    const fresh = serializeRequest({ messageType: MessageType.DISCOVER, chaddr: mac, giaddr, xid: 1, secs: 0 });
    const waited = serializeRequest({ messageType: MessageType.DISCOVER, chaddr: mac, giaddr, xid: 2, secs: 12 });
    const file = join(lab.dir, 'takeover.json');
    await writeFile(file, JSON.stringify([fresh.toString('hex'), waited.toString('hex')]));
    const r = await lab.exec(lab.cli, [process.execPath, join(repoRoot, 'test/dhcpd/lab/send-packets.ts'), file, '10.94.0.11', '1000'], 20_000);
    expect(r.code, r.stderr).toBe(0);
    const replies = (JSON.parse(r.stdout) as string[]).map((h) => Buffer.from(h, 'hex'));
    expect(replies.map((b) => b.readUInt32BE(4))).toEqual([2]);
    const yiaddr = (replies[0] as Buffer).readUInt32BE(16);
    expect(yiaddr % 2).toBe(1);
  });
});
