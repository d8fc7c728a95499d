// Old and new servers at once, as a StatefulSet roll leaves them: release
// 0.2.0 (its own tree, built from its commit by e2e/release.ts) and the
// working tree serve one pool or subnet together, each replica on its own
// data directory.
//
// macd (real processes on loopback against the suite's cluster, as
// e2e/macd-replicas.test.ts): two 0.2.0 replicas and one of the working tree
// allocate concurrently (single and bulk, through every replica); then the
// 0.2.0 ones are rolled to the working tree one at a time (SIGTERM, same name,
// port and data directory) under continuous load, and the one the working
// tree started is rolled back to 0.2.0 on the data directory the new code
// wrote. Afterwards: no MAC acknowledged twice; every acknowledged MAC is
// allocated with its port, project and vpc (read through any replica); every
// replica counts the same, which is what was acknowledged plus what the
// requests whose answer was lost (in doubt) allocated, and nothing else.
//
// dhcpd (no cluster): leases written by 0.2.0 are listed with the same
// expiry by the working tree on the same data directory, and back, with two
// replicas of mixed versions answering for one subnet; and, where network
// namespaces can be made, a real dhclient keeps its address across the same
// upgrade and rollback.
import { writeFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { backupLines, type LeaseEntry } from '../src/api/backup.ts';
import { spawnDhcpd, stop as stopDhcpd, type DhcpdProcess } from '../test/dhcpd/api-process.ts';
import { hookEvents, Lab, labUnavailable } from '../test/dhcpd/lab/netns.ts';
import { tempDir } from '../test/macd/helpers.ts';
import { kill, MAIN, spawnMacdOf, type MacdProcess } from '../test/macd/process.ts';
import { freePort } from './cluster/net.ts';
import { createNamespace, eventually, getJson, kubectl, kubectlOk, waitEstablished } from './kubectl.ts';
import { RELEASE, RELEASE_SHORT, releaseTree } from './release.ts';

const root = join(import.meta.dirname, '..');
const release = await releaseTree((l) => process.stderr.write(`${l}\n`));
const skip = 'skip' in release ? release.skip : undefined;
if (skip) console.warn(`skipping the mixed-version tests: ${skip}`);

type Version = 'release' | 'working';
const program = (v: Version): [string, string] => ('skip' in release || v === 'working' ? [process.execPath, MAIN] : [release.node, release.bin]);
const label = (v: Version) => (v === 'release' ? RELEASE.version : 'working tree');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function call(agent: Agent, base: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? '' : JSON.stringify(body);
    const req = request(base + path, { method, agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(data);
  });
}

// ---------------------------------------------------------------- macd

interface Replica {
  name: string;
  port: number;
  dir: string;
  version: Version;
  proc?: MacdProcess;
  /** In the rotation the load picks from (a Service's endpoints). */
  live: boolean;
}
interface MacState {
  mac_address: string;
  project_id: string;
  vpc_id: string;
  port_id: string;
}
interface Sent {
  project_id: string;
  vpc_id: string;
}

let ns = '';
let poolUid = '';
const replicas: Replica[] = [];

describe.skipIf(skip !== undefined)(`macd: replicas of ${RELEASE.version} (${RELEASE_SHORT}) and the working tree serve one pool`, () => {
  beforeAll(async () => {
    await kubectlOk(['apply', '--server-side', '--force-conflicts', '-f', join(root, 'crds')]);
    await waitEstablished(['macpools.alcor.dev']);
    ns = await createNamespace('e2e-mixed');
    // The pool object owns the block Leases (nothing reconciles it in this file).
    await kubectlOk(['-n', ns, 'apply', '-f', '-'], JSON.stringify({
      apiVersion: 'alcor.dev/v1alpha1',
      kind: 'MacPool',
      metadata: { name: 'pool' },
      spec: { oui: 'aa:bb:cc', ranges: [{ name: 'range0', from: 'aa:bb:cc:00:00:00', to: 'aa:bb:cc:ff:ff:ff' }] },
    }));
    poolUid = (await getJson<{ metadata: { uid: string } }>(['-n', ns, 'get', 'macpool', 'pool'])).metadata.uid;
  });
  afterAll(async () => {
    for (const r of replicas) if (r.proc) await kill(r.proc);
    if (ns) await kubectl(['delete', 'namespace', ns, '--wait=false']);
  });

  it('0 duplicates and every acknowledged MAC kept through an upgrade roll and a rollback under load', async () => {
    const started = Date.now();
    const dir = tempDir('macd-mixed-');
    const config = join(dir, 'macd.json');
    // Small blocks: the replicas claim many, so claims of both versions interleave.
    writeFileSync(config, JSON.stringify({
      oui: 'aa:bb:cc',
      ranges: [{ id: 'range0', from: 'aa:bb:cc:00:00:00', to: 'aa:bb:cc:ff:ff:ff' }],
      coordination: { mode: 'kubernetes', pool: { name: 'pool', namespace: ns, uid: poolUid }, blockSize: 4096 },
    }));
    const agent = new Agent({ keepAlive: true, maxSockets: 32 });
    const log: string[] = [];
    const note = (s: string) => log.push(`${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s  ${s}`);

    async function start(r: Replica, version: Version): Promise<void> {
      r.version = version;
      r.proc = await spawnMacdOf(program(version), ['--listen', `127.0.0.1:${r.port}`, '--data-dir', r.dir, '--config', config, '--kubeconfig', inject('kubeconfig'), '--replica', r.name]);
      await eventually(`${r.name} (${label(version)}) ready`, async () => (await call(agent, `http://127.0.0.1:${r.port}`, 'GET', '/readyz').catch(() => ({ status: 0 }))).status === 200, 30_000);
      r.live = true;
      note(`${r.name} serving as ${label(version)}`);
    }
    /** Out of the rotation, then SIGTERM (a Service drops the pod as the kubelet signals it); SIGKILL after the 30 s grace. */
    async function stop(r: Replica): Promise<void> {
      r.live = false;
      const t = Date.now();
      r.proc!.child.kill('SIGTERM');
      const timer = setTimeout(() => r.proc!.child.kill('SIGKILL'), 30_000);
      const code = await r.proc!.exited;
      clearTimeout(timer);
      note(`${r.name} (${label(r.version)}) stopped: exit ${code} after ${Date.now() - t} ms`);
    }

    for (const [i, v] of (['release', 'release', 'working'] as const).entries()) {
      const r: Replica = { name: `macd-${i}`, port: await freePort(), dir: join(dir, `r${i}`), version: v, live: false };
      replicas.push(r);
      await start(r, v);
    }

    // The load: per replica a single-MAC stream and a bulk stream, each
    // paced, each going to another live replica while its own is out.
    const acked = new Map<string, { port_id: string } & Sent>();
    const duplicates: string[] = [];
    const wrong: string[] = [];
    /** port_ids of requests whose answer was lost (connection error or 5xx): allocated or not. */
    const inDoubt = new Set<string>();
    const failed = new Map<string, { refused: number; inDoubt: number; examples: string[] }>();
    let phase = 'mixed';
    const fail = (kind: 'refused' | 'inDoubt', what: string) => {
      const f = failed.get(phase) ?? { refused: 0, inDoubt: 0, examples: [] };
      f[kind]++;
      if (f.examples.length < 5) f.examples.push(what);
      failed.set(phase, f);
    };
    let requests = 0;
    let loading = true;
    const MAX_MACS = 250_000;
    const worker = async (w: number, bulk: number): Promise<void> => {
      for (let seq = 0; loading && acked.size < MAX_MACS; seq++) {
        const live = replicas.filter((r) => r.live);
        const r = live.find((x) => x.name === `macd-${w % 3}`) ?? live[seq % Math.max(1, live.length)];
        if (!r) {
          await sleep(20);
          continue;
        }
        const states = Array.from({ length: bulk }, (_, i) => ({ project_id: `p${w}`, vpc_id: `v${seq % 7}`, port_id: `w${w}-${seq}-${i}` }));
        const path = bulk === 1 ? '/macs' : '/macs/bulk';
        requests++;
        try {
          const res = await call(agent, `http://127.0.0.1:${r.port}`, 'POST', path, bulk === 1 ? { mac_state: states[0] } : { mac_states: states });
          if (res.status === 201) {
            const body = JSON.parse(res.body) as { mac_state?: MacState; mac_states?: MacState[] };
            const got = body.mac_states ?? [body.mac_state!];
            for (const [i, s] of got.entries()) {
              const sent = states[i]!;
              if (s.port_id !== sent.port_id || s.project_id !== sent.project_id || s.vpc_id !== sent.vpc_id) wrong.push(`${r.name} answered ${JSON.stringify(s)} for ${JSON.stringify(sent)}`);
              if (acked.has(s.mac_address)) duplicates.push(`${s.mac_address}: ${acked.get(s.mac_address)!.port_id} and ${sent.port_id} (through ${r.name})`);
              acked.set(s.mac_address, sent);
            }
          } else if (res.status >= 500) {
            for (const s of states) inDoubt.add(s.port_id);
            fail('inDoubt', `${r.name} ${res.status} ${res.body.slice(0, 160)}`);
          } else fail('refused', `${r.name} ${res.status} ${res.body.slice(0, 160)}`);
        } catch (err) {
          for (const s of states) inDoubt.add(s.port_id);
          fail('inDoubt', `${r.name} ${(err as Error).message}`);
        }
        await sleep(10);
      }
    };
    const workers = [0, 1, 2].flatMap((w) => [worker(w, 1), worker(w + 3, 16)]);
    /** Lets the load run until `n` more MACs are acknowledged. */
    const more = (n: number) => {
      const target = acked.size + n;
      return eventually(`${n} more MACs acknowledged`, async () => acked.size >= target || acked.size >= MAX_MACS, 120_000, 50);
    };

    note(`load on 2 × ${RELEASE.version} + 1 × working tree`);
    await more(5_000);
    for (const r of replicas.filter((x) => x.version === 'release')) {
      phase = `rolling ${r.name} to the working tree`;
      await stop(r);
      await start(r, 'working');
      await more(5_000);
    }
    const back = replicas.find((r) => r.name === 'macd-2')!;
    phase = `rolling ${back.name} back to ${RELEASE.version}`;
    await stop(back);
    await start(back, 'release');
    await more(5_000);
    phase = 'after the rollback';
    await more(2_000);
    loading = false;
    await Promise.all(workers);
    note(`load stopped: ${requests} requests, ${acked.size} MACs acknowledged, ${inDoubt.size} port ids in doubt`);

    // Every allocated MAC, pool-wide, through one replica (it merges the others).
    const listed = new Map<string, MacState>();
    const listedTwice: string[] = [];
    let token = '';
    do {
      const res = await call(agent, `http://127.0.0.1:${replicas[0]!.port}`, 'GET', `/v1/macs?limit=5000${token ? `&continue=${encodeURIComponent(token)}` : ''}`);
      expect(res.status, res.body).toBe(200);
      const page = JSON.parse(res.body) as { items: MacState[]; continue?: string; warnings?: unknown };
      expect(page.warnings, 'a replica did not answer the listing').toBeUndefined();
      for (const s of page.items) {
        if (listed.has(s.mac_address)) listedTwice.push(s.mac_address);
        listed.set(s.mac_address, s);
      }
      token = page.continue ?? '';
    } while (token);

    // Each acknowledged MAC read back, through the replicas in turn (forwarded to its block's holder).
    const lost: string[] = [];
    const macs = [...acked.keys()];
    let next = 0;
    await Promise.all(Array.from({ length: 24 }, async (_, c) => {
      for (let i = next++; i < macs.length; i = next++) {
        const mac = macs[i]!;
        const r = replicas[(i + c) % 3]!;
        const res = await call(agent, `http://127.0.0.1:${r.port}`, 'GET', `/macs/${mac}`);
        const got = res.status === 200 ? (JSON.parse(res.body) as { mac_state: MacState | null }).mac_state : null;
        const want = acked.get(mac)!;
        if (!got || got.port_id !== want.port_id || got.project_id !== want.project_id || got.vpc_id !== want.vpc_id) {
          lost.push(`${mac} (${want.port_id}) through ${r.name} (${label(r.version)}): ${res.status} ${res.body.slice(0, 160)}`);
        }
      }
    }));
    const notAsked = [...listed.values()].filter((s) => !acked.has(s.mac_address) && !inDoubt.has(s.port_id));
    const inDoubtAllocated = [...listed.values()].filter((s) => !acked.has(s.mac_address) && inDoubt.has(s.port_id)).length;
    const counts: Record<string, number> = {};
    for (const r of replicas) {
      const res = await call(agent, `http://127.0.0.1:${r.port}`, 'GET', '/macs/ranges');
      const ranges = (JSON.parse(res.body) as { mac_ranges: { range_id: string; used: number }[] }).mac_ranges;
      counts[`${r.name} (${label(r.version)})`] = ranges.find((x) => x.range_id === 'range0')?.used ?? -1;
    }
    const holders = (await getJson<{ items: { metadata: { name: string }; spec: { holderIdentity?: string } }[] }>(['-n', ns, 'get', 'leases', '-l', 'alcor.dev/mac-pool=pool'])).items
      .filter((l) => l.metadata.name.startsWith('pool-block-'));
    agent.destroy();

    const failedTotal = [...failed.values()].reduce((n, f) => n + f.refused + f.inDoubt, 0);
    console.log([
      `macd mixed versions (${((Date.now() - started) / 1000).toFixed(0)} s): ${requests} requests, ${acked.size} MACs acknowledged, ${failedTotal} requests failed, ${inDoubtAllocated} MACs allocated by requests in doubt, ${holders.length} block Leases`,
      ...log,
      'failed requests by phase:',
      ...(failed.size === 0 ? ['  none'] : [...failed].map(([p, f]) => `  ${p}: ${f.refused} refused, ${f.inDoubt} in doubt; e.g. ${f.examples.join(' | ')}`)),
      `range0 used per replica: ${JSON.stringify(counts)}`,
    ].join('\n'));

    expect(duplicates, 'MACs acknowledged twice').toEqual([]);
    expect(listedTwice, 'MACs listed twice').toEqual([]);
    expect(wrong, 'answers that did not echo the request').toEqual([]);
    expect(lost.slice(0, 20), `${lost.length} acknowledged MACs not read back as allocated`).toEqual([]);
    expect(notAsked.slice(0, 20), 'allocated MACs no request asked for').toEqual([]);
    expect(listed.size).toBe(acked.size + inDoubtAllocated);
    expect(new Set(Object.values(counts)), `range counts differ: ${JSON.stringify(counts)}`).toEqual(new Set([listed.size]));
    for (const l of holders) expect(['macd-0', 'macd-1', 'macd-2']).toContain(l.spec.holderIdentity);
    expect(acked.size).toBeGreaterThan(20_000);
  }, 600_000);
});

// ---------------------------------------------------------------- dhcpd

const SUBNET = { name: 'net', cidr: '10.70.0.0/24', pools: [{ start: '10.70.0.10', end: '10.70.0.200' }], leaseTime: 3600 };

interface Lease {
  ip: string;
  mac: string;
  client: string;
  hostname?: string;
  expires: string;
  state: string;
}
/** What must survive a change of version (server names the replica that answers: left out). */
const kept = (l: Lease) => ({ ip: l.ip, mac: l.mac, client: l.client, hostname: l.hostname, expires: l.expires, state: l.state });

async function listLeases(base: string): Promise<Lease[]> {
  const out: Lease[] = [];
  let token = '';
  do {
    const res = await fetch(`${base}/v1/leases?limit=50${token ? `&continue=${encodeURIComponent(token)}` : ''}`);
    const body = (await res.json()) as { items: Lease[]; continue?: string; warnings?: unknown };
    if (res.status !== 200) throw new Error(`${base} /v1/leases: ${res.status} ${JSON.stringify(body)}`);
    if (body.warnings) throw new Error(`${base} /v1/leases warns: ${JSON.stringify(body.warnings)}`);
    out.push(...body.items);
    token = body.continue ?? '';
  } while (token);
  return out;
}

describe.skipIf(skip !== undefined)(`dhcpd: a lease log of ${RELEASE.version} served by the working tree, and back`, () => {
  const procs: DhcpdProcess[] = [];
  afterAll(async () => {
    for (const p of procs) await stopDhcpd(p);
  });

  it('two replicas of mixed versions list the same leases with the same expiry, across an upgrade and a rollback of each', async () => {
    const dir = tempDir('dhcpd-mixed-');
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ subnets: [SUBNET], ha: { shares: 2 } }));
    const ports = [await freePort(), await freePort()];
    const versions: Version[] = ['release', 'release'];
    const start = async (i: number, v: Version) => {
      versions[i] = v;
      const p = await spawnDhcpd(['--config', config, '--data-dir', join(dir, `r${i}`), '--share', String(i), '--replica', `net-dhcpd-${i}`, '--peer', `http://127.0.0.1:${ports[1 - i]}`], ports[i]!, program(v));
      procs[i] = p;
    };
    const restart = async (i: number, v: Version) => {
      await stopDhcpd(procs[i]!, 'SIGTERM');
      await start(i, v);
    };
    const bases = ports.map((p) => `http://127.0.0.1:${p}`);

    await start(0, 'release');
    await start(1, 'working');
    // Leases of both shares, imported through the 0.2.0 replica: each replica writes its share's to its own log.
    const inAnHour = Date.now() + 3_600_000;
    const entries: LeaseEntry[] = Array.from({ length: 60 }, (_, n) => ({
      ip: `10.70.0.${20 + n}`,
      mac: `52:54:00:00:01:${n.toString(16).padStart(2, '0')}`,
      client: `hw:1:5254000001${n.toString(16).padStart(2, '0')}`,
      hostname: `vm${n}`,
      // Whole seconds apart, so a changed expiry shows.
      expires: new Date(inAnHour + n * 1000).toISOString(),
      state: 'bound',
    }));
    const header = { kind: 'DhcpSubnetBackup' as const, version: 1 as const, subnet: { namespace: 'ns', name: 'net', uid: 'u1', cidr: SUBNET.cidr }, ranges: SUBNET.pools, created: new Date().toISOString(), count: entries.length };
    const imported = await fetch(`${bases[0]}/v1/import?mode=import`, { method: 'POST', body: backupLines(header, entries) });
    expect(imported.status, await imported.clone().text()).toBe(200);

    const before = (await listLeases(bases[0]!)).map(kept);
    expect(before.map((l) => l.ip)).toEqual(entries.map((e) => e.ip));
    const steps: string[] = [];
    const check = async (what: string) => {
      for (const [i, base] of bases.entries()) {
        expect((await listLeases(base)).map(kept), `${what}: replica ${i} (${label(versions[i]!)})`).toEqual(before);
      }
      steps.push(`${what}: ${versions.map(label).join(' + ')}`);
    };
    await check('written');
    await restart(0, 'working'); // 0.2.0's log, read by the working tree
    await check('replica 0 upgraded');
    await restart(1, 'release'); // the working tree's log, read by 0.2.0
    await check('replica 1 rolled back');
    await restart(0, 'release'); // back to 0.2.0 on a log the working tree rewrote at start
    await check('replica 0 rolled back');
    console.log(`dhcpd lease API across versions: ${before.length} leases, the same everywhere after: ${steps.join('; ')}`);
  }, 120_000);
});

