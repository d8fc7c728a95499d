// The servers bench:dhcpd compares and what it reads from them: each started
// fresh in the lab's server namespace on its cores, perfdhcp (the load) in
// the client namespace on core 1, and per run the messages, drops, CPU time
// per thread, the kernel's UDP drop counters and dhcpd's own counters.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { boundLeases } from '../test/dhcpd/lab/leases.ts';
import { type Lab, run } from '../test/dhcpd/lab/netns.ts';

/** What each server is: the command, its cores, its config. */
export interface ServerKind {
  id: string;
  label: string;
  cpus: string;
  engine: 'dhcpd' | 'kea';
  /** dhcpd: extra flags. */
  args?: string[];
  /** dhcpd: serve the config with trustedRelays set. */
  trusted?: boolean;
  /** Kea: its multi-threading block. */
  threads?: number;
  queue?: number;
}

export interface Exchange {
  sent: number;
  received: number;
  dropPct: number;
  avgMs: number;
  maxMs: number;
}

/** The kernel's UDP counters of a namespace (/proc/net/snmp). */
export interface UdpCounters {
  inDatagrams: number;
  rcvbufErrors: number;
  sndbufErrors: number;
}

export interface RunResult {
  rate: number;
  discover: Exchange;
  request: Exchange;
  /** Server CPU time per message perfdhcp sent (DISCOVER or REQUEST), in µs, by thread group. */
  serverCpu: Record<string, number>;
  /** perfdhcp's own CPU time per message it sent, in µs. */
  perfdhcpCpu: number;
  /** Datagrams the kernel dropped for a full receive buffer: at the server, at perfdhcp. */
  rcvbufDrops: { server: number; client: number };
  /** dhcpd only: its drop counters by reason, and its lease log flushes. */
  serverDrops?: Record<string, number>;
  flushes?: { count: number; meanMs: number; over10ms: number; acks: number };
  /** dhcpd only: the lease log's duplicate check after the run (test/dhcpd/lab/leases.ts): addresses bound to two clients, bind records read. */
  leaseLog?: { givenTwice: string[]; binds: number };
  load: number;
}

export function worst(r: { discover: Exchange; request: Exchange }): number {
  return Math.max(r.discover.dropPct, r.request.dropPct);
}

function parseExchange(out: string, name: string): Exchange {
  const i = out.indexOf(`Statistics for: ${name}`);
  const part = i < 0 ? '' : out.slice(i, i + 800);
  const num = (re: RegExp): number => Number(re.exec(part)?.[1] ?? NaN);
  const sent = num(/sent packets: (\d+)/);
  const received = num(/received packets: (\d+)/);
  return { sent, received, dropPct: sent > 0 ? (100 * (sent - received)) / sent : 100, avgMs: num(/avg delay: ([\d.]+) ms/), maxMs: num(/max delay: ([\d.]+) ms/) };
}

async function waitReady(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`${what} did not start`);
}

/** CPU time (user + system, in USER_HZ ticks of 10 ms) of each thread, summed by thread name. */
async function threadTicks(pid: number | undefined): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const tasks = await readdir(`/proc/${pid}/task`).catch(() => []);
  for (const t of tasks) {
    const stat = await readFile(`/proc/${pid}/task/${t}/stat`, 'utf8').catch(() => '');
    if (stat === '') continue;
    const name = groupOf(stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')));
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    out[name] = (out[name] ?? 0) + Number(f[11]) + Number(f[12]);
  }
  return out;
}

/** Thread names as Linux shows them, grouped: Node's main thread, our socket thread, V8's GC and compiler helpers, libuv's pool (the lease log's writes). */
function groupOf(comm: string): string {
  if (comm === 'MainThread' || comm === 'node') return 'main';
  if (comm.startsWith('dhcp-socket')) return 'socket';
  if (comm.startsWith('V8')) return 'gc+jit';
  if (comm.startsWith('libuv')) return 'fs';
  if (comm.startsWith('kea')) return 'main';
  return 'other';
}

async function udpCounters(lab: Lab, ns: string): Promise<UdpCounters> {
  const r = await lab.exec(ns, ['cat', '/proc/net/snmp']);
  const lines = r.stdout.split('\n').filter((l) => l.startsWith('Udp:'));
  const names = (lines[0] ?? '').split(/\s+/);
  const values = (lines[1] ?? '').split(/\s+/).map(Number);
  const v = (n: string): number => values[names.indexOf(n)] ?? 0;
  return { inDatagrams: v('InDatagrams'), rcvbufErrors: v('RcvbufErrors'), sndbufErrors: v('SndbufErrors') };
}

