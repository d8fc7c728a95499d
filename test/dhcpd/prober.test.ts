// The ping prober's side of the helper protocol, with stand-in helpers (the
// real one runs in test/dhcpd/conflicts.netns.test.ts): results, one echo per
// address however many ask, and a clear reason when probing cannot work.

import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ipv4ToNumber } from '../../src/api/ipv4.ts';
import { IcmpProber } from '../../src/dhcpd/ping/prober.ts';
import { createLogger } from '../../src/process/log.ts';

const logger = createLogger('test', 'silent');

describe('IcmpProber', () => {
  let dir: string;
  const helper = async (name: string, body: string): Promise<string> => {
    const path = join(dir, name);
    await writeFile(path, `#!/bin/sh\n${body}\n`);
    await chmod(path, 0o755);
    return path;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aodh-prober-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('maps replies to in-use and timeouts to free, one echo per address', async () => {
    const log = join(dir, 'requests');
    const path = await helper('fake', `echo ready fake\nwhile read tag ip t; do echo "$ip" >> ${log}; sleep 0.1; if [ "$ip" = 10.0.0.1 ]; then echo "$tag reply"; else echo "$tag timeout"; fi; done`);
    const p = new IcmpProber({ helper: path, timeoutMs: 100, logger });
    const results = await Promise.all([p.probe(ipv4ToNumber('10.0.0.1')), p.probe(ipv4ToNumber('10.0.0.1')), p.probe(ipv4ToNumber('10.0.0.2'))]);
    expect(results).toEqual(['in-use', 'in-use', 'free']);
    expect(readFileSync(log, 'utf8').trim().split('\n').sort()).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(p.unavailable()).toBeUndefined();
    p.close();
  });

  it('a helper that cannot open a socket: unavailable, with its reason', async () => {
    const path = await helper('nosock', 'echo "fail no ICMP socket: datagram: Permission denied"; exit 2');
    const p = new IcmpProber({ helper: path, timeoutMs: 100, logger });
    expect(await p.probe(ipv4ToNumber('10.0.0.1'))).toBe('unavailable');
    expect(p.unavailable()).toBe('no ICMP socket: datagram: Permission denied');
    p.close();
  });

  it('a missing helper: unavailable, saying how to get it', async () => {
    const p = new IcmpProber({ helper: join(dir, 'absent'), timeoutMs: 100, logger });
    expect(await p.probe(ipv4ToNumber('10.0.0.1'))).toBe('unavailable');
    expect(p.unavailable()).toMatch(/not found .*npm run build:icmp-helper/);
    p.close();
  });

  it('a helper that dies mid-probe: the probe ends unavailable instead of hanging', async () => {
    const path = await helper('dies', 'echo ready fake\nread line\nexit 1');
    const p = new IcmpProber({ helper: path, timeoutMs: 100, logger });
    expect(await p.probe(ipv4ToNumber('10.0.0.1'))).toBe('unavailable');
    p.close();
  });
});
