// A DHCP client on the pod network: a network namespace of its own (prefix
// alcor-e2e-), a veth pair whose host end is a port of the node's bridge, and
// ISC dhclient run once in it without touching any configuration (-sf true);
// the lease file says what it got.
import { execFileSync, execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BRIDGE } from '../cluster/node.ts';

export function whichSync(cmd: string): string {
  try {
    return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

export interface DhcpClient {
  /** Runs dhclient once (bounded: 30 s) and returns the leased address. */
  lease(): Promise<string>;
  remove(): void;
}

export async function dhcpClientOnBridge(dhclient: string): Promise<DhcpClient> {
  const id = String(process.pid % 100000);
  const ns = `alcor-e2e-dhcp${id}`;
  const hostEnd = `alce2ed${id}`;
  const dir = mkdtempSync(join(tmpdir(), 'alcor-e2e-dhclient-'));
  const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const remove = () => {
    // dhclient goes to the background once bound: end it (only ours: its pid file).
    try {
      process.kill(Number(readFileSync(join(dir, 'dhclient.pid'), 'utf8').trim()), 'SIGTERM');
    } catch {
      // never bound, or already gone
    }
    try { ip('link', 'del', hostEnd); } catch { /* gone with the netns or the bridge */ }
    try { ip('netns', 'del', ns); } catch { /* not created */ }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    ip('netns', 'add', ns);
    ip('link', 'add', hostEnd, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
    ip('link', 'set', hostEnd, 'master', BRIDGE);
    ip('link', 'set', hostEnd, 'up');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('-n', ns, 'link', 'set', 'eth0', 'address', '02:00:00:e2:e0:01', 'up');
  } catch (err) {
    remove();
    throw err;
  }
  return {
    remove,
    lease: () =>
      new Promise((resolve, reject) => {
        const leases = join(dir, 'dhclient.leases');
        const conf = join(dir, 'dhclient.conf');
        writeFileSync(conf, 'timeout 25;\nretry 1;\n');
        execFile(
          'ip',
          ['netns', 'exec', ns, dhclient, '-1', '-4', '-v', '-sf', '/bin/true', '-cf', conf, '-lf', leases, '-pf', join(dir, 'dhclient.pid'), 'eth0'],
          { timeout: 30_000 },
          (err, _stdout, stderr) => {
            let text = '';
            try {
              text = readFileSync(leases, 'utf8');
            } catch {
              // no lease written
            }
            const address = /fixed-address\s+([\d.]+);/.exec(text)?.[1];
            if (address) resolve(address);
            else reject(new Error(`dhclient got no lease (${err?.message ?? 'exited'}):\n${stderr}`));
          },
        );
      }),
  };
}
