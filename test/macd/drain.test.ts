// A real macd stopped with SIGTERM while busy keep-alive clients allocate
// through its API (a pod of a rolling restart): /readyz turns 503 on both
// ports, every request read is answered, and a request that fails is one the
// server never read (safe to send again). Checked against the data directory:
// restarted on it, macd holds exactly the MACs the clients were answered 201.
// In process: a replica draining answers the requests another one forwarded
// to it, and a forward whose pooled connection a peer reset before answering
// is sent once more.

import { writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SHUTDOWN_LINGER_MS, type Drained } from '../../src/process/http-drain.ts';
import { BlockCoordinator } from '../../src/macd/replicas.ts';
import { startMacd, type Macd } from '../../src/macd/server.ts';
import { describeLoad, isFailure, runClients, send, type Answer, type LoadResult, type RequestSpec } from '../process/keep-alive-load.ts';
import { FakeLeases } from './fake-leases.ts';
import { call, quietLog, tempDir } from './helpers.ts';
import { kill, spawnMacd, type MacdProcess } from './process.ts';

const MAC = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/;
const TIMEOUT_MS = 10_000;

const running: MacdProcess[] = [];
const inProcess: Macd[] = [];
afterEach(async () => {
  for (const p of running.splice(0)) await kill(p);
  for (const m of inProcess.splice(0)) await m.close();
});

async function start(dataDir: string): Promise<{ p: MacdProcess; metricsPort: number }> {
  const p = await spawnMacd(['--listen', '127.0.0.1:0', '--data-dir', dataDir, '--metrics-listen', '127.0.0.1:0', '--shutdown-timeout', `${TIMEOUT_MS}ms`]);
  running.push(p);
  const line = p.lines.find((l) => l.includes('"probes and metrics listening"'))!;
  return { p, metricsPort: (JSON.parse(line) as { port: number }).port };
}

/** Every allocated MAC and its port_id, read from the export of a macd restarted on `dataDir`. */
async function allocatedAfterRestart(dataDir: string): Promise<Map<string, string>> {
  const { p } = await start(dataDir);
  const r = await send(false, p.port, { method: 'GET', path: '/v1/export' });
  if (isFailure(r) || r.status !== 200) throw new Error(`export failed: ${JSON.stringify(r)}`);
  const held = new Map<string, string>();
  for (const line of r.body.trim().split('\n').slice(1)) {
    const s = JSON.parse(line) as { mac_address: string; port_id: string };
    held.set(s.mac_address, s.port_id);
  }
  await kill(p, 'SIGTERM');
  return held;
}

