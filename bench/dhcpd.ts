// `npm run bench:dhcpd [-- --quick] [--trusted-only] [--rounds=N]`: perfdhcp against `alcor-operator dhcpd`
// and against Kea (kea-dhcp4-server, memfile with persist: true) in the same
// network namespaces and the same run. For each server the request rate is
// stepped up; the highest rate with at most 0.1 % drops (DISCOVER-OFFER and
// REQUEST-ACK each) is its drop-free rate. Rates alternate between the two
// servers so both see the same machine load. dhcpd runs twice per rate:
// as is, and with trustedRelays set (perfdhcp's relay address trusted), so the
// cost of the relay check shows beside the same run without it; then both are
// driven past their limit in alternating rounds and their ACKs per second
// and CPU time per ACK compared, and the codec and core alone in process
// (bench/dhcpd-core.ts); --trusted-only runs just that comparison, with
// --rounds=N saturated rounds. Then RSS with 65,536 active leases. The server is
// pinned to core 0, perfdhcp to core 1 (taskset). Figures are printed, never
// asserted.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { Lab, labUnavailable, repoRoot, run } from '../test/dhcpd/lab/netns.ts';
import { coreCost, type CoreCost } from './dhcpd-core.ts';

/** Extra node flags for the server; none: the CLI sets its own V8 memory flags. */
const NODE_FLAGS: string[] = [];

const quick = process.argv.includes('--quick');
const rates = quick ? [4000, 8000, 12000] : [4000, 6000, 8000, 10000, 12000, 14000, 16000];
const seconds = quick ? 4 : 10;
const rssLeases = 65_536;
const DROP_LIMIT = 0.1;
/** ISC's criterion for its published figures. */
const ISC_LIMIT = 2.5;
/** Offered rate past every server's limit, rounds and seconds each, for the saturated trustedRelays comparison. */
const saturationRate = quick ? 20000 : 25000;
const saturationRounds = Number(/--rounds=(\d+)/.exec(process.argv.join(' '))?.[1] ?? (quick ? 3 : 8));
/** Only the trustedRelays comparison (saturated rounds and the in-process phase): no rate sweep, no Kea, no RSS. */
const trustedOnly = process.argv.includes('--trusted-only');
const saturationSeconds = quick ? 3 : 5;
/** The relays trusted in the dhcpd-trusted runs: perfdhcp's address in the last of three ranges. */
const TRUSTED_RELAYS = ['192.168.0.0/16', '172.16.0.0/12', '10.77.0.2/32'];
/** Runs per rate and server; the best counts (the machine is shared, noise only ever adds drops). */
const repeat = Number(/--repeat=(\d+)/.exec(process.argv.join(' '))?.[1] ?? (quick ? 1 : 2));

interface Exchange {
  sent: number;
  received: number;
  dropPct: number;
  avgMs: number;
  maxMs: number;
}
interface Result {
  rate: number;
  discover: Exchange;
  request: Exchange;
}
type ServerKind = 'dhcpd' | 'dhcpd-trusted' | 'kea';
const kinds: readonly ServerKind[] = ['dhcpd', 'dhcpd-trusted', 'kea'];

