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

/** A host of its own on the node's bridge: a network namespace, a veth pair, a scratch directory; `remove` undoes all three. */
interface BridgedHost {
  ns: string;
  dir: string;
  /** Runs dhclient in the namespace with these arguments (its lease and pid files in `dir`), detached or bounded. */
  dhclient(args: string[], done?: (err: Error | null, stderr: string) => void): void;
  remove(): void;
}

function hostOnBridge(dhclient: string, id: string, mac: string): BridgedHost {
  const ns = `alcor-e2e-dh${id}`;
  const hostEnd = `alcd${id}`;
  const dir = mkdtempSync(join(tmpdir(), 'alcor-e2e-dhclient-'));
  const files = ['-lf', join(dir, 'dhclient.leases'), '-pf', join(dir, 'dhclient.pid')];
  const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const remove = () => {
    // Gives the lease back (DHCPRELEASE, which also ends a dhclient that went to the background once bound).
    try {
      execFileSync('ip', ['netns', 'exec', ns, dhclient, '-r', '-sf', '/bin/true', ...files, 'eth0'], { stdio: 'ignore', timeout: 15_000 });
    } catch {
      // never bound
    }
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
    ip('-n', ns, 'link', 'set', 'eth0', 'address', mac, 'up');
  } catch (err) {
    remove();
    throw err;
  }
  return {
    ns,
    dir,
    remove,
    dhclient: (args, done) => {
      execFile('ip', ['netns', 'exec', ns, dhclient, ...args, ...files, 'eth0'], { timeout: 30_000 }, (err, _stdout, stderr) => done?.(err, stderr));
    },
  };
}

/** `index` picks its name and MAC (02:00:00:e2:e0:01 for 0, then 02:00:00:e3:XX:YY): clients with different indexes are different hosts. */
export async function dhcpClientOnBridge(dhclient: string, index = 0): Promise<DhcpClient> {
  const id = index === 0 ? `p${process.pid % 100000}` : `${process.pid % 1000}n${index % 10000}`;
  const mac = index === 0 ? '02:00:00:e2:e0:01' : `02:00:00:e3:${((index >> 8) & 255).toString(16).padStart(2, '0')}:${(index & 255).toString(16).padStart(2, '0')}`;
  const host = hostOnBridge(dhclient, id, mac);
  return {
    remove: host.remove,
    lease: () =>
      new Promise((resolve, reject) => {
        const conf = join(host.dir, 'dhclient.conf');
        writeFileSync(conf, 'timeout 25;\nretry 1;\n');
        host.dhclient(['-1', '-4', '-v', '-sf', '/bin/true', '-cf', conf], (err, stderr) => {
          let text = '';
          try {
            text = readFileSync(join(host.dir, 'dhclient.leases'), 'utf8');
          } catch {
            // no lease written
          }
          const address = /fixed-address\s+([\d.]+);/.exec(text)?.[1];
          if (address) resolve(address);
          else reject(new Error(`dhclient got no lease (${err?.message ?? 'exited'}):\n${stderr}`));
        });
      }),
  };
}

/** One event of a running client, as its dhclient-script saw it. */
export interface LeaseEvent {
  /** Seconds since the epoch. */
  at: number;
  /** dhclient's reason: PREINIT, BOUND, RENEW, REBIND, REBOOT, EXPIRE, FAIL, RELEASE, STOP, ... */
  reason: string;
  address: string;
}

export interface RunningDhcpClient {
  readonly name: string;
  /** The events so far, oldest first. */
  events(): LeaseEvent[];
  /** Releases the lease (DHCPRELEASE), ends dhclient and removes the namespace. */
  remove(): void;
}

/**
 * A client that keeps its lease: ISC dhclient as a daemon in a network
 * namespace of its own on the node's bridge (MAC 02:00:00:e2:XX:YY), with a
 * dhclient-script that puts the address on its interface (so renewals go out
 * by unicast to the server, as on a real host) and logs every event. Bounded
 * by the test: removed at its end.
 */
export function runningDhcpClientOnBridge(dhclient: string, index: number): RunningDhcpClient {
  const mac = `02:00:00:e2:${(index >> 8).toString(16).padStart(2, '0')}:${(index & 255).toString(16).padStart(2, '0')}`;
  const host = hostOnBridge(dhclient, `${process.pid % 1000}x${index}`, mac);
  const log = join(host.dir, 'events.log');
  const script = join(host.dir, 'script.sh');
  writeFileSync(
    script,
    `#!/bin/sh
echo "$(date +%s.%N) $reason \${new_ip_address:-\${old_ip_address:-}}" >> ${log}
case "$reason" in
  BOUND|RENEW|REBIND|REBOOT)
    if [ -n "$old_ip_address" ] && [ "$old_ip_address" != "$new_ip_address" ]; then ip addr del "$old_ip_address/24" dev "$interface" 2>/dev/null; fi
    ip addr replace "$new_ip_address/24" dev "$interface" ;;
  EXPIRE|FAIL|RELEASE|STOP)
    if [ -n "$old_ip_address" ]; then ip addr del "$old_ip_address/24" dev "$interface" 2>/dev/null; fi ;;
esac
exit 0
`,
    { mode: 0o755 },
  );
  writeFileSync(join(host.dir, 'dhclient.conf'), 'timeout 60;\nretry 5;\n');
  // Daemon mode: dhclient forks once it has a lease (or keeps trying) and renews until released.
  host.dhclient(['-nw', '-4', '-v', '-sf', script, '-cf', join(host.dir, 'dhclient.conf')]);
  return {
    name: host.ns,
    remove: host.remove,
    events: () => {
      let text = '';
      try {
        text = readFileSync(log, 'utf8');
      } catch {
        return [];
      }
      return text
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          const [at, reason, address] = l.split(' ');
          return { at: Number(at), reason: reason ?? '', address: address ?? '' };
        });
    },
  };
}