/** Polls `path` until it stops answering: the statuses of the requests sent after the time `after()` gives. */
async function watchStatus(agent: Agent | false, port: number, path: string, after: () => number | null, stop: () => boolean): Promise<{ status: number; connection: string | undefined }[]> {
  const seen: { status: number; connection: string | undefined }[] = [];
  while (!stop()) {
    const r = await send(agent, port, { method: 'GET', path });
    if (isFailure(r)) {
      if (r.kind !== 'reset-reused') break;
      continue;
    }
    const t = after();
    if (t !== null && r.sentAt > t) seen.push({ status: r.status, connection: r.headers.connection });
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return seen;
}

/** The "API drained" line macd logs, if any. */
function drainedLine(p: MacdProcess): Drained | undefined {
  const line = p.lines.find((l) => l.includes('"API drained'));
  return line === undefined ? undefined : (JSON.parse(line) as Drained);
}

function summary(name: string, load: LoadResult, acked: number, drained: Drained | undefined, exitMs: number): string {
  const drain = drained ? `drain ${drained.ms} ms (answered ${drained.answered} during it, cut ${drained.cut})` : 'no drain logged';
  return `${name}: ${describeLoad(load)}; ${acked} allocated; ${drain}; SIGTERM to exit ${Math.round(exitMs)} ms`;
}

describe('macd drains on SIGTERM', () => {
  it('answers every request it read while 48 keep-alive clients allocate, and exits 0', async () => {
    const dataDir = tempDir('macd-drain-');
    const { p, metricsPort } = await start(dataDir);
    let seq = 0;
    const acked = new Map<string, string>();
    const wrong: string[] = [];
    let sigtermAt: number | null = null;
    let exited = false;
    const onAnswer = (a: Answer, spec: RequestSpec): void => {
      const portId = (JSON.parse(spec.body!) as { mac_state: { port_id: string } }).mac_state.port_id;
      const state = a.status === 201 ? (JSON.parse(a.body) as { mac_state?: { mac_address?: string; port_id?: string } }).mac_state : undefined;
      if (a.status !== 201 || !state?.mac_address || !MAC.test(state.mac_address) || state.port_id !== portId || acked.has(state.mac_address)) {
        wrong.push(`${a.status} ${a.body.slice(0, 200)}`);
        return;
      }
      acked.set(state.mac_address, portId);
    };
    const load = runClients({
      port: p.port,
      clients: 48,
      next: () => ({ method: 'POST', path: '/macs', body: JSON.stringify({ mac_state: { project_id: 'p', vpc_id: 'v', port_id: `port-${seq++}` } }) }),
      onAnswer,
      stop: () => exited,
    });
    // A pooled connection its client leaves idle: the server keeps it through the linger (so the drain lasts that long), then closes it.
    const idle = connect(p.port, '127.0.0.1');
    let idleText = '';
    idle.on('data', (d: Buffer) => (idleText += d.toString('latin1')));
    idle.on('error', () => {});
    const idleClosed = new Promise<void>((resolve) => idle.on('close', () => resolve()));
    idle.write('GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n');
    // Readiness on both ports: the API's on a keep-alive connection of its own (the listener closes at SIGTERM).
    const apiReady = watchStatus(new Agent({ keepAlive: true, maxSockets: 1 }), p.port, '/readyz', () => sigtermAt, () => exited);
    const metricsReady = watchStatus(false, metricsPort, '/readyz', () => sigtermAt, () => exited);
    while (acked.size < 3000) await new Promise((resolve) => setTimeout(resolve, 20));
    sigtermAt = performance.now();
    p.child.kill('SIGTERM');
    const code = await p.exited;
    const exitMs = performance.now() - sigtermAt;
    exited = true;
    const result = await load;
    const drained = drainedLine(p);
    console.log(summary('POST /macs', result, acked.size, drained, exitMs));

    expect(code).toBe(0);
    expect(wrong, 'answers that are not a complete, new 201').toEqual([]);
    expect(result.unsafe, 'failures the server may have read').toEqual([]);
    // Nothing allocated whose answer was lost, nothing answered that is not kept.
    const held = await allocatedAfterRestart(dataDir);
    expect(held.size).toBe(acked.size);
    expect(held).toEqual(acked);
    // The readiness probes saw the shutdown: 503 on the metrics port, and on the API port over the open connection (with the close).
    expect((await metricsReady).map((s) => s.status)).toContain(503);
    expect(await apiReady).toContainEqual({ status: 503, connection: 'close' });
    // Drained within its timeout: nothing was left to cut; the idle connection was closed after the linger, with the one answer it asked for.
    expect(drained?.cut, 'connections cut at the timeout').toBe(0);
    expect(drained!.ms).toBeGreaterThanOrEqual(SHUTDOWN_LINGER_MS);
    expect(drained!.ms).toBeLessThan(TIMEOUT_MS);
    await idleClosed;
    expect(idleText.match(/HTTP\/1\.1 200 /g)).toHaveLength(1);
  });

  it('finishes 10,000-MAC bulk allocations in flight at SIGTERM', async () => {
    const dataDir = tempDir('macd-drain-bulk-');
    const { p } = await start(dataDir);
    const bulk = 10_000;
    let seq = 0;
    const acked = new Map<string, string>();
    const wrong: string[] = [];
    let sigtermAt: number | null = null;
    let finishedInDrain = 0;
    let exited = false;
    let answers = 0;
    const load = runClients({
      port: p.port,
      clients: 6,
      next: () => {
        const states = Array.from({ length: bulk }, () => ({ project_id: 'p', vpc_id: 'v', port_id: `port-${seq++}` }));
        return { method: 'POST', path: '/macs/bulk', body: JSON.stringify({ mac_states: states }) };
      },
      onAnswer: (a, spec) => {
        answers++;
        const asked = (JSON.parse(spec.body!) as { mac_states: { port_id: string }[] }).mac_states.map((s) => s.port_id);
        const got = a.status === 201 ? (JSON.parse(a.body) as { mac_states?: { mac_address: string; port_id: string }[] }).mac_states : undefined;
        if (!got || got.length !== bulk || got.some((s, i) => s.port_id !== asked[i] || !MAC.test(s.mac_address) || acked.has(s.mac_address))) {
          wrong.push(`${a.status} ${a.body.slice(0, 200)}`);
          return;
        }
        for (const s of got) acked.set(s.mac_address, s.port_id);
        if (sigtermAt !== null && a.sentAt < sigtermAt) finishedInDrain++;
      },
      stop: () => exited,
    });
    while (answers < 6) await new Promise((resolve) => setTimeout(resolve, 20));
    sigtermAt = performance.now();
    p.child.kill('SIGTERM');
    const code = await p.exited;
    const exitMs = performance.now() - sigtermAt;
    exited = true;
    const result = await load;
    const drained = drainedLine(p);
    console.log(`${summary('POST /macs/bulk', result, acked.size, drained, exitMs)}; ${finishedInDrain} bulks sent before SIGTERM answered after it`);

    expect(code).toBe(0);
    expect(wrong).toEqual([]);
    expect(result.unsafe).toEqual([]);
    const held = await allocatedAfterRestart(dataDir);
    expect(held.size).toBe(acked.size);
    expect(held).toEqual(acked);
    // The bulks in flight at the signal (each client has one) were answered during the drain.
    expect(drained?.answered).toBeGreaterThan(0);
    expect(drained?.cut).toBe(0);
  });

  it('answers the requests another replica forwarded to it, in flight when it drains', async () => {
    const config = join(tempDir('macd-drain-fwd-'), 'macd.json');
    writeFileSync(config, JSON.stringify({
      ranges: [{ id: 'r', from: 'aa:bb:cc:00:00:00', to: 'aa:bb:cc:00:03:ff' }],
      coordination: { mode: 'kubernetes', pool: { name: 'pool', namespace: 'ns', uid: 'u' }, blockSize: 256 },
    }));
    const leases = new FakeLeases();
    const replica = async (name: string, dataDir: string): Promise<Macd> => {
      const m = await startMacd({
        host: '127.0.0.1',
        port: 0,
        dataDir,
        configFile: config,
        log: quietLog,
        coordinate: async (store, _c, port) => {
          const c = new BlockCoordinator({ store, api: leases, pool: 'pool', replica: name, endpoint: `http://127.0.0.1:${port.port}`, log: quietLog, publishMs: 100 });
          await c.start();
          return { ownerOf: (mac) => c.ownerOf(mac), close: () => c.close() };
        },
      });
      inProcess.push(m);
      return m;
    };
    const aDir = tempDir();
    const a = await replica('a', aDir);
    const b = await replica('b', tempDir());
    const made = await call(`http://127.0.0.1:${a.port}`, 'POST', '/macs/bulk', { mac_states: Array.from({ length: 64 }, (_, i) => ({ project_id: 'p', vpc_id: 'v', port_id: `start-${i}` })) });
    expect(made.status).toBe(201);
    const macs = (made.body['mac_states'] as { mac_address: string }[]).map((m) => m.mac_address);

    // Clients of b update a's MACs (b forwards each to a), each MAC by one client at a time.
    const acked = new Map<string, string>();
    const unexpected: string[] = [];
    let seq = 0;
    let turn = 0;
    let drained = false;
    let after = 0;
    const load = runClients({
      port: b.port,
      clients: 16,
      next: () => {
        const mac = macs[turn++ % macs.length]!;
        return { method: 'PUT', path: `/macs/${mac}`, body: JSON.stringify({ mac_state: { mac_address: mac, project_id: 'p', vpc_id: 'v', port_id: `put-${seq++}` } }) };
      },
      onAnswer: (ans, spec) => {
        if (drained) after++;
        const sent = JSON.parse(spec.body!) as { mac_state: { mac_address: string; port_id: string } };
        if (ans.status === 200) acked.set(sent.mac_state.mac_address, sent.mac_state.port_id);
        // a no longer listens: b cannot reach the replica holding the MAC.
        else if (!(ans.status === 502 && ans.body.includes('upstream_failed') && ans.body.includes('ECONNREFUSED'))) unexpected.push(`${ans.status} ${ans.body.slice(0, 200)}`);
      },
      stop: () => drained && after > 200,
    });
    while (acked.size < macs.length || seq < 2000) await new Promise((resolve) => setTimeout(resolve, 10));
    await a.close({ timeoutMs: 10_000, lingerMs: SHUTDOWN_LINGER_MS });
    drained = true;
    const result = await load;
    expect(unexpected).toEqual([]);
    expect(result.unsafe).toEqual([]);
    // Restarted, a holds for each MAC the last update it answered: none that b answered 502 was applied.
    const again = await replica('a', aDir);
    for (const mac of macs) {
      const got = await call(`http://127.0.0.1:${again.port}`, 'GET', `/macs/${mac}`);
      expect((got.body['mac_state'] as { port_id: string }).port_id, mac).toBe(acked.get(mac));
    }
  });

  it('sends a forwarded request once more, on a new connection, when the peer resets its pooled connection before answering', async () => {
    // A peer that answers the first request of a connection and resets it on the second (a peer closing it as idle just as it was reused).
    const seen: string[] = [];
    const peer = createServer((socket: Socket) => {
      let requests = 0;
      socket.on('error', () => {});
      socket.on('data', (d: Buffer) => {
        seen.push(d.toString('latin1').split(' ')[1]!);
        if (++requests > 1) return void socket.resetAndDestroy();
        const body = '{"mac_state":null}';
        socket.write(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: keep-alive\r\n\r\n${body}`);
      });
    });
    await new Promise<void>((resolve) => peer.listen(0, '127.0.0.1', resolve));
    const peerUrl = `http://127.0.0.1:${(peer.address() as { port: number }).port}`;
    const config = join(tempDir('macd-drain-retry-'), 'macd.json');
    writeFileSync(config, JSON.stringify({
      ranges: [{ id: 'r', from: 'aa:bb:cc:00:00:00', to: 'aa:bb:cc:00:03:ff' }],
      coordination: { mode: 'kubernetes', pool: { name: 'pool', namespace: 'ns', uid: 'u' }, blockSize: 256 },
    }));
    const m = await startMacd({ host: '127.0.0.1', port: 0, dataDir: tempDir(), configFile: config, log: quietLog, coordinate: async () => ({ ownerOf: () => peerUrl, close: async () => {} }) });
    inProcess.push(m);
    try {
      const url = `http://127.0.0.1:${m.port}`;
      expect((await call(url, 'GET', '/macs/aa:bb:cc:00:00:01')).status).toBe(200);
      const again = await call(url, 'GET', '/macs/aa:bb:cc:00:00:02');
      expect(again).toEqual({ status: 200, body: { mac_state: null } });
      // Sent on the pooled connection (reset), then on a new one.
      expect(seen).toEqual(['/macs/aa:bb:cc:00:00:01', '/macs/aa:bb:cc:00:00:02', '/macs/aa:bb:cc:00:00:02']);
    } finally {
      peer.close();
    }
  });
});
