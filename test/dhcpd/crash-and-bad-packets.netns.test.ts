// kill -9 and restart keeps leases; malformed packets sent over a socket are
// dropped and counted by reason. Network namespaces made here.

import type { ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageType, Opt } from '../../src/dhcpd/codec/constants.ts';
import { parseRequest, serializeRequest } from '../../src/dhcpd/codec/packet.ts';
import { boundLeases as readLeases } from './lab/leases.ts';
import { Lab, labUnavailable, repoRoot } from './lab/netns.ts';

const unavailable = await labUnavailable(['perfdhcp', 'udhcpc']);
if (unavailable) console.warn(`skipping dhcpd crash and bad-packet tests: ${unavailable}`);

const config = JSON.stringify({
  subnets: [{ name: 'crash', cidr: '10.93.0.0/24', gateway: '10.93.0.1', pools: [{ start: '10.93.0.100', end: '10.93.0.199' }], leaseTime: 3600 }],
});

function acksOf(out: string): number {
  return Number(/REQUEST-ACK\*+\s*\n\s*sent packets: \d+\s*\n\s*received packets: (\d+)/.exec(out)?.[1] ?? 0);
}

describe.skipIf(unavailable !== undefined)('dhcpd crash safety and bad packets', () => {
  let lab: Lab;
  let server: ChildProcess;
  const cfg = () => join(lab.dir, 'dhcpd.json');
  const data = () => join(lab.dir, 'data');

  beforeAll(async () => {
    lab = await Lab.create('cr', '10.93.0.1/24');
    await lab.exec(lab.cli, ['ip', 'addr', 'add', '10.93.0.2/24', 'dev', lab.cliIf]);
    await writeFile(cfg(), config);
    server = await lab.startServer({ config: cfg(), dataDir: data() });
  }, 60_000);

  afterAll(async () => {
    await lab?.destroy();
  });

  it('after kill -9 and a restart, no leased address is given to another client', async () => {
    // 30 addresses leased through perfdhcp (relay 10.93.0.2).
    const first = await lab.exec(lab.cli, ['perfdhcp', '-4', '-l', '10.93.0.2', '-R', '30', '-n', '30', '-r', '50', '10.93.0.1'], 30_000);
    expect(acksOf(first.stdout), first.stdout).toBeGreaterThanOrEqual(27);
    const before = await readLeases(join(data(), 'leases.log'));
    expect(before.byIp.size).toBeGreaterThanOrEqual(27);

    server.kill('SIGKILL');
    await new Promise((r) => server.once('exit', r));
    server = await lab.startServer({ config: cfg(), dataDir: data() });
    const m = await lab.metrics();
    expect(m.get('alcor_dhcpd_leases{subnet="crash",state="bound"}')).toBe(before.byIp.size);

    // New clients (other MACs): they may only get the addresses nobody holds.
    const second = await lab.exec(lab.cli, ['perfdhcp', '-4', '-l', '10.93.0.2', '-b', 'mac=00:0c:02:00:00:01', '-R', '10', '-n', '10', '-r', '50', '10.93.0.1'], 30_000);
    expect(acksOf(second.stdout), second.stdout).toBeGreaterThanOrEqual(1);
    const out = join(lab.dir, 'after.log');
    await lab.exec(lab.cli, ['ip', 'link', 'set', lab.cliIf, 'address', '02:aa:00:00:09:09']);
    await lab.exec(lab.cli, ['udhcpc', '-i', lab.cliIf, '-n', '-q', '-f', '-t', '3', '-T', '1', '-s', await lab.hookScript(out)], 20_000);
    const after = await readLeases(join(data(), 'leases.log'));
    expect(after.conflicts).toEqual([]);
    for (const [ip, client] of before.byIp) expect(after.byIp.get(ip)).toBe(client);
  });

  it('drops malformed packets, counts them by reason, echoes option 82 and survives a DISCOVER flood', async () => {
    const mac = Uint8Array.of(2, 0xbb, 0, 0, 0, 1);
    const giaddr = 0x0a5d0002; // 10.93.0.2: replies come back to the sender on port 67
    const good = (): Buffer => serializeRequest({ messageType: MessageType.DISCOVER, chaddr: mac, giaddr, xid: 7 });
    const bad: Array<[string, Buffer]> = [
      ['bad-cookie', ((b) => (b.writeUInt32BE(0x01020304, 236), b))(good())],
      ['too-short', good().subarray(0, 120)],
      ['option-truncated', Buffer.concat([good().subarray(0, 243), Buffer.from([12, 200, 1])])],
      ['not-bootrequest', ((b) => ((b[0] = 2), b))(good())],
      ['bad-hlen', ((b) => ((b[2] = 20), b))(good())],
      ['unknown-message-type', ((b) => ((b[242] = 99), b))(good())],
      ['too-large', Buffer.concat([good(), Buffer.alloc(3000)])],
      ['bad-overload', Buffer.concat([good().subarray(0, 243), Buffer.from([52, 1, 7, 255])])],
    ];
    const agent = Uint8Array.of(1, 4, 0x70, 0x6f, 0x72, 0x74);
    const withAgent = serializeRequest({ messageType: MessageType.DISCOVER, chaddr: mac, giaddr, xid: 8, options: [[Opt.RELAY_AGENT, agent]] });
    const outsidePool = serializeRequest({ messageType: MessageType.REQUEST, chaddr: mac, giaddr, xid: 9, options: [[Opt.REQUESTED_IP, Uint8Array.of(10, 93, 0, 250)]] });
    // A flood from random MACs: far more clients than addresses.
    const flood = Array.from({ length: 600 }, (_, i) =>
      serializeRequest({ messageType: MessageType.DISCOVER, chaddr: Uint8Array.of(2, 0xcc, 0, 0, (i >> 8) & 255, i & 255), giaddr, xid: 1000 + i }),
    );
    const boundBefore = (await lab.metrics()).get('alcor_dhcpd_leases{subnet="crash",state="bound"}');

    const file = join(lab.dir, 'packets.json');
    await writeFile(file, JSON.stringify([...bad.map(([, b]) => b), withAgent, outsidePool, ...flood].map((b) => b.toString('hex'))));
    const r = await lab.exec(lab.cli, [process.execPath, join(repoRoot, 'test/dhcpd/lab/send-packets.ts'), file, '10.93.0.1', '1000'], 30_000);
    expect(r.code, r.stderr).toBe(0);
    const replies = (JSON.parse(r.stdout) as string[]).map((h) => {
      const b = Buffer.from(h, 'hex');
      b[0] = 1; // parse the BOOTREPLY with the request parser
      const p = parseRequest(b);
      if (!p.ok) throw new Error(`unparsable reply: ${p.reason}`);
      return p;
    });
    const byXid = new Map(replies.map((p) => [p.packet.xid, p]));
    expect(byXid.has(7)).toBe(false);
    const echoed = byXid.get(8);
    expect(echoed?.messageType).toBe(MessageType.OFFER);
    expect([...(echoed?.packet.options.get(Opt.RELAY_AGENT) ?? [])]).toEqual([...agent]);
    expect(byXid.get(9)?.messageType).toBe(MessageType.NAK);

    const m = await lab.metrics();
    for (const [reason] of bad) expect(m.get(`alcor_dhcpd_drops_total{reason="${reason}"}`), reason).toBe(1);
    expect(m.get('alcor_dhcpd_drops_total{reason="pool-exhausted"}') ?? 0).toBeGreaterThan(0);
    expect(m.get('alcor_dhcpd_leases{subnet="crash",state="bound"}')).toBe(boundBefore);
    expect(server.exitCode).toBeNull();
    const health = await lab.exec(lab.srv, [process.execPath, '-e', 'fetch("http://127.0.0.1:9067/healthz").then(r=>process.exit(r.ok?0:1),()=>process.exit(1))']);
    expect(health.code).toBe(0);
  });
});
