// macd's data directory marker (format.json, src/process/data-dir-format.ts):
// written once the directory opened; a marker of a format this release does
// not read (or no marker at all, but something else) leaves the directory
// untouched, byte for byte, while macd serves nothing and says why: /healthz
// ok, /readyz 503, the API 503, and in replica mode the report on its Lease.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { DATA_DIR_MARKER } from '../../src/api/formats.ts';
import type { MacdReport } from '../../src/api/leases.ts';
import { RELEASE_VERSION } from '../../src/api/version.ts';
import type { PoolRef } from '../../src/macd/leases.ts';
import { startMacd } from '../../src/macd/server.ts';
import { markerText } from '../../src/process/data-dir-format.ts';
import { freePort } from '../../e2e/cluster/net.ts';
import { call, quietLog, tempDir } from './helpers.ts';
import { kill, spawnMacd, type MacdProcess } from './process.ts';

/** Every file of `dir` with its bytes' hash and mode and mtime: what "untouched" means. */
function files(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir).sort()) {
    const st = statSync(join(dir, f));
    out[f] = `${createHash('sha256').update(readFileSync(join(dir, f))).digest('hex')} ${st.size} ${st.mode} ${st.mtimeMs}`;
  }
  return out;
}

const state = { project_id: 'p', vpc_id: 'v', port_id: 'x' };
let running: MacdProcess | undefined;
afterEach(async () => {
  if (running) await kill(running);
  running = undefined;
});

/** A data directory macd wrote: a snapshot (at its shutdown), and a log after it. */
async function usedDataDir(): Promise<string> {
  const dir = tempDir('macd-format-');
  running = await spawnMacd(['--listen', '127.0.0.1:0', '--data-dir', dir]);
  expect((await call(running.url, 'POST', '/macs/bulk', { mac_states: [state, state, state] })).status).toBe(201);
  await kill(running, 'SIGTERM');
  running = await spawnMacd(['--listen', '127.0.0.1:0', '--data-dir', dir]);
  expect((await call(running.url, 'POST', '/macs', { mac_state: state })).status).toBe(201);
  await kill(running);
  running = undefined;
  return dir;
}

describe('macd data directory format', () => {
  it('writes its marker once the directory opened, and reads it at the next start', async () => {
    const dir = await usedDataDir();
    expect(readFileSync(join(dir, DATA_DIR_MARKER), 'utf8')).toBe(markerText('macd'));
    running = await spawnMacd(['--listen', '127.0.0.1:0', '--data-dir', dir]);
    expect((await fetch(`${running.url}/readyz`)).status).toBe(200);
    expect((await call(running.url, 'GET', '/macs/ranges')).body['mac_ranges']).toMatchObject([{ used: 4 }]);
  });

  it.each([
    ['of format 99', '{"kind":"macd","format":99,"writtenBy":"9.0.0"}\n', /\/format\.json: macd data directory format 99 is newer than this release \(0\.3\.0\) reads \(up to 1\); the directory is left untouched$/],
    ['that is not JSON', '{"kind":', /\/format\.json: not JSON/],
    ['of a dhcpd directory', '{"kind":"dhcpd","format":1,"writtenBy":"0.3.0"}\n', /\/format\.json: the data directory of dhcpd, not of macd/],
  ])('a marker %s: serves nothing, says why, and leaves every file as it was', async (_name, marker, why) => {
    const dir = await usedDataDir();
    writeFileSync(join(dir, DATA_DIR_MARKER), marker);
    const before = files(dir);
    expect(Object.keys(before)).toEqual(expect.arrayContaining(['format.json', 'snapshot.bin', expect.stringMatching(/^log-\d+\.bin$/), expect.stringMatching(/^slots-/)]));

    running = await spawnMacd(['--listen', '127.0.0.1:0', '--data-dir', dir], {}, 'data directory refused at startup');
    expect((await fetch(`${running.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${running.url}/readyz`)).status).toBe(503);
    for (const [method, path, body] of [['GET', '/macs/ranges'], ['POST', '/macs', { mac_state: state }], ['GET', '/v1/macs']] as const) {
      const r = await call(running.url, method, path, body);
      expect(r.status).toBe(503);
      expect(r.body).toMatchObject({ reason: 'data_dir_refused', message: expect.stringMatching(why) });
    }
    const logged = running.lines.map((l) => JSON.parse(l) as { msg: string; err?: string }).find((l) => l.msg.startsWith('data directory refused'));
    expect(logged?.err).toMatch(why);
    // Waits until terminated, then ends without writing.
    await kill(running, 'SIGTERM');
    running = undefined;
    expect(files(dir)).toEqual(before);
  });

  it('replica mode: the refusal is its report on its Lease (blocked, and refused), with its release and pod', async () => {
    const dir = tempDir('macd-format-');
    writeFileSync(join(dir, 'config.yaml'), stringify({ generation: 4, coordination: { mode: 'kubernetes', pool: { name: 'pool', namespace: 'ns', uid: 'uid-1' } } }));
    writeFileSync(join(dir, DATA_DIR_MARKER), '{"kind":"macd","format":2,"writtenBy":"0.4.0"}');
    const before = files(dir);
    const port = await freePort();
    const published: [PoolRef, MacdReport][] = [];
    let fail = 1;
    void startMacd({
      host: '127.0.0.1',
      port,
      dataDir: dir,
      configFile: join(dir, 'config.yaml'),
      log: quietLog,
      podUid: 'pod-uid-1',
      publishRefusal: async (p, r) => {
        // The first write fails (the API server away): it is retried.
        if (fail-- > 0) throw new Error('connection refused');
        published.push([p, r]);
      },
    });
    const deadline = Date.now() + 15_000;
    while (published.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const why = `${join(dir, DATA_DIR_MARKER)}: macd data directory format 2 is newer than this release (${RELEASE_VERSION}) reads (up to 1); the directory is left untouched`;
    expect(published).toEqual([[{ name: 'pool', namespace: 'ns', uid: 'uid-1' }, { generation: 0, refused: [why], blocked: why, capacity: 0, allocated: 0, version: RELEASE_VERSION, pod: 'pod-uid-1' }]]);
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(503);
    expect(files(dir)).toEqual(before);
  });
});
