// Host-side state of a node that runs real containers: one at a time per
// machine (kube-proxy's iptables chains and the kubelet's cgroups are global),
// and a cleanup that removes exactly what that node added — processes,
// mounts, links, iptables chains, cgroups — on stop, on failure, and for a
// node whose owner died without cleaning up.
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, readlinkSync, rmdirSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const LOCK_DIR = '/run/alcor-e2e-node';

/** What a node added to the host; written before it is added, so a crash leaves a record. */
export interface HostRecord {
  pid: number;
  dir: string;
  bridge: string;
  containerdSocket: string;
  /** iptables chains present before the node started, per family and table ("4 nat"). */
  chainsBefore: Record<string, string[]>;
  /** Machine-wide sysctls the kubelet, kube-proxy or the CNI bridge set, as they were before. */
  sysctlsBefore?: Record<string, string>;
}

/**
 * The kubelet sets kernel tunables it likes (panic, panic_on_oops,
 * overcommit_memory, key quotas); the bridge plugin turns on forwarding. Put
 * back as found.
 */
const SYSCTLS = [
  'kernel/panic',
  'kernel/panic_on_oops',
  'vm/overcommit_memory',
  'kernel/keys/root_maxkeys',
  'kernel/keys/root_maxbytes',
  'net/ipv4/ip_forward',
  'net/ipv4/conf/all/route_localnet',
  'net/bridge/bridge-nf-call-iptables',
  'net/bridge/bridge-nf-call-ip6tables',
];

function readSysctls(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of SYSCTLS) {
    try {
      out[k] = readFileSync(`/proc/sys/${k}`, 'utf8').trim();
    } catch {
      // not on this kernel
    }
  }
  return out;
}

function restoreSysctls(before: Record<string, string> | undefined, log: (s: string) => void): void {
  for (const [k, v] of Object.entries(before ?? {})) {
    try {
      if (readFileSync(`/proc/sys/${k}`, 'utf8').trim() !== v) writeFileSync(`/proc/sys/${k}`, v);
    } catch (err) {
      log(`[node] restoring ${k}=${v}: ${String(err)}`);
    }
  }
}

const sh = (cmd: string, args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const trySh = (cmd: string, args: string[]): string => {
  try {
    return sh(cmd, args);
  } catch {
    return '';
  }
};

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const TABLES = ['filter', 'nat', 'mangle'];
const FAMILIES: [string, string][] = [['4', 'iptables-save'], ['6', 'ip6tables-save']];

function chains(save: string, table: string): string[] {
  const out: string[] = [];
  let inTable = false;
  for (const line of save.split('\n')) {
    if (line.startsWith('*')) inTable = line === `*${table}`;
    else if (inTable && line.startsWith(':')) out.push(line.slice(1).split(' ')[0] ?? '');
  }
  return out;
}

export { readSysctls };

export function iptablesChains(): Record<string, string[]> {
  const rec: Record<string, string[]> = {};
  for (const [fam, save] of FAMILIES) {
    const text = trySh(save, []);
    for (const t of TABLES) rec[`${fam} ${t}`] = chains(text, t);
  }
  return rec;
}

/**
 * Takes the machine-wide lock for a container node (an exclusive create of
 * the owner file). A previous holder that died is cleaned up first; a live
 * one is waited for up to `waitMs`, then reported.
 */
export async function acquireHost(record: Omit<HostRecord, 'pid' | 'chainsBefore'>, log: (s: string) => void, waitMs = 0): Promise<HostRecord> {
  mkdirSync(LOCK_DIR, { recursive: true });
  const file = join(LOCK_DIR, 'owner.json');
  const deadline = Date.now() + waitMs;
  let said = false;
  for (;;) {
    const full: HostRecord = { ...record, pid: process.pid, chainsBefore: {} };
    try {
      const fd = openSync(file, 'wx');
      full.chainsBefore = iptablesChains();
      full.sysctlsBefore = readSysctls();
      writeSync(fd, JSON.stringify(full));
      closeSync(fd);
      return full;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let old: HostRecord | undefined;
    try {
      old = JSON.parse(readFileSync(file, 'utf8')) as HostRecord;
    } catch {
      // being written right now: look again
    }
    if (old && !alive(old.pid)) {
      log(`[node] cleaning up after a previous node (pid ${old.pid} is gone)`);
      cleanupHost(old, log);
      rmSync(file, { force: true });
      continue;
    }
    if (Date.now() >= deadline) {
      throw new Error(`another local cluster with real pods runs on this machine (pid ${old?.pid}, ${old?.dir}); stop it first`);
    }
    if (!said) log(`[node] waiting for the real-pod cluster of pid ${old?.pid} to stop (up to ${Math.round(waitMs / 1000)}s)`);
    said = true;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

export function releaseHost(record: HostRecord): void {
  const file = join(LOCK_DIR, 'owner.json');
  try {
    const cur = JSON.parse(readFileSync(file, 'utf8')) as HostRecord;
    if (cur.pid === record.pid && cur.dir === record.dir) rmSync(file, { force: true });
  } catch {
    // not ours or already gone
  }
}

/** Processes whose command line mentions `needle` (the node's containerd socket or dir). */
function processesMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(needle)) pids.push(pid);
    } catch {
      // gone
    }
  }
  return pids;
}

