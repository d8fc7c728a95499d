// Trusted relays and option 82 over real sockets: crafted packets from a
// trusted relay, an untrusted one, a spoofed giaddr and a client sending
// option 82, plus perfdhcp as a real relay from a trusted and an untrusted
// address. Network namespaces made here.

import type { ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageType, Opt } from '../../src/dhcpd/codec/constants.ts';
import { parseRequest, serializeRequest } from '../../src/dhcpd/codec/packet.ts';
import { formatIPv4, ipv4ToNumber } from '../../src/api/ipv4.ts';
import { Lab, labUnavailable, repoRoot } from './lab/netns.ts';

const unavailable = await labUnavailable(['perfdhcp']);
if (unavailable) console.warn(`skipping dhcpd trusted-relay tests: ${unavailable}`);

const TRUSTED = '10.95.0.2';
const UNTRUSTED = '10.95.0.3';
const CLIENT = '10.95.0.4';

function config(relayInfoWithoutGiaddr: 'drop' | 'accept'): string {
  return JSON.stringify({
    subnets: [
      {
        name: 'relayed',
        cidr: '10.95.0.0/24',
        gateway: '10.95.0.1',
        pools: [{ start: '10.95.0.100', end: '10.95.0.199' }],
        leaseTime: 3600,
        trustedRelays: [`${TRUSTED}/32`],
        relayInfoWithoutGiaddr,
      },
    ],
  });
}

interface Reply {
  xid: number;
  type: number;
  yiaddr: string;
  relay: number[] | undefined;
  at: string;
}

function acksOf(out: string): number {
  return Number(/REQUEST-ACK\*+\s*\n\s*sent packets: \d+\s*\n\s*received packets: (\d+)/.exec(out)?.[1] ?? 0);
}

