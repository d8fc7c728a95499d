// The status Lease against a small fake of the coordination.k8s.io API.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DhcpdConfig } from '../../src/api/config/dhcpd.ts';
import { DhcpCore } from '../../src/dhcpd/core.ts';
import { ipv4ToNumber } from '../../src/api/ipv4.ts';
import { createLogger } from '../../src/process/log.ts';
import { DHCP_CONFLICTS_ANNOTATION, DHCP_SERVER_LABEL, DhcpdReport, SERVED_ANNOTATION, readReport, reportText } from '../../src/api/leases.ts';
import { dhcpdReport, startStatusPublisher } from '../../src/dhcpd/status-lease.ts';
import { FORMAT_ANNOTATION } from '../../src/api/formats.ts';
import { RELEASE_VERSION } from '../../src/api/version.ts';
import { conflictReport } from '../../src/dhcpd/status-report.ts';

interface Stored {
  metadata: {
    name: string;
    namespace: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string }[];
  };
  spec?: unknown;
}

describe('status Lease publisher', () => {
  let server: Server;
  let dir: string;
  const leases = new Map<string, Stored>();
  const writes: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const m = /^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/([^/]+)\/leases(?:\/([^/?]+))?/.exec(req.url ?? '');
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const json = (code: number, o: unknown) => res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(o));
        if (!m) return json(404, { kind: 'Status', code: 404 });
        const key = `${m[1]}/${m[2] ?? ''}`;
        if (req.method === 'GET') {
          const l = leases.get(key);
          return l ? json(200, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', ...l }) : json(404, { kind: 'Status', apiVersion: 'v1', code: 404, reason: 'NotFound' });
        }
        const o = JSON.parse(body) as Stored;
        writes.push(req.method ?? '');
        const stored = { ...o, metadata: { ...o.metadata, resourceVersion: String(writes.length) } };
        leases.set(`${m[1]}/${o.metadata.name}`, stored);
        return json(req.method === 'POST' ? 201 : 200, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', ...stored });
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    dir = await mkdtemp(join(tmpdir(), 'aodh-kube-'));
    const port = (server.address() as AddressInfo).port;
    await writeFile(
      join(dir, 'kubeconfig'),
      `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: "http://127.0.0.1:${port}", insecure-skip-tls-verify: true } }]
users: [{ name: u, user: { token: t } }]
contexts: [{ name: x, context: { cluster: c, user: u } }]
current-context: x
`,
    );
  });

  afterAll(async () => {
    server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('creates the Lease with the report and the server label, then updates it only when the report changes', async () => {
    const core = new DhcpCore(DhcpdConfig.parse({ subnets: [{ name: 'net', cidr: '10.1.0.0/24', pools: [{ start: '10.1.0.10', end: '10.1.0.20' }] }] }), { share: 0 });
    const now = Date.now();
    core.restore({ op: 'bind', ip: ipv4ToNumber('10.1.0.10'), subnet: 'net', client: 'a', mac: '01', expires: now + 600_000 }, now);
    let applied = { generation: 3, refused: [] as string[] };
    const publisher = await startStatusPublisher({
      annotations: (at) => ({
        [SERVED_ANNOTATION]: reportText(dhcpdReport(core, applied, 0, at, 'pod-uid-0')),
        [DHCP_CONFLICTS_ANNOTATION]: JSON.stringify(conflictReport(core, at, undefined)),
      }),
      leaseName: 'dhcp-net-0',
      namespace: 'ns1',
      kubeconfig: join(dir, 'kubeconfig'),
      serverName: 'net-0',
      logger: createLogger('test', 'silent'),
      intervalMs: 30,
    });
    const report = () => readReport(DhcpdReport, leases.get('ns1/dhcp-net-0')?.metadata.annotations);
    const until = async (what: () => boolean) => {
      const deadline = Date.now() + 3000;
      while (!what() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    };
    try {
      const first = leases.get('ns1/dhcp-net-0');
      expect(report()).toEqual({ generation: 3, refused: [], share: 0, shares: 1, subnets: { net: { capacity: 11, leased: 1 } }, version: RELEASE_VERSION, pod: 'pod-uid-0' });
      expect(first?.metadata.labels?.[DHCP_SERVER_LABEL]).toBe('net-0');
      // What 0.2.0 reads, plus the format it ignores.
      expect(first?.metadata.annotations?.[FORMAT_ANNOTATION]).toBe('1');
      await new Promise((r) => setTimeout(r, 150));
      expect(writes).toEqual(['POST']);
      core.restore({ op: 'bind', ip: ipv4ToNumber('10.1.0.11'), subnet: 'net', client: 'b', mac: '02', expires: now + 600_000 }, now);
      await until(() => report()?.subnets['net']?.leased === 2);
      expect(report()?.subnets['net']?.leased).toBe(2);
      expect(writes).toEqual(['POST', 'PUT']);
      // A refused reload is published at once.
      applied = { ...applied, refused: ['subnet "net": pools overlap'] };
      publisher.publishNow();
      await until(() => (report()?.refused.length ?? 0) > 0);
      expect(report()?.refused).toEqual(['subnet "net": pools overlap']);

      // A quarantine (here restored as after a restart) reaches the conflicts annotation.
      // Quarantined 10 s ago (the default quarantine is 1 h): inside the 10 min window.
      const quarantineEnd = Math.floor((now + 3_590_000) / 1000) * 1000;
      core.restore({ op: 'quarantine', reason: 'ping', ip: ipv4ToNumber('10.1.0.12'), subnet: 'net', client: '', mac: '03', expires: quarantineEnd }, now);
      const conflicts = () => leases.get('ns1/dhcp-net-0')?.metadata.annotations?.[DHCP_CONFLICTS_ANNOTATION];
      await until(() => conflicts()?.includes('10.1.0.12') ?? false);
      expect(JSON.parse(conflicts() ?? '{}')).toEqual({
        net: { quarantined: 1, recent: 1, windowSeconds: 600, addresses: [{ ip: '10.1.0.12', reason: 'ping', until: new Date(quarantineEnd).toISOString().replace('.000Z', 'Z') }] },
      });
    } finally {
      await publisher.stop();
    }
  });

  it('owned by its pod: takes over the Lease of an earlier pod of that name, and puts it back when the collector took it', async () => {
    const key = 'ns2/dhcp-net-1';
    // What the pod before this one left: its report, owned by it.
    leases.set(key, {
      metadata: { name: 'dhcp-net-1', namespace: 'ns2', resourceVersion: '1', labels: { [DHCP_SERVER_LABEL]: 'net' }, annotations: { [SERVED_ANNOTATION]: '{}' }, ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'dhcp-net-1', uid: 'old-uid' }] },
    });
    writes.length = 0;
    const publisher = await startStatusPublisher({
      annotations: () => ({ [SERVED_ANNOTATION]: reportText({ generation: 1, refused: [], share: 1, shares: 2, subnets: {} }) }),
      leaseName: 'dhcp-net-1',
      namespace: 'ns2',
      kubeconfig: join(dir, 'kubeconfig'),
      serverName: 'net',
      ownerPod: { name: 'dhcp-net-1', uid: 'new-uid' },
      logger: createLogger('test', 'silent'),
      intervalMs: 20,
      verifyMs: 100,
    });
    const until = async (what: () => boolean) => {
      const deadline = Date.now() + 3000;
      while (!what() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    };
    try {
      expect(leases.get(key)?.metadata.ownerReferences).toEqual([{ apiVersion: 'v1', kind: 'Pod', name: 'dhcp-net-1', uid: 'new-uid' }]);
      expect(writes).toEqual(['PUT']);
      // Unchanged: checked now and then (a GET), never written again.
      await new Promise((r) => setTimeout(r, 350));
      expect(writes).toEqual(['PUT']);
      // The garbage collector deleted it (a race with the old pod's owner reference): back within a check.
      leases.delete(key);
      await until(() => leases.has(key));
      expect(writes).toEqual(['PUT', 'POST']);
      expect(leases.get(key)?.metadata.ownerReferences).toEqual([{ apiVersion: 'v1', kind: 'Pod', name: 'dhcp-net-1', uid: 'new-uid' }]);
      expect(readReport(DhcpdReport, leases.get(key)?.metadata.annotations)?.share).toBe(1);
    } finally {
      await publisher.stop();
    }
  });
});
