// macd and dhcpd write their Leases through the project's own client and
// never load @kubernetes/client-node (about 87 MiB of RSS per pod). Both run
// here as real processes with a hook that makes loading it fail, against a
// small fake of the coordination.k8s.io Lease API.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RELEASE_VERSION } from '../../src/api/version.ts';

const root = resolve(import.meta.dirname, '../..');
const hook = join(import.meta.dirname, 'deny-client-node.mjs');
const MAIN = join(root, 'src/cli/main.ts');

interface Stored {
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string>; resourceVersion?: string; [k: string]: unknown };
  [k: string]: unknown;
}

/** The Lease requests macd and dhcpd make: list (by label), get, create, update, merge patch. */
function fakeLeaseApi(): { server: Server; leases: Map<string, Stored>; requests: string[] } {
  const leases = new Map<string, Stored>();
  const requests: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const m = /^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/[^/]+\/leases(?:\/([^/]+))?$/.exec(url.pathname);
      requests.push(`${req.method} ${url.pathname}`);
      const json = (code: number, o: unknown) => res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(o));
      if (!m) return json(404, { kind: 'Status', code: 404, reason: 'NotFound' });
      const name = m[1];
      if (req.method === 'GET' && !name) {
        const [k, v] = (url.searchParams.get('labelSelector') ?? '').split('=');
        return json(200, { metadata: { resourceVersion: '1' }, items: [...leases.values()].filter((l) => !k || l.metadata.labels?.[k] === v) });
      }
      const existing = name ? leases.get(name) : undefined;
      if (req.method === 'GET') return existing ? json(200, existing) : json(404, { kind: 'Status', code: 404, reason: 'NotFound' });
      const o = JSON.parse(body) as Stored;
      if (req.method === 'POST') {
        if (leases.has(o.metadata.name)) return json(409, { kind: 'Status', code: 409, reason: 'AlreadyExists' });
        leases.set(o.metadata.name, o);
        return json(201, o);
      }
      if (!existing) return json(404, { kind: 'Status', code: 404, reason: 'NotFound' });
      if (req.method === 'PUT') leases.set(name!, o);
      if (req.method === 'PATCH') {
        expect(req.headers['content-type']).toBe('application/merge-patch+json');
        existing.metadata.annotations = { ...existing.metadata.annotations, ...o.metadata.annotations };
      }
      return json(200, leases.get(name!));
    });
  });
  return { server, leases, requests };
}

function spawnWithHook(args: string[], ready: RegExp): Promise<{ child: ChildProcess; line: string }> {
  const child = spawn(process.execPath, ['--import', hook, MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(child);
  let output = '';
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready in 20 s:\n${output}`)), 20_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      output += line + '\n';
      if (ready.test(line)) {
        clearTimeout(timer);
        resolvePromise({ child, line });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code}:\n${output}`));
    });
  });
}

async function until<T>(what: string, get: () => T | undefined): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const v = get();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const procs: ChildProcess[] = [];
let api: ReturnType<typeof fakeLeaseApi>;
let dir = '';
let kubeconfig = '';

beforeAll(async () => {
  api = fakeLeaseApi();
  await new Promise<void>((r) => api.server.listen(0, '127.0.0.1', () => r()));
  dir = mkdtempSync(join(tmpdir(), 'no-client-node-'));
  kubeconfig = join(dir, 'kubeconfig');
  const port = (api.server.address() as AddressInfo).port;
  writeFileSync(kubeconfig, `current-context: x\ncontexts: [{ name: x, context: { cluster: c, user: u } }]\nclusters: [{ name: c, cluster: { server: "http://127.0.0.1:${port}" } }]\nusers: [{ name: u, user: { token: t } }]\n`);
});