/** Every cgroup directory (v1 hierarchies and the unified one) named kubepods, deepest first. */
function kubepodsCgroups(): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let entries: string[] = [];
    try {
      entries = readdirSync(d, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    } catch {
      return;
    }
    for (const e of entries) walk(join(d, e));
    out.push(d);
  };
  for (const ctrl of readdirSync('/sys/fs/cgroup')) {
    for (const top of ['kubepods', 'kubepods.slice']) {
      const p = join('/sys/fs/cgroup', ctrl, top);
      if (existsSync(p)) walk(p);
    }
  }
  return out;
}

function killAll(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Removes what a node left: container processes (by cgroup), shims (by
 * socket), mounts under its dir, its bridge and the veths on it, the
 * iptables chains that appeared while it ran (and the rules jumping to them),
 * its kubepods cgroups. Safe to run twice.
 */
export function cleanupHost(rec: HostRecord, log: (s: string) => void): void {
  // Container processes: everything in the kubepods cgroups (only our kubelet makes them: the lock).
  for (let round = 0; round < 5; round++) {
    const pids = new Set<number>();
    for (const cg of kubepodsCgroups()) {
      try {
        for (const p of readFileSync(join(cg, 'cgroup.procs'), 'utf8').split('\n')) if (p) pids.add(Number(p));
      } catch {
        // no procs file at this level
      }
    }
    for (const p of processesMentioning(rec.containerdSocket)) pids.add(p);
    pids.delete(process.pid);
    if (pids.size === 0) break;
    killAll([...pids]);
    sleepSync(200);
  }
  // Mounts under the node's dir (rootfs overlays, netns, volumes), deepest first.
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m === rec.dir || m.startsWith(rec.dir + '/'))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) trySh('umount', ['-l', m]);
  // Veths on the bridge, then the bridge (its routes go with it).
  const slaves = trySh('ip', ['-o', 'link', 'show', 'master', rec.bridge]);
  for (const line of slaves.split('\n')) {
    const name = /^\d+:\s+([^@:\s]+)/.exec(line)?.[1];
    if (name) trySh('ip', ['link', 'del', name]);
  }
  if (trySh('ip', ['-o', 'link', 'show', rec.bridge])) trySh('ip', ['link', 'del', rec.bridge]);
  removeNewChains(rec.chainsBefore, log);
  restoreSysctls(rec.sysctlsBefore, log);
  // The kubelet links every container's log into /var/log/containers (not configurable): drop our links.
  for (const link of containerLogLinks(rec.dir)) rmSync(link, { force: true });
  for (const cg of kubepodsCgroups()) {
    try {
      rmdirSync(cg);
    } catch {
      // busy: reported below
    }
  }
  const left = kubepodsCgroups();
  if (left.length) log(`[node] cgroups left behind: ${left.slice(0, 3).join(', ')}`);
}