/** The servers' config files: every server serves 10.0.0.0/8 from the same pool. */
async function writeConfigs(lab: Lab, trustedRelays: string[]): Promise<{ dhcpd: string; trusted: string; keaDir: string }> {
  const dhcpd = join(lab.dir, 'dhcpd.json');
  const benchSubnet = { name: 'bench', cidr: '10.0.0.0/8', gateway: '10.0.0.1', pools: [{ start: '10.100.0.0', end: '10.255.255.254' }], dnsServers: ['10.0.0.53'], leaseTime: 3600 };
  await writeFile(dhcpd, JSON.stringify({ subnets: [benchSubnet] }));
  const trusted = join(lab.dir, 'dhcpd-trusted.json');
  await writeFile(trusted, JSON.stringify({ subnets: [{ ...benchSubnet, trustedRelays }] }));
  const keaDir = join(lab.dir, 'kea');
  await mkdir(keaDir);
  return { dhcpd, trusted, keaDir };
}

/** Kea 2.2's config: memfile with persist (the lease file appended, never fsynced), the same subnet; multi-threaded when asked. */
function keaConfig(lab: Lab, keaDir: string, k: ServerKind): string {
  return JSON.stringify({
    Dhcp4: {
      'interfaces-config': { interfaces: [lab.srvIf], 'dhcp-socket-type': 'udp' },
      'lease-database': { type: 'memfile', persist: true, name: join(keaDir, 'leases.csv'), 'lfc-interval': 0 },
      'valid-lifetime': 3600,
      ...(k.threads ? { 'multi-threading': { 'enable-multi-threading': true, 'thread-pool-size': k.threads, 'packet-queue-size': k.queue ?? 64 } } : {}),
      subnet4: [
        {
          id: 1,
          subnet: '10.0.0.0/8',
          pools: [{ pool: '10.100.0.0 - 10.255.255.254' }],
          'option-data': [
            { name: 'routers', data: '10.0.0.1' },
            { name: 'domain-name-servers', data: '10.0.0.53' },
          ],
        },
      ],
      loggers: [{ name: 'kea-dhcp4', severity: 'WARN', output_options: [{ output: join(keaDir, 'kea.log') }] }],
    },
  });
}

/** The lease-log duplicate check over every dhcpd run of the bench, whatever its load. */
export interface LeaseChecks {
  runs: number;
  binds: number;
  acks: number;
  /** Addresses bound to a second client while the first held them (must stay empty). */
  givenTwice: string[];
  /** Runs where perfdhcp received more ACKs than the log has bind records (an ACK before its record: must be 0). */
  acksBeforeRecord: number;
}

export interface Bench {
  startServer(k: ServerKind): Promise<ChildProcess>;
  stop(c: ChildProcess): Promise<void>;
  /** One perfdhcp run at `rate` against the running server, everything measured. */
  measure(k: ServerKind, server: ChildProcess, rate: number, seconds: number): Promise<RunResult>;
  /** perfdhcp with the given arguments; its output. */
  perfdhcp(args: string[], timeoutMs: number): Promise<string>;
  /** dhcpd's /metrics as {"name{labels}": value}. */
  metrics(): Promise<Map<string, number>>;
  /** The duplicate check's totals so far. */
  leaseChecks(): LeaseChecks;
  killAll(): void;
}

