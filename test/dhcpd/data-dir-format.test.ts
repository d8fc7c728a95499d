// dhcpd's data directory marker (format.json, src/process/data-dir-format.ts):
// written once the lease log opened; a marker of a format this release does
// not read leaves the directory untouched, byte for byte, while dhcpd serves
// nothing and says why: no DHCP socket, /readyz 503, the lease API 503, and
// a report that serves no subnet and carries `blocked`.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DATA_DIR_MARKER } from '../../src/api/formats.ts';
import { ipv4ToNumber } from '../../src/api/ipv4.ts';
import { RELEASE_VERSION } from '../../src/api/version.ts';
import { startDaemon } from '../../src/dhcpd/daemon.ts';
import { encodeRecord } from '../../src/dhcpd/lease-log.ts';
import { dhcpdReport } from '../../src/dhcpd/status-lease.ts';
import { createLogger } from '../../src/process/log.ts';
import { markerText } from '../../src/process/data-dir-format.ts';
import { freePort } from '../../e2e/cluster/net.ts';
import { tempDir } from '../macd/helpers.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const config = { subnets: [{ name: 'net', cidr: '10.71.0.0/24', pools: [{ start: '10.71.0.10', end: '10.71.0.20' }], leaseTime: 3600 }] };

function files(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir).sort()) {
    const st = statSync(join(dir, f));
    out[f] = `${createHash('sha256').update(readFileSync(join(dir, f))).digest('hex')} ${st.size} ${st.mode} ${st.mtimeMs}`;
  }
  return out;
}

/** A config file and a data directory with a lease log of a bound lease and a quarantine. */
function setup(): { configFile: string; dataDir: string } {
  const dir = tempDir('dhcpd-format-');
  const configFile = join(dir, 'config.json');
  writeFileSync(configFile, JSON.stringify(config));
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir);
  const expires = Date.now() + 3_600_000;
  writeFileSync(
    join(dataDir, 'leases.log'),
    [
      encodeRecord({ op: 'bind', ip: ipv4ToNumber('10.71.0.10'), subnet: 'net', client: 'hw:1:525400000001', mac: '525400000001', expires }),
      encodeRecord({ op: 'quarantine', reason: 'decline', ip: ipv4ToNumber('10.71.0.11'), subnet: 'net', client: '', mac: '', expires }),
    ].join('\n') + '\n',
  );
  return { configFile, dataDir };
}

/** True when nothing listens on UDP `port` of 127.0.0.1 (a socket can bind it). */
async function udpFree(port: number): Promise<boolean> {
  const s = createSocket('udp4');
  return new Promise((resolve) => {
    s.once('error', () => resolve(false));
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

const log = createLogger('dhcpd-test', 'silent');

describe('dhcpd data directory format', () => {
  it('writes its marker once the lease log opened, and serves the leases it holds', async () => {
    const { configFile, dataDir } = setup();
    const d = await startDaemon({ configPath: configFile, dataDir, share: 0, listenAddress: '127.0.0.1', listenPort: 0, offerHoldSeconds: 30, logger: log });
    try {
      expect(readFileSync(join(dataDir, DATA_DIR_MARKER), 'utf8')).toBe(markerText('dhcpd'));
      expect(d.blocked).toBeUndefined();
      expect(dhcpdReport(d.core, d.applied(), 0, Date.now(), 'uid-1')).toEqual({ generation: 0, refused: [], share: 0, shares: 1, subnets: { net: { capacity: 11, leased: 1 } }, version: RELEASE_VERSION, pod: 'uid-1' });
    } finally {
      await d.close();
    }
  });

  it('a marker of format 99: no socket, not ready, a report with blocked that serves no subnet; nothing written', async () => {
    const { configFile, dataDir } = setup();
    writeFileSync(join(dataDir, DATA_DIR_MARKER), '{"kind":"dhcpd","format":99,"writtenBy":"9.0.0"}\n');
    const before = files(dataDir);
    const port = await freePort();
    const metrics = await freePort();
    const d = await startDaemon({ configPath: configFile, dataDir, share: 0, listenAddress: '127.0.0.1', listenPort: port, metricsListen: `127.0.0.1:${metrics}`, offerHoldSeconds: 30, logger: log });
    try {
      const why = `${join(dataDir, DATA_DIR_MARKER)}: dhcpd data directory format 99 is newer than this release (${RELEASE_VERSION}) reads (up to 1); the directory is left untouched`;
      expect(d.blocked).toEqual(why);
      expect(await udpFree(port)).toBe(true);
      expect((await fetch(`http://127.0.0.1:${metrics}/readyz`)).status).toBe(503);
      expect((await fetch(`http://127.0.0.1:${metrics}/healthz`)).status).toBe(200);
      expect(dhcpdReport(d.core, d.applied(), 0, Date.now(), 'uid-1')).toEqual({ generation: 0, refused: [why], blocked: why, share: 0, shares: 1, subnets: {}, version: RELEASE_VERSION, pod: 'uid-1' });
      await expect(d.persist([])).rejects.toThrow(/format 99/);
    } finally {
      await d.close();
    }
    expect(files(dataDir)).toEqual(before);
  });

  it('the process: the lease API answers 503 data_dir_refused, and every file is left as it was', async () => {
    const { configFile, dataDir } = setup();
    writeFileSync(join(dataDir, DATA_DIR_MARKER), '{"kind":"dhcpd","format":99,"writtenBy":"9.0.0"}\n');
    const before = files(dataDir);
    const [api, metrics] = [await freePort(), await freePort()];
    const child = spawn(
      process.execPath,
      [MAIN, 'dhcpd', '--config', configFile, '--data-dir', dataDir, '--listen-address', '127.0.0.1', '--listen-port', '0', '--metrics-listen', `127.0.0.1:${metrics}`, '--api-listen', `127.0.0.1:${api}`],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    const lines: string[] = [];
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`dhcpd did not start:\n${lines.join('\n')}`)), 20_000);
        createInterface({ input: child.stdout! }).on('line', (line) => {
          lines.push(line);
          if (line.includes('"lease API serving"')) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      const r = await fetch(`http://127.0.0.1:${api}/v1/leases`);
      expect(r.status).toBe(503);
      expect(await r.json()).toMatchObject({ reason: 'data_dir_refused', message: expect.stringMatching(/format 99 is newer than this release/) });
      expect((await fetch(`http://127.0.0.1:${metrics}/readyz`)).status).toBe(503);
      const msgs = lines.map((l) => (JSON.parse(l) as { msg: string }).msg);
      expect(msgs).toContain('data directory refused at startup: not touching it, serving nothing until terminated');
      expect(msgs).not.toContain('dhcpd serving');
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
    expect(files(dataDir)).toEqual(before);
  });
});