/** Deletes the KUBE-/CNI- chains that were not there before the node started, and the rules that jump to them. */
function removeNewChains(before: Record<string, string[]>, log: (s: string) => void): void {
  for (const [fam, save] of FAMILIES) {
    const restore = save.replace('-save', '-restore');
    const text = trySh(save, []);
    if (!text) continue;
    const script: string[] = [];
    for (const t of TABLES) {
      const old = new Set(before[`${fam} ${t}`] ?? []);
      const ours = chains(text, t).filter((c) => /^(KUBE-|CNI-)/.test(c) && !old.has(c));
      if (!ours.length) continue;
      const mine = new Set(ours);
      const lines: string[] = [];
      let inTable = false;
      for (const line of text.split('\n')) {
        if (line.startsWith('*')) inTable = line === `*${t}`;
        else if (inTable && line.startsWith('-A ')) {
          const parts = line.split(' ');
          const chain = parts[1] ?? '';
          const jump = /\s-[jg]\s+(\S+)/.exec(line)?.[1] ?? '';
          // Rules in chains we don't own that jump into ours.
          if (!mine.has(chain) && mine.has(jump)) lines.push('-D' + line.slice(2));
        }
      }
      for (const c of ours) lines.push(`-F ${c}`);
      for (const c of ours) lines.push(`-X ${c}`);
      script.push(`*${t}`, ...lines, 'COMMIT');
    }
    if (!script.length) continue;
    try {
      execFileSync(restore, ['--noflush'], { input: script.join('\n') + '\n', stdio: ['pipe', 'ignore', 'pipe'] });
    } catch (err) {
      log(`[node] ${restore}: ${(err as { stderr?: Buffer }).stderr?.toString() ?? String(err)}`);
    }
  }
}

function containerLogLinks(dir: string): string[] {
  const base = '/var/log/containers';
  const out: string[] = [];
  let names: string[] = [];
  try {
    names = readdirSync(base);
  } catch {
    return out;
  }
  for (const n of names) {
    try {
      if (readlinkSync(join(base, n)).startsWith(dir + '/')) out.push(join(base, n));
    } catch {
      // not a link
    }
  }
  return out;
}

/** Leftovers a finished node must not have: for tests and a final check. */
export function hostLeftovers(rec: Pick<HostRecord, 'dir' | 'bridge' | 'containerdSocket' | 'chainsBefore' | 'sysctlsBefore'>): string[] {
  const left: string[] = [];
  const now = readSysctls();
  for (const [k, v] of Object.entries(rec.sysctlsBefore ?? {})) if (now[k] !== v) left.push(`sysctl ${k}=${now[k]} (was ${v})`);
  if (trySh('ip', ['-o', 'link', 'show', rec.bridge])) left.push(`link ${rec.bridge}`);
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => (l.split(' ')[4] ?? '').startsWith(rec.dir));
  if (mounts.length) left.push(`${mounts.length} mounts under ${rec.dir}`);
  for (const [k, list] of Object.entries(iptablesChains())) {
    const old = new Set(rec.chainsBefore[k] ?? []);
    const extra = list.filter((c) => /^(KUBE-|CNI-)/.test(c) && !old.has(c));
    if (extra.length) left.push(`iptables ${k}: ${extra.join(' ')}`);
  }
  const procs = processesMentioning(rec.containerdSocket);
  if (procs.length) left.push(`processes ${procs.join(' ')}`);
  if (kubepodsCgroups().length) left.push('kubepods cgroups');
  const links = containerLogLinks(rec.dir);
  if (links.length) left.push(`${links.length} links in /var/log/containers`);
  return left;
}
