// The listeners the fuzz drives, each a real process on loopback: macd's API
// (Alcor's MAC manager) and its metrics port, dhcpd's lease API and its
// metrics port, and any probe port (the operator's). For each: how a case
// becomes a request (its Refs taken from a model of what the server holds),
// what must not change when a request is refused, and what a success teaches
// the model (and must hold of it: never a MAC handed out twice).

import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type fc from 'fast-check';
import { freePort } from '../../e2e/cluster/net.ts';
import { spawnDhcpd, stop as stopDhcpd } from '../dhcpd/api-process.ts';
import { tempDir } from '../macd/helpers.ts';
import { kill, spawnMacd } from '../macd/process.ts';
import { dhcpdCases, isRef, macdCases, probeCases, type Case, type Ref } from './shapes.ts';
import type { WireAnswer, WireRequest } from './wire.ts';

export interface Target {
  name: string;
  port: number;
  /** The process serving it, whose life and RSS the run watches. */
  pid: number;
  cases: fc.Arbitrary<Case>;
  /** The request of a case, and the entries (MACs, addresses) whose state the check compares. */
  resolve(c: Case): { req: WireRequest; names: string[] };
  /** What a refused request must leave as it was: counts, and the named entries. */
  state(names: string[]): Promise<unknown>;
  /** After a 2xx: what it teaches the model; a message when it breaks a rule. */
  learn(req: WireRequest, a: WireAnswer): Promise<string | null>;
  /** At the end: every entry the model knows is still there as it was; a message otherwise. */
  final(): Promise<string | null>;
  ready(): Promise<boolean>;
  alive(): boolean;
  stop(): Promise<void>;
  /** The process's log lines so far, when the run has them. */
  log?: string[];
}

export interface Fetched {
  status: number;
  text: string;
}

/** A GET by a well-behaved client; an error body's timestamp is left out, so two answers compare. */
export async function get(port: number, path: string): Promise<Fetched> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, text: (await res.text()).replace(/,"timestamp":"[^"]*"/, '') };
}

/** The case's JSON with its Refs replaced. */
function resolveJson(v: unknown, value: (r: Ref) => unknown): unknown {
  if (isRef(v)) return value(v);
  if (Array.isArray(v)) return v.map((x) => resolveJson(x, value));
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolveJson(x, value)]));
  return v;
}

/** The request of a case: path, query, headers, body, framing; Refs from `value`. */
export function toRequest(c: Case, value: (r: Ref) => unknown): WireRequest {
  const segments = c.path.map((p) => (isRef(p) ? String(value(p)) : p));
  const target = `/${c.v4 ? 'v4/' : ''}${segments.join('/')}${c.query !== undefined ? `?${c.query}` : ''}`;
  let body: Buffer = Buffer.alloc(0);
  if (c.body && 'json' in c.body) body = Buffer.from(JSON.stringify(resolveJson(c.body.json, value)));
  if (c.body && 'lines' in c.body) body = Buffer.from(c.body.lines.map((l) => JSON.stringify(resolveJson(l, value))).join('\n'));
  if (c.body && 'bytes' in c.body) body = c.body.bytes;
  // Unframed, the body is garbage after a complete request. Kept small: a
  // server that closes (Connection: close) while megabytes of it are still
  // coming resets the connection, and the client may lose the answer it was
  // sent (node has no lingering close); the server's behaviour is the same.
  if (c.framing === 'none') body = body.subarray(0, 16 * 1024);
  return { method: c.method, target, headers: c.headers, body, framing: c.framing, ...(c.chunk !== undefined ? { chunk: c.chunk } : {}), ...(c.raw ? { raw: c.raw } : {}) };
}

const pick = <T>(xs: readonly T[], n: number): T | undefined => (xs.length === 0 ? undefined : xs[n % xs.length]);
const sample = <T>(xs: readonly T[], k: number): T[] => Array.from({ length: Math.min(k, xs.length) }, () => xs[Math.floor(Math.random() * xs.length)]!);
const alive = (child: { exitCode: number | null; signalCode: NodeJS.Signals | null }) => (): boolean => child.exitCode === null && child.signalCode === null;
const macText = (n: number): string => n.toString(16).padStart(12, '0').replace(/(..)(?!$)/g, '$1:');
const macNumber = (s: string): number => parseInt(s.replaceAll(':', ''), 16);