describe.skipIf(unavailable !== undefined)('dhcpd trusted relays and option 82', () => {
  let lab: Lab;
  let server: ChildProcess;
  const cfg = () => join(lab.dir, 'dhcpd.json');
  const mac = (n: number) => Uint8Array.of(2, 0xdd, 0, 0, 0, n);
  const agent = Uint8Array.of(1, 4, 0x70, 0x6f, 0x72, 0x74, 2, 2, 0xab, 0xcd);

  /** Sends [packet, from, port] from the client namespace; returns the replies. */
  async function exchange(sends: Array<[Buffer, string, number]>): Promise<Reply[]> {
    const file = join(lab.dir, `sends-${Date.now()}.json`);
    await writeFile(file, JSON.stringify(sends.map(([b, from, port]) => ({ hex: b.toString('hex'), from, port }))));
    const r = await lab.exec(lab.cli, [process.execPath, join(repoRoot, 'test/dhcpd/lab/exchange.ts'), file, '10.95.0.1', '1000'], 20_000);
    expect(r.code, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as Array<{ hex: string; at: string }>).map(({ hex, at }) => {
      const b = Buffer.from(hex, 'hex');
      b[0] = 1; // parse the BOOTREPLY with the request parser
      const p = parseRequest(b);
      if (!p.ok) throw new Error(`unparsable reply: ${p.reason}`);
      const relay = p.packet.options.get(Opt.RELAY_AGENT);
      return { xid: p.packet.xid, type: p.messageType, yiaddr: formatIPv4(p.packet.yiaddr), relay: relay ? [...relay] : undefined, at };
    });
  }

  const drops = async (reason: string) => (await lab.metrics()).get(`alcor_dhcpd_drops_total{reason="${reason}"}`) ?? 0;
  const bound = async () => (await lab.metrics()).get('alcor_dhcpd_leases{subnet="relayed",state="bound"}') ?? 0;

  beforeAll(async () => {
    lab = await Lab.create('tr', '10.95.0.1/24');
    for (const a of [TRUSTED, UNTRUSTED, CLIENT]) await lab.exec(lab.cli, ['ip', 'addr', 'add', `${a}/24`, 'dev', lab.cliIf]);
    await writeFile(cfg(), config('drop'));
    server = await lab.startServer({ config: cfg(), dataDir: join(lab.dir, 'data') });
  }, 60_000);

  afterAll(async () => {
    await lab?.destroy();
  });

  it('serves a trusted relay, drops an untrusted one and a spoofed giaddr, each counted by reason, no lease changed', async () => {
    const discover = (xid: number, giaddr: string) =>
      serializeRequest({ messageType: MessageType.DISCOVER, chaddr: mac(xid), giaddr: ipv4ToNumber(giaddr), xid, options: [[Opt.RELAY_AGENT, agent]] });
    const before = await bound();
    const replies = await exchange([
      [discover(1, TRUSTED), TRUSTED, 67],
      [discover(2, UNTRUSTED), UNTRUSTED, 67],
      // The attacker writes the trusted relay's address into giaddr.
      [discover(3, TRUSTED), UNTRUSTED, 67],
    ]);
    expect(replies.map((r) => r.xid)).toEqual([1]);
    expect(replies[0]).toMatchObject({ type: MessageType.OFFER, at: `${TRUSTED}:67`, relay: [...agent] });
    expect(replies[0]?.yiaddr).toMatch(/^10\.95\.0\.1\d\d$/);
    expect(await drops('untrusted-relay')).toBe(1);
    expect(await drops('untrusted-relay-source')).toBe(1);
    expect(await bound()).toBe(before);
  });

  it('a real relay (perfdhcp) gets leases from a trusted address and nothing from an untrusted one', async () => {
    const trusted = await lab.exec(lab.cli, ['perfdhcp', '-4', '-l', TRUSTED, '-R', '10', '-n', '10', '-r', '20', '10.95.0.1'], 30_000);
    expect(acksOf(trusted.stdout), trusted.stdout).toBeGreaterThanOrEqual(9);
    const boundAfterTrusted = await bound();
    const dropsBefore = await drops('untrusted-relay');
    const untrusted = await lab.exec(lab.cli, ['perfdhcp', '-4', '-l', UNTRUSTED, '-b', 'mac=00:0c:03:00:00:01', '-R', '10', '-n', '10', '-r', '20', '10.95.0.1'], 30_000);
    expect(acksOf(untrusted.stdout), untrusted.stdout).toBe(0);
    expect((await drops('untrusted-relay')) - dropsBefore).toBeGreaterThanOrEqual(10);
    expect(await bound()).toBe(boundAfterTrusted);
    // Every lease in the log went through the trusted relay's exchange.
    const log = (await readFile(join(lab.dir, 'data', 'leases.log'), 'utf8')).split('\n').filter(Boolean);
    expect(log.length).toBe(boundAfterTrusted);
  });

  it('option 82 from a client (no giaddr) is dropped, and served with the option echoed once the subnet accepts it', async () => {
    const fromClient = (xid: number) => serializeRequest({ messageType: MessageType.DISCOVER, chaddr: mac(xid), xid, options: [[Opt.RELAY_AGENT, agent]] });
    const plain = serializeRequest({ messageType: MessageType.DISCOVER, chaddr: mac(20), xid: 20 });
    const replies = await exchange([
      [fromClient(10), '0.0.0.0', 68],
      [plain, '0.0.0.0', 68],
    ]);
    // The plain DISCOVER is answered (by broadcast); the one with option 82 is not.
    expect(replies.map((r) => r.xid)).toEqual([20]);
    expect(await drops('relay-info-without-giaddr')).toBe(1);

    const reloads = async () => (await lab.metrics()).get('alcor_dhcpd_config_reloads_total{result="ok"}') ?? 0;
    const r0 = await reloads();
    await writeFile(cfg(), config('accept'));
    const deadline = Date.now() + 15_000;
    while ((await reloads()) === r0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(await reloads()).toBeGreaterThan(r0);

    const accepted = await exchange([[fromClient(11), '0.0.0.0', 68]]);
    expect(accepted.map((r) => r.xid)).toEqual([11]);
    expect(accepted[0]).toMatchObject({ type: MessageType.OFFER, relay: [...agent] });
    expect(await drops('relay-info-without-giaddr')).toBe(1);
    expect(server.exitCode).toBeNull();
  });
});