afterAll(async () => {
  for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  api.server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the servers never load @kubernetes/client-node', () => {
  it('the hook works: a process that imports client-node fails', async () => {
    const code = await new Promise<number>((done) => {
      execFile(process.execPath, ['--import', hook, '--input-type=module', '-e', "await import('@kubernetes/client-node')"], { cwd: root }, (err) => done(err ? Number((err as { code?: number }).code ?? 1) : 0));
    });
    expect(code).not.toBe(0);
  });

  it('macd in replica mode claims, creates and annotates its block Lease', async () => {
    const config = join(dir, 'macd.json');
    writeFileSync(config, JSON.stringify({ ranges: [{ id: 'range0', from: 'aa:bb:cc:00:00:00', to: 'aa:bb:cc:00:ff:ff' }], coordination: { mode: 'kubernetes', pool: { name: 'pool', namespace: 'ns', uid: 'u1' }, blockSize: 256 } }));
    const { child: macd, line } = await spawnWithHook(['macd', '--listen', '127.0.0.1:0', '--data-dir', join(dir, 'macd'), '--config', config, '--kubeconfig', kubeconfig, '--replica', 'r0'], /"macd listening"/);
    const { port } = JSON.parse(line) as { port: number };
    const status = await new Promise<number>((done, fail) => {
      const body = JSON.stringify({ mac_state: { project_id: 'p', vpc_id: 'v', port_id: 'p1' } });
      const req = request({ host: '127.0.0.1', port, path: '/macs', method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume();
        done(res.statusCode ?? 0);
      });
      req.on('error', fail);
      req.end(body);
    });
    expect(status).toBe(201);
    const lease = await until('the block Lease with its count', () => [...api.leases.values()].find((l) => l.metadata.annotations?.['alcor.dev/allocated'] === '1'));
    expect(lease.metadata.labels).toEqual({ 'alcor.dev/mac-pool': 'pool' });
    expect(lease.metadata.annotations?.['alcor.dev/allocated-by-range']).toBe('{"range0":1}');
    expect(lease.metadata.annotations?.['alcor.dev/format']).toBe('1');
    expect(lease.metadata['ownerReferences']).toEqual([{ apiVersion: 'alcor.dev/v1alpha1', kind: 'MacPool', name: 'pool', uid: 'u1' }]);
    expect((lease['spec'] as { holderIdentity: string; acquireTime: string }).holderIdentity).toBe('r0');
    expect((lease['spec'] as { acquireTime: string }).acquireTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(api.requests.some((r) => r.startsWith('PATCH '))).toBe(true);
    // The replica's report, on the Lease named after it.
    const report = await until('the report Lease', () => (api.leases.get('r0')?.metadata.annotations?.['alcor.dev/served']?.includes('"allocated":1') ? api.leases.get('r0') : undefined));
    expect(report.metadata.labels).toEqual({ 'alcor.dev/mac-pool': 'pool' });
    expect(JSON.parse(report.metadata.annotations!['alcor.dev/served']!)).toMatchObject({ allocated: 1, refused: [], version: RELEASE_VERSION });
    expect(report.metadata.annotations?.['alcor.dev/format']).toBe('1');
    macd.kill('SIGTERM');
  });

  it('dhcpd publishes its report Lease', async () => {
    const config = join(dir, 'dhcpd.json');
    writeFileSync(config, JSON.stringify({ subnets: [{ name: 'net', cidr: '10.1.0.0/24', pools: [{ start: '10.1.0.10', end: '10.1.0.20' }] }] }));
    const { child: dhcpd } = await spawnWithHook(
      ['dhcpd', '--config', config, '--data-dir', join(dir, 'dhcpd'), '--listen-address', '127.0.0.1', '--listen-port', '0', '--metrics-listen', 'off', '--kubeconfig', kubeconfig, '--status-lease', 'net-0', '--namespace', 'ns', '--server-name', 'net'],
      /"dhcpd serving"/,
    );
    const lease = await until('the report Lease', () => api.leases.get('net-0'));
    expect(lease.metadata.annotations?.['alcor.dev/served']).toBe(`{"generation":0,"refused":[],"share":0,"shares":1,"subnets":{"net":{"capacity":11,"leased":0}},"version":"${RELEASE_VERSION}"}`);
    expect(lease.metadata.annotations?.['alcor.dev/format']).toBe('1');
    expect(lease.metadata.labels?.['alcor.dev/dhcp-server']).toBe('net');
    dhcpd.kill('SIGTERM');
  });
});