function worst(r: Result): number {
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

/** The server as the image runs it: compiled JavaScript (no type stripping in memory), built into node_modules/.cache so it resolves our dependencies. */
async function buildDist(): Promise<string> {
  const dist = join(repoRoot, 'node_modules/.cache/alcor-bench-dist');
  const built = await run(process.execPath, [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', join(repoRoot, 'tsconfig.build.json'), '--outDir', dist], 120_000);
  if (built.code !== 0) throw new Error(`tsc failed: ${built.stdout}${built.stderr}`);
  return dist;
}

interface Configs {
  dhcpd: string;
  trusted: string;
  keaDir: string;
  kea: string;
}

/** The servers' config files: every server serves 10.0.0.0/8 from the same pool. */
async function writeConfigs(lab: Lab): Promise<Configs> {
  const dhcpd = join(lab.dir, 'dhcpd.json');
  const benchSubnet = { name: 'bench', cidr: '10.0.0.0/8', gateway: '10.0.0.1', pools: [{ start: '10.100.0.0', end: '10.255.255.254' }], dnsServers: ['10.0.0.53'], leaseTime: 3600 };
  await writeFile(dhcpd, JSON.stringify({ subnets: [benchSubnet] }));
  // The same, with the relay check on every packet: a few ranges, perfdhcp's address in the last.
  const trusted = join(lab.dir, 'dhcpd-trusted.json');
  await writeFile(trusted, JSON.stringify({ subnets: [{ ...benchSubnet, trustedRelays: TRUSTED_RELAYS }] }));
  const keaDir = join(lab.dir, 'kea');
  await mkdir(keaDir);
  const kea = join(keaDir, 'kea.json');
  await writeFile(
    kea,
    JSON.stringify({
      Dhcp4: {
        'interfaces-config': { interfaces: [lab.srvIf], 'dhcp-socket-type': 'udp' },
        'lease-database': { type: 'memfile', persist: true, name: join(keaDir, 'leases.csv'), 'lfc-interval': 0 },
        'valid-lifetime': 3600,
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
    }),
  );
  return { dhcpd, trusted, keaDir, kea };
}

/** Each server started fresh in the lab's server namespace (core 0); perfdhcp in the client namespace (core 1). */
interface Bench {
  startServer(kind: ServerKind): Promise<ChildProcess>;
  stop(c: ChildProcess): Promise<void>;
  perfdhcp(args: string[], timeoutMs: number): Promise<string>;
  /** Messages the running dhcpd has handled so far (its alcor_dhcpd_packets_received_total, all types). */
  handled(): Promise<number>;
  killAll(): void;
}

async function benchIn(lab: Lab, dist: string): Promise<Bench> {
  await lab.exec(lab.cli, ['ip', 'addr', 'add', '10.77.0.2/24', 'dev', lab.cliIf]);
  const configs = await writeConfigs(lab);
  const procs = new Set<ChildProcess>();
  const start = (args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess => {
    const c = spawn('taskset', ['-c', '0', 'ip', 'netns', 'exec', lab.srv, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    c.stdout?.resume();
    c.stderr?.resume();
    procs.add(c);
    c.on('exit', () => procs.delete(c));
    return c;
  };
  return {
    async startServer(kind) {
      if (kind !== 'kea') {
        const data = join(lab.dir, 'data');
        await rm(data, { recursive: true, force: true });
        const config = kind === 'dhcpd-trusted' ? configs.trusted : configs.dhcpd;
        const c = start([process.execPath, ...NODE_FLAGS, join(dist, 'cli/main.js'), 'dhcpd', '--config', config, '--data-dir', data, '--metrics-listen', '127.0.0.1:9067', '--log-level', 'warn']);
        await waitReady(async () => (await lab.exec(lab.srv, [process.execPath, '-e', 'fetch("http://127.0.0.1:9067/readyz").then(r=>process.exit(r.ok?0:1),()=>process.exit(1))'])).code === 0, 'dhcpd');
        return c;
      }
      for (const f of ['leases.csv', 'leases.csv.2', 'kea.log']) await rm(join(configs.keaDir, f), { force: true });
      const c = start(['kea-dhcp4', '-c', configs.kea], { KEA_PIDFILE_DIR: configs.keaDir, KEA_LOCKFILE_DIR: configs.keaDir });
      await waitReady(async () => (await run('ip', ['netns', 'exec', lab.srv, 'ss', '-uln'])).stdout.includes(':67 '), 'kea-dhcp4');
      return c;
    },
    async stop(c) {
      if (c.exitCode !== null) return;
      c.kill('SIGKILL');
      await new Promise((r) => c.once('exit', r));
    },
    async perfdhcp(args, timeoutMs) {
      return (await run('taskset', ['-c', '1', 'ip', 'netns', 'exec', lab.cli, 'perfdhcp', '-4', '-l', lab.cliIf, ...args, '10.77.0.1'], timeoutMs)).stdout;
    },
    async handled() {
      const r = await lab.exec(lab.srv, [process.execPath, '-e', 'fetch("http://127.0.0.1:9067/metrics").then(r=>r.text()).then(t=>process.stdout.write(t))']);
      let n = 0;
      for (const m of r.stdout.matchAll(/^alcor_dhcpd_packets_received_total\{[^}]*\} (\d+)/gm)) n += Number(m[1]);
      return n;
    },
    killAll() {
      for (const c of procs) c.kill('SIGKILL');
    },
  };
}

/** Phase 1: each rate against each server, alternating; the best of `repeat` runs counts. */
async function sweepRates(b: Bench): Promise<Record<ServerKind, Result[]>> {
  const results: Record<ServerKind, Result[]> = { dhcpd: [], 'dhcpd-trusted': [], kea: [] };
  for (const rate of rates) {
    for (const kind of kinds) {
      let res: Result | undefined;
      for (let i = 0; i < repeat; i++) {
        const server = await b.startServer(kind);
        const out = await b.perfdhcp(['-R', '1000000', '-p', String(seconds), '-r', String(rate)], (seconds + 30) * 1000);
        await b.stop(server);
        const r = { rate, discover: parseExchange(out, 'DISCOVER-OFFER'), request: parseExchange(out, 'REQUEST-ACK') };
        if (!res || worst(r) < worst(res)) res = r;
      }
      if (!res) continue;
      results[kind].push(res);
      process.stderr.write(
        `${kind.padEnd(13)} ${String(rate).padStart(6)}/s  drops D-O ${res.discover.dropPct.toFixed(3)} %  R-A ${res.request.dropPct.toFixed(3)} %  avg ${res.discover.avgMs.toFixed(2)} / ${res.request.avgMs.toFixed(2)} ms\n`,
      );
    }
  }
  return results;
}

type DhcpdKind = 'dhcpd' | 'dhcpd-trusted';
interface Saturation {
  /** ACKs per second, one per round. */
  acks: Record<DhcpdKind, number[]>;
  /** Server CPU time per ACK in µs, one per round. */
  cpuPerAck: Record<DhcpdKind, number[]>;
  /** Server CPU time per message handled (DISCOVER or REQUEST) in µs, one per round: independent of where the overload drops fall. */
  cpuPerMessage: Record<DhcpdKind, number[]>;
}

/** The process's CPU time (user + system) from /proc, in seconds. */
async function cpuSeconds(pid: number | undefined): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in USER_HZ (100/s)
}

/**
 * Phase 2, past the limit: ACKs per second with and without trustedRelays,
 * alternating rounds, and the server's CPU time per ACK, which other load on
 * the machine disturbs far less than the rate.
 */
async function saturate(b: Bench): Promise<Saturation> {
  const s: Saturation = { acks: { dhcpd: [], 'dhcpd-trusted': [] }, cpuPerAck: { dhcpd: [], 'dhcpd-trusted': [] }, cpuPerMessage: { dhcpd: [], 'dhcpd-trusted': [] } };
  for (let round = 0; round < saturationRounds; round++) {
    const order = round % 2 === 0 ? (['dhcpd', 'dhcpd-trusted'] as const) : (['dhcpd-trusted', 'dhcpd'] as const);
    for (const kind of order) {
      const server = await b.startServer(kind);
      const cpu0 = await cpuSeconds(server.pid);
      const out = await b.perfdhcp(['-R', '1000000', '-p', String(saturationSeconds), '-r', String(saturationRate)], (saturationSeconds + 30) * 1000);
      const cpu = (await cpuSeconds(server.pid)) - cpu0;
      const handled = await b.handled();
      await b.stop(server);
      const received = parseExchange(out, 'REQUEST-ACK').received;
      const acks = received / saturationSeconds;
      s.acks[kind].push(acks);
      s.cpuPerAck[kind].push(received > 0 ? (cpu * 1e6) / received : NaN);
      s.cpuPerMessage[kind].push(handled > 0 ? (cpu * 1e6) / handled : NaN);
      process.stderr.write(
        `${kind.padEnd(13)} saturated (${saturationRate}/s offered): ${acks.toFixed(0)} ACK/s, ${((cpu * 1e6) / received).toFixed(0)} µs CPU per ACK, ${((cpu * 1e6) / handled).toFixed(0)} µs per message handled\n`,
      );
    }
  }
  return s;
}

interface Rss {
  rssMiB: number;
  leases: number;
}

/** Phase 3: RSS of dhcpd and Kea once 65,536 clients hold a lease. */
async function measureRss(b: Bench): Promise<Record<'dhcpd' | 'kea', Rss>> {
  const rss: Record<'dhcpd' | 'kea', Rss> = { dhcpd: { rssMiB: NaN, leases: 0 }, kea: { rssMiB: NaN, leases: 0 } };
  for (const kind of ['dhcpd', 'kea'] as const) {
    const server = await b.startServer(kind);
    // Rounds of new clients (another base MAC each) until 65,536 hold a lease.
    let leased = 0;
    for (let round = 0; round < 6 && leased < rssLeases; round++) {
      const n = String(rssLeases - leased);
      const out = await b.perfdhcp(['-b', `mac=00:0c:${(0x10 + round).toString(16)}:00:00:00`, '-R', n, '-n', n, '-r', '5000'], 120_000);
      leased += parseExchange(out, 'REQUEST-ACK').received || 0;
    }
    const status = await readFile(`/proc/${server.pid}/status`, 'utf8').catch(() => '');
    rss[kind] = { rssMiB: Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024, leases: leased };
    await b.stop(server);
  }
  return rss;
}

const knee = (rs: Result[], limit = DROP_LIMIT): Result | undefined => rs.filter((r) => worst(r) <= limit).sort((a, b) => b.rate - a.rate)[0];
const ratio = (a: Result | undefined, b: Result | undefined): string => (a && b ? `${(a.rate / b.rate).toFixed(2)}x` : 'n/a (no rate met the limit)');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
}

/** The table: dhcpd beside Kea. */
function reportComparison(results: Record<ServerKind, Result[]>, rss: Record<'dhcpd' | 'kea', Rss>, loadStart: number): void {
  const kD = knee(results.dhcpd);
  const kK = knee(results.kea);
  const iscD = knee(results.dhcpd, ISC_LIMIT);
  const iscK = knee(results.kea, ISC_LIMIT);
  const fmt = (r: Result | undefined): string[] =>
    r
      ? [`${r.rate}/s`, `${r.discover.dropPct.toFixed(3)} % / ${r.request.dropPct.toFixed(3)} %`, `${r.discover.avgMs.toFixed(2)} / ${r.request.avgMs.toFixed(2)} ms`, `${r.discover.maxMs.toFixed(1)} / ${r.request.maxMs.toFixed(1)} ms`]
      : ['none', '-', '-', '-'];
  const rows: string[][] = [
    ['', 'alcor dhcpd', 'Kea 4 (memfile, persist)'],
    ['drop-free rate (<= 0.1 %)', ...[fmt(kD)[0], fmt(kK)[0]].map(String)],
    [`highest rate with <= ${ISC_LIMIT} % drops`, iscD ? `${iscD.rate}/s` : 'none', iscK ? `${iscK.rate}/s` : 'none'],
    // Details at the drop-free rate, or at the 2.5 % rate when there is none.
    ['at rate', fmt(kD ?? iscD)[0] as string, fmt(kK ?? iscK)[0] as string],
    ['  drops (D-O / R-A)', fmt(kD ?? iscD)[1] as string, fmt(kK ?? iscK)[1] as string],
    ['  avg latency (D-O / R-A)', fmt(kD ?? iscD)[2] as string, fmt(kK ?? iscK)[2] as string],
    ['  max latency (D-O / R-A)', fmt(kD ?? iscD)[3] as string, fmt(kK ?? iscK)[3] as string],
    [`RSS with ${rssLeases} leases`, `${rss.dhcpd.rssMiB.toFixed(1)} MiB (${rss.dhcpd.leases} ACKed)`, `${rss.kea.rssMiB.toFixed(1)} MiB (${rss.kea.leases} ACKed)`],
  ];
  const widths = [0, 1, 2].map((c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]): string => r.map((v, c) => v.padEnd(widths[c] ?? 0)).join(' | ');
  process.stdout.write(`\nDHCPv4 benchmark (${quick ? 'quick' : 'full'}: ${seconds} s per rate, best of ${repeat}, rates ${rates.join(', ')}; server on core 0, perfdhcp on core 1)\n\n`);
  process.stdout.write(`machine load average (1 min) at start ${loadStart.toFixed(2)}, at end ${(loadavg()[0] ?? 0).toFixed(2)} on ${availableParallelism()} cores: other work on the machine shows up as drops for both servers\n\n`);
  process.stdout.write(line(rows[0] as string[]) + '\n' + widths.map((w) => '-'.repeat(w)).join('-|-') + '\n');
  for (const r of rows.slice(1)) process.stdout.write(line(r) + '\n');
  process.stdout.write(
    `\nNote: dhcpd ACKs only after the lease is on disk (O_DSYNC group commit); Kea's memfile appends without fsync, so disk contention from other processes costs dhcpd REQUEST-ACK latency and, past perfdhcp's 1 s drop time, drops.\n`,
  );
  process.stdout.write(`\nratio dhcpd / Kea: drop-free rate ${ratio(kD, kK)}, ${ISC_LIMIT} % rate ${ratio(iscD, iscK)}\n`);
}

/** trustedRelays against the same run without, then every step. */
function reportTrustedRelays(results: Record<ServerKind, Result[]>, s: Saturation, core: CoreCost): void {
  const kD = knee(results.dhcpd);
  const kT = knee(results['dhcpd-trusted']);
  const pct = (a: number, b: number): string => `${a / b - 1 >= 0 ? '+' : ''}${(100 * (a / b - 1)).toFixed(1)} %`;
  const list = (xs: number[]): string => xs.map((x) => x.toFixed(0)).join(', ');
  const satD = median(s.acks.dhcpd);
  const satT = median(s.acks['dhcpd-trusted']);
  const cpuD = median(s.cpuPerAck.dhcpd);
  const cpuT = median(s.cpuPerAck['dhcpd-trusted']);
  const best = (xs: number[]): number => Math.min(...xs.filter((x) => Number.isFinite(x)));
  process.stdout.write(
    `\ntrustedRelays (${TRUSTED_RELAYS.length} CIDRs, every packet checked) against the same run without:\n` +
      `  drop-free rate ${kT ? `${kT.rate}/s` : 'none'} with, ${kD ? `${kD.rate}/s` : 'none'} without (${ratio(kT, kD)})\n` +
      `  saturated (${saturationRate}/s offered, ${saturationRounds} alternating rounds of ${saturationSeconds} s): median ${satT.toFixed(0)} ACK/s with, ${satD.toFixed(0)} without (${pct(satT, satD)}); ` +
      `best ${Math.max(...s.acks['dhcpd-trusted']).toFixed(0)} with, ${Math.max(...s.acks.dhcpd).toFixed(0)} without (rounds with: ${list(s.acks['dhcpd-trusted'])}; without: ${list(s.acks.dhcpd)})\n` +
      `  server CPU per ACK (a DISCOVER-OFFER and a REQUEST-ACK, lease log included): median ${cpuT.toFixed(0)} µs with, ${cpuD.toFixed(0)} without (${pct(cpuT, cpuD)}); ` +
      `least ${best(s.cpuPerAck['dhcpd-trusted']).toFixed(0)} with, ${best(s.cpuPerAck.dhcpd).toFixed(0)} without (${pct(best(s.cpuPerAck['dhcpd-trusted']), best(s.cpuPerAck.dhcpd))}) ` +
      `(rounds with: ${list(s.cpuPerAck['dhcpd-trusted'])}; without: ${list(s.cpuPerAck.dhcpd)})\n` +
      `  server CPU per message handled (the same, per DISCOVER or REQUEST received, wherever the overload drops fall): median ${median(s.cpuPerMessage['dhcpd-trusted']).toFixed(0)} µs with, ` +
      `${median(s.cpuPerMessage.dhcpd).toFixed(0)} without (${pct(median(s.cpuPerMessage['dhcpd-trusted']), median(s.cpuPerMessage.dhcpd))}); least ${best(s.cpuPerMessage['dhcpd-trusted']).toFixed(0)} with, ` +
      `${best(s.cpuPerMessage.dhcpd).toFixed(0)} without (${pct(best(s.cpuPerMessage['dhcpd-trusted']), best(s.cpuPerMessage.dhcpd))}) (rounds with: ${list(s.cpuPerMessage['dhcpd-trusted'])}; without: ${list(s.cpuPerMessage.dhcpd)})\n` +
      `  codec + core alone, in process (${core.exchanges} exchanges per round, ${core.with.length} alternating rounds): median ${median(core.with).toFixed(0)} ns CPU per exchange with, ` +
      `${median(core.without).toFixed(0)} without (${pct(median(core.with), median(core.without))}); least ${best(core.with).toFixed(0)} with, ${best(core.without).toFixed(0)} without (${pct(best(core.with), best(core.without))})\n` +
      `  past its limit a server's throughput is its CPU per message: a throughput loss of more than 5 % would show as more than +5.3 % CPU per message handled and per exchange in process.\n` +
      `  (CPU per ACK also moves with where the overload drops fall, DISCOVER or REQUEST, which other load on the machine decides.)\n`,
  );
  if (results.dhcpd.length === 0) return;
  process.stdout.write(`\nall steps (drops % D-O / R-A):\n`);
  const cell = (r: Result | undefined): string => `${r?.discover.dropPct.toFixed(3)} / ${r?.request.dropPct.toFixed(3)}`;
  for (const [i, rate] of rates.entries()) {
    process.stdout.write(
      `  ${String(rate).padStart(6)}/s  dhcpd ${cell(results.dhcpd[i])}   dhcpd+trustedRelays ${cell(results['dhcpd-trusted'][i])}   kea ${cell(results.kea[i])}\n`,
    );
  }
}

async function main(): Promise<number> {
  const why = await labUnavailable(['perfdhcp', 'kea-dhcp4', 'taskset']);
  if (why) {
    process.stderr.write(`bench:dhcpd skipped: ${why}\n`);
    return 0;
  }
  const dist = await buildDist();
  const loadStart = loadavg()[0] ?? 0;
  const lab = await Lab.create('bn', '10.77.0.1/24');
  let bench: Bench | undefined;
  try {
    bench = await benchIn(lab, dist);
    const results: Record<ServerKind, Result[]> = trustedOnly ? { dhcpd: [], 'dhcpd-trusted': [], kea: [] } : await sweepRates(bench);
    const saturation = await saturate(bench);
    process.stderr.write('codec + core in process, with and without trustedRelays\n');
    const core = coreCost(quick ? 30_000 : 100_000, quick ? 6 : 10, TRUSTED_RELAYS);
    if (!trustedOnly) reportComparison(results, await measureRss(bench), loadStart);
    else process.stdout.write(`\nmachine load average (1 min) at start ${loadStart.toFixed(2)}, at end ${(loadavg()[0] ?? 0).toFixed(2)} on ${availableParallelism()} cores\n`);
    reportTrustedRelays(results, saturation, core);
    return 0;
  } finally {
    bench?.killAll();
    await lab.destroy();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`bench:dhcpd: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  },
);