function json(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export async function readyz(port: number): Promise<boolean> {
  try {
    return (await get(port, '/readyz')).status === 200;
  } catch {
    return false;
  }
}

// ---- macd ----

interface RangeView {
  range_id: string;
  from: string;
  to: string;
}

/** The environment of macd in a MacPool's pods (src/render/macpool/builtin.ts): a small young generation, a fixed mmap threshold. */
export const MACD_POD_ENV = { NODE_OPTIONS: '--max-semi-space-size=1', MALLOC_MMAP_THRESHOLD_: '131072' };

/** A real `alcor-operator macd` (default limits, run as in its pods) and the API target; `probes` is its --metrics-listen port. */
export async function startMacdTargets(extraArgs: string[] = [], env: Record<string, string> = MACD_POD_ENV): Promise<{ api: Target; probes: Target }> {
  const dataDir = tempDir('macd-fuzz-');
  const p = await spawnMacd(['--listen', '127.0.0.1:0', '--data-dir', dataDir, '--metrics-listen', '127.0.0.1:0', ...extraArgs], env);
  const line = p.lines.find((l) => l.includes('probes and metrics listening'))!;
  const probePort = (JSON.parse(line) as { port: number }).port;
  /** MACs this run was given, and the mac_state each was last answered with. */
  const known = new Map<string, unknown>();
  let knownList: string[] = [];
  let ranges: RangeView[] = [];
  const refreshRanges = async (): Promise<void> => {
    const r = json((await get(p.port, '/macs/ranges')).text) as { mac_ranges?: RangeView[] } | undefined;
    ranges = r?.mac_ranges ?? [];
  };
  await refreshRanges();
  const value = (r: Ref): unknown => {
    switch (r.ref) {
      case 'knownMac':
        return pick(knownList, r.n) ?? macText(0xaabbcc000000 + (r.n % 0x1000000));
      case 'rangeMac': {
        const range = pick(ranges, r.n);
        if (!range) return macText(0xaabbcc000000 + (r.n % 0x1000000));
        const from = macNumber(range.from);
        const size = macNumber(range.to) - from + 1;
        return macText(from + ((r.n * 7919) % size));
      }
      case 'rangeId':
        return pick(ranges, r.n)?.range_id ?? 'range0';
      case 'inDays':
        return new Date(Date.now() + r.n * 86_400_000).toISOString();
      default:
        return `${r.ref}-${r.n}`;
    }
  };
  const api: Target = {
    name: 'macd API',
    port: p.port,
    pid: p.child.pid!,
    cases: macdCases,
    resolve(c) {
      const names = new Set<string>();
      const req = toRequest(c, (r) => {
        const v = value(r);
        if (r.ref !== 'rangeId') names.add(String(v));
        return v;
      });
      for (const mac of sample(knownList, 4)) names.add(mac);
      return { req, names: [...names].filter((m) => /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(m)) };
    },
    async state(names) {
      const out: Record<string, unknown> = { ranges: (await get(p.port, '/macs/ranges')).text };
      for (const mac of names) out[mac] = await get(p.port, `/macs/${mac}`);
      return out;
    },
    async learn(req, a) {
      // An import (or a restore) changes any number of MACs: the model is read back from the export.
      if (req.method === 'POST' && /^\/(v4\/)?v1\/import/.test(req.target)) {
        const exported = await get(p.port, '/v1/export');
        known.clear();
        for (const line of exported.text.split('\n').slice(1)) {
          const e = json(line) as { mac_address?: string } | undefined;
          if (e?.mac_address) known.set(e.mac_address, e);
        }
        knownList = [...known.keys()];
        return exported.status === 200 ? null : `the export after an import answered ${exported.status}`;
      }
      const body = json(a.body) as { mac_state?: { mac_address: string }; mac_states?: { mac_address: string }[]; mac_range?: unknown; mac_ranges?: unknown } | undefined;
      if (!body) return null;
      if (body.mac_range !== undefined || body.mac_ranges !== undefined) await refreshRanges();
      const given = req.method === 'POST' ? (body.mac_states ?? (body.mac_state ? [body.mac_state] : [])) : [];
      for (const s of given) {
        if (known.has(s.mac_address)) return `${s.mac_address} was handed out twice (${req.method} ${req.target.slice(0, 80)})`;
        known.set(s.mac_address, s);
      }
      if (req.method === 'PUT' && body.mac_state) known.set(body.mac_state.mac_address, body.mac_state);
      if (req.method === 'DELETE' && body.mac_state) known.delete(body.mac_state.mac_address);
      if (given.length > 0 || req.method === 'DELETE') knownList = [...known.keys()];
      return null;
    },
    async final() {
      // Every MAC the run was given (at most 2,000 of them, at random) is still allocated, as last answered.
      for (const mac of sample(knownList, 2000)) {
        const r = await get(p.port, `/macs/${mac}`);
        const got = (json(r.text) as { mac_state?: unknown } | undefined)?.mac_state;
        if (r.status !== 200 || JSON.stringify(got) !== JSON.stringify(known.get(mac))) return `${mac}: expected ${JSON.stringify(known.get(mac))}, got ${r.status} ${r.text.slice(0, 200)}`;
      }
      return null;
    },
    ready: () => readyz(p.port),
    alive: alive(p.child),
    stop: () => kill(p, 'SIGTERM').finally(() => rmSync(dataDir, { recursive: true, force: true })),
    log: p.lines,
  };
  return { api, probes: probeTarget('macd metrics port', probePort, p.child.pid!, alive(p.child), async () => {}) };
}

// ---- dhcpd ----

interface LeaseView {
  ip: string;
}

/** A real `alcor-operator dhcpd` serving one subnet alone, with its lease API and metrics port. */
export async function startDhcpdTargets(): Promise<{ api: Target; probes: Target }> {
  const dir = tempDir('dhcpd-fuzz-');
  const config = join(dir, 'config.json');
  writeFileSync(
    config,
    JSON.stringify({ subnets: [{ name: 'net', cidr: '10.70.0.0/24', pools: [{ start: '10.70.0.10', end: '10.70.0.200' }], excludes: [{ start: '10.70.0.50', end: '10.70.0.50' }], reservations: [{ mac: '52:54:00:aa:aa:aa', ip: '10.70.0.5' }], leaseTime: 3600 }] }),
  );
  const [apiPort, metricsPort] = [await freePort(), await freePort()];
  const p = await spawnDhcpd(['--config', config, '--data-dir', join(dir, 'data'), '--replica', 'net-dhcpd-0', '--metrics-listen', `127.0.0.1:${metricsPort}`], apiPort);
  let ips: string[] = [];
  /**
   * Every lease: the export, a consistent snapshot (the paged listing is a
   * live view whose address index may be up to a second old, so a lease
   * imported a moment ago can be missing from it), its header's time left out.
   */
  const leases = async (): Promise<string> => {
    const r = await get(apiPort, '/v1/export');
    return r.status === 200 ? r.text.replace(/"created":"[^"]*"/, '') : `${r.status}`;
  };
  const refresh = async (): Promise<void> => {
    const lines = (await leases()).split('\n').slice(1);
    ips = lines.map((l) => (json(l) as LeaseView | undefined)?.ip).filter((ip): ip is string => typeof ip === 'string');
  };
  const value = (r: Ref): unknown => {
    switch (r.ref) {
      case 'knownIp':
        return pick(ips, r.n) ?? `10.70.0.${10 + (r.n % 191)}`;
      case 'inDays':
        return new Date(Date.now() + r.n * 86_400_000).toISOString();
      default:
        // A Ref of macd's shapes in a body sent here: any text.
        return `${r.ref}-${r.n}`;
    }
  };
  const api: Target = {
    name: 'dhcpd lease API',
    port: apiPort,
    pid: p.child.pid!,
    cases: dhcpdCases,
    resolve(c) {
      const names = new Set<string>();
      const req = toRequest(c, (r) => {
        const v = value(r);
        if (r.ref === 'knownIp') names.add(String(v));
        return v;
      });
      return { req, names: [...names] };
    },
    async state(names) {
      const out: Record<string, unknown> = { leases: await leases() };
      for (const ip of names) out[ip] = (await get(apiPort, `/v1/leases/${ip}`)).status;
      return out;
    },
    async learn() {
      await refresh();
      return null;
    },
    final: async () => null,
    ready: () => readyz(metricsPort),
    alive: alive(p.child),
    stop: () => stopDhcpd(p, 'SIGTERM').finally(() => rmSync(dir, { recursive: true, force: true })),
  };
  return { api, probes: probeTarget('dhcpd metrics port', metricsPort, p.child.pid!, alive(p.child), async () => {}) };
}

/** A probe and metrics port (src/process/probes.ts): no state; /readyz of a ready process is 200. */
export function probeTarget(name: string, port: number, pid: number, isAlive: () => boolean, stop: () => Promise<void>): Target {
  return {
    name,
    port,
    pid,
    cases: probeCases,
    resolve: (c) => ({ req: toRequest(c, () => ''), names: [] }),
    state: async () => null,
    learn: async () => null,
    final: async () => null,
    ready: () => readyz(port),
    alive: isAlive,
    stop,
  };
}

/** Resident memory of a process, MiB. */
export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}