const unavailable = skip ?? (await labUnavailable(['dhclient']));
if (unavailable && !skip) console.warn(`skipping the dhclient part of the mixed-version tests: ${unavailable}`);

describe.skipIf(unavailable !== undefined)(`dhcpd: a real dhclient keeps its address from ${RELEASE.version} to the working tree and back`, () => {
  let lab: Lab | undefined;
  afterAll(async () => {
    await lab?.destroy();
  });

  it('dhclient binds under 0.2.0, renews the same address under the working tree and again under 0.2.0; the lease API agrees', async () => {
    lab = await Lab.create('mv', '10.93.0.1/24');
    const l = lab;
    const config = join(l.dir, 'config.json');
    await writeFile(config, JSON.stringify({ subnets: [{ name: 'lab', cidr: '10.93.0.0/24', gateway: '10.93.0.1', pools: [{ start: '10.93.0.100', end: '10.93.0.149' }], leaseTime: 600 }] }));
    const dataDir = join(l.dir, 'data');
    const serve = (v: Version) => l.startServer({ config, dataDir, args: ['--api-listen', '127.0.0.1:9068'], program: program(v) });
    const leases = async (): Promise<Lease[]> => {
      const r = await l.exec(l.srv, [process.execPath, '-e', 'fetch("http://127.0.0.1:9068/v1/leases").then(r=>r.text()).then(t=>process.stdout.write(t))'], 10_000);
      return (JSON.parse(r.stdout) as { items: Lease[] }).items;
    };
    await l.exec(l.cli, ['ip', 'link', 'set', l.cliIf, 'address', '02:aa:00:00:07:01']);
    const out = join(l.dir, 'dhclient.log');
    const hook = await l.hookScript(out);
    await writeFile(join(l.dir, 'dhclient.conf'), 'timeout 15;\nretry 1;\n');
    const files = ['-cf', join(l.dir, 'dhclient.conf'), '-sf', hook, '-lf', join(l.dir, 'dhclient.leases'), '-pf', join(l.dir, 'dhclient.pid')];
    const bind = async () => {
      await writeFile(out, '');
      const r = await l.exec(l.cli, ['dhclient', '-1', '-v', ...files, l.cliIf], 30_000);
      expect(r.code, r.stderr).toBe(0);
      // dhclient -1 stays as a daemon after binding: stop it without a release, as a reboot would.
      await l.exec(l.cli, ['sh', '-c', `kill $(cat ${join(l.dir, 'dhclient.pid')}) 2>/dev/null; true`]);
      return hookEvents(await readFile(out, 'utf8')).filter((e) => /^(BOUND|REBOOT|RENEW|REBIND)$/.test(e['ev'] ?? '')).at(-1) ?? {};
    };

    let server = await serve('release');
    const first = await bind();
    const ip = first['ip'] ?? '';
    expect(ip).toMatch(/^10\.93\.0\.1[0-4]\d$/);
    const under = [`${RELEASE.version}: ${first['ev']} ${ip}`];
    let listed = (await leases()).map(kept);
    expect(listed).toEqual([expect.objectContaining({ ip, mac: '02:aa:00:00:07:01', state: 'bound' })]);

    for (const v of ['working', 'release'] as const) {
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
      server = await serve(v);
      // The lease as the other version left it: same address, client and expiry.
      expect((await leases()).map(kept), `leases read by ${label(v)}`).toEqual(listed);
      const again = await bind();
      expect(again, `dhclient under ${label(v)}`).toMatchObject({ ip });
      under.push(`${label(v)}: ${again['ev']} ${again['ip']}`);
      listed = (await leases()).map(kept);
      expect(listed).toEqual([expect.objectContaining({ ip, mac: '02:aa:00:00:07:01', state: 'bound' })]);
    }
    server.kill('SIGTERM');
    console.log(`dhclient across versions: ${under.join(', ')}`);
  }, 120_000);
});