export async function benchIn(lab: Lab, dist: string, trustedRelays: string[]): Promise<Bench> {
  await lab.exec(lab.cli, ['ip', 'addr', 'add', '10.77.0.2/24', 'dev', lab.cliIf]);
  const configs = await writeConfigs(lab, trustedRelays);
  const procs = new Set<ChildProcess>();
  const checks: LeaseChecks = { runs: 0, binds: 0, acks: 0, givenTwice: [], acksBeforeRecord: 0 };
  const start = (cpus: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess => {
    const c = spawn('taskset', ['-c', cpus, 'ip', 'netns', 'exec', lab.srv, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    c.stdout?.resume();
    c.stderr?.resume();
    procs.add(c);
    c.on('exit', () => procs.delete(c));
    return c;
  };
  const metricsText = async (): Promise<string> =>
    (await lab.exec(lab.srv, [process.execPath, '-e', 'fetch("http://127.0.0.1:9067/metrics").then(r=>r.text()).then(t=>process.stdout.write(t))'])).stdout;
  const metrics = async (): Promise<Map<string, number>> => {
    const m = new Map<string, number>();
    for (const line of (await metricsText()).split('\n')) {
      if (line.startsWith('#') || line.trim() === '') continue;
      const i = line.lastIndexOf(' ');
      m.set(line.slice(0, i), Number(line.slice(i + 1)));
    }
    return m;
  };
  /** perfdhcp under bash, whose `times` prints its children's CPU time after it exits. */
  const perfdhcpTimed = async (args: string[], timeoutMs: number): Promise<{ out: string; cpuSeconds: number }> => {
    const cmd = ['taskset', '-c', '1', 'ip', 'netns', 'exec', lab.cli, 'perfdhcp', '-4', '-l', lab.cliIf, ...args, '10.77.0.1'].join(' ');
    const r = await run('bash', ['-c', `${cmd}; echo; echo TIMES; times`], timeoutMs);
    const tail = r.stdout.slice(r.stdout.lastIndexOf('TIMES'));
    const secs = [...tail.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
    // `times`: the shell's user and system, then its children's.
    return { out: r.stdout, cpuSeconds: (secs[2] ?? NaN) + (secs[3] ?? NaN) };
  };
  return {
    async startServer(k) {
      if (k.engine === 'dhcpd') {
        const data = join(lab.dir, 'data');
        await rm(data, { recursive: true, force: true });
        const config = k.trusted ? configs.trusted : configs.dhcpd;
        const c = start(k.cpus, [process.execPath, join(dist, 'cli/main.js'), 'dhcpd', '--config', config, '--data-dir', data, '--metrics-listen', '127.0.0.1:9067', '--log-level', 'warn', ...(k.args ?? [])]);
        await waitReady(async () => (await lab.exec(lab.srv, [process.execPath, '-e', 'fetch("http://127.0.0.1:9067/readyz").then(r=>process.exit(r.ok?0:1),()=>process.exit(1))'])).code === 0, 'dhcpd');
        return c;
      }
      for (const f of ['leases.csv', 'leases.csv.2', 'kea.log']) await rm(join(configs.keaDir, f), { force: true });
      const file = join(configs.keaDir, `${k.id}.json`);
      await writeFile(file, keaConfig(lab, configs.keaDir, k));
      const c = start(k.cpus, ['kea-dhcp4', '-c', file], { KEA_PIDFILE_DIR: configs.keaDir, KEA_LOCKFILE_DIR: configs.keaDir });
      await waitReady(async () => (await run('ip', ['netns', 'exec', lab.srv, 'ss', '-uln'])).stdout.includes(':67 '), 'kea-dhcp4');
      return c;
    },
    async stop(c) {
      if (c.exitCode !== null) return;
      c.kill('SIGKILL');
      await new Promise((r) => c.once('exit', r));
    },
    async measure(k, server, rate, seconds) {
      const dhcpd = k.engine === 'dhcpd';
      const before = { cpu: await threadTicks(server.pid), srv: await udpCounters(lab, lab.srv), cli: await udpCounters(lab, lab.cli) };
      const { out, cpuSeconds } = await perfdhcpTimed(['-R', '1000000', '-p', String(seconds), '-r', String(rate)], (seconds + 30) * 1000);
      const after = { cpu: await threadTicks(server.pid), srv: await udpCounters(lab, lab.srv), cli: await udpCounters(lab, lab.cli) };
      const discover = parseExchange(out, 'DISCOVER-OFFER');
      const request = parseExchange(out, 'REQUEST-ACK');
      const messages = (discover.sent || 0) + (request.sent || 0);
      const serverCpu: Record<string, number> = {};
      for (const [g, ticks] of Object.entries(after.cpu)) serverCpu[g] = messages > 0 ? ((ticks - (before.cpu[g] ?? 0)) * 10_000) / messages : NaN;
      const result: RunResult = {
        rate,
        discover,
        request,
        serverCpu,
        perfdhcpCpu: messages > 0 ? (cpuSeconds * 1e6) / messages : NaN,
        rcvbufDrops: { server: after.srv.rcvbufErrors - before.srv.rcvbufErrors, client: after.cli.rcvbufErrors - before.cli.rcvbufErrors },
        load: Number((await readFile('/proc/loadavg', 'utf8')).split(' ')[0]),
      };
      if (dhcpd) {
        const m = await metrics();
        const drops: Record<string, number> = {};
        for (const [key, v] of m) {
          const reason = /^alcor_dhcpd_drops_total\{reason="([^"]+)"\}$/.exec(key)?.[1];
          if (reason && v > 0) drops[reason] = v;
        }
        result.serverDrops = drops;
        const count = m.get('alcor_dhcpd_lease_log_flush_seconds_count') ?? 0;
        const leases = await boundLeases(join(lab.dir, 'data', 'leases.log'));
        result.leaseLog = { givenTwice: leases.conflicts, binds: leases.binds };
        checks.runs++;
        checks.binds += leases.binds;
        checks.acks += request.received || 0;
        checks.givenTwice.push(...leases.conflicts);
        if ((request.received || 0) > leases.binds) checks.acksBeforeRecord++;
        result.flushes = {
          count,
          meanMs: count > 0 ? ((m.get('alcor_dhcpd_lease_log_flush_seconds_sum') ?? 0) * 1000) / count : NaN,
          over10ms: count - (m.get('alcor_dhcpd_lease_log_flush_seconds_bucket{le="0.01"}') ?? count),
          acks: m.get('alcor_dhcpd_packets_sent_total{type="ack"}') ?? 0,
        };
      }
      return result;
    },
    async perfdhcp(args, timeoutMs) {
      return (await perfdhcpTimed(args, timeoutMs)).out;
    },
    metrics,
    leaseChecks: () => checks,
    killAll() {
      for (const c of procs) c.kill('SIGKILL');
    },
  };
}
