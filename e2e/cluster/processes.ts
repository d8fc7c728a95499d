// The processes of one local cluster and its teardown registry: every
// component started registers how to undo it, and stop() runs those steps
// newest first (kube-proxy before the kubelet, the pods before containerd,
// the API server before etcd, the host's bridge and rules last).
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from './net.ts';

export interface Proc {
  name: string;
  child: ChildProcess;
}

const live = new Set<ChildProcess>();
const lastResorts = new Set<() => void>();
// Last resort: never leave control-plane processes (or what a node set up on
// the host) behind when the parent exits without stopping its cluster.
process.on('exit', () => {
  for (const child of live) if (child.pid) tryKill(-child.pid, 'SIGKILL');
  for (const undo of lastResorts) undo();
});

export function tryKill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** SIGTERM to the process group, SIGKILL after 5 s. */
export async function stopProc({ child }: Proc): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || !child.pid) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  tryKill(-child.pid, 'SIGTERM');
  const timer = setTimeout(() => child.pid && tryKill(-child.pid, 'SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

export class Processes {
  private readonly steps: { name: string; undo: () => Promise<void> | void; lastResort?: () => void }[] = [];
  private readonly procs = new Map<string, Proc>();
  private stopping = false;

  readonly dir: string;
  readonly binDir: string;
  readonly log: (line: string) => void;

  constructor(dir: string, binDir: string, log: (line: string) => void) {
    this.dir = dir;
    this.binDir = binDir;
    this.log = log;
  }

  /**
   * Registers a teardown step (run by stop(), newest first). `lastResort`, if
   * given, must be synchronous: it also runs when the process exits unstopped.
   */
  onStop(name: string, undo: () => Promise<void> | void, lastResort?: () => void): void {
    this.steps.push({ name, undo, ...(lastResort ? { lastResort } : {}) });
    if (lastResort) lastResorts.add(lastResort);
  }

  /**
   * Spawns a binary (of binDir unless `bin` is given) in a process group of
   * its own, logging to logs/<name>.log; stop() ends it. Started again under
   * the same name (after it exited), it keeps its first place in the teardown
   * order. Unless `quietExit` (its waits watch it), an exit while the cluster
   * runs is logged with the log's tail.
   */
  start(name: string, args: string[], o: { bin?: string; quietExit?: boolean } = {}): Proc {
    const logFile = createWriteStream(join(this.dir, 'logs', `${name}.log`), { flags: 'a' });
    const child = spawn(o.bin ?? join(this.binDir, name), args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    child.stdout?.pipe(logFile);
    child.stderr?.pipe(logFile);
    live.add(child);
    child.on('exit', () => live.delete(child));
    const proc = { name, child };
    const first = !this.procs.has(name);
    this.procs.set(name, proc);
    if (first) this.onStop(name, () => stopProc(this.procs.get(name)!));
    if (!o.quietExit) {
      child.once('exit', (code, sig) => {
        if (!this.stopping) this.log(`[cluster] ${name} exited (${code ?? sig}):\n${this.logTail(name)}`);
      });
    }
    return proc;
  }

  get(name: string): Proc | undefined {
    return this.procs.get(name);
  }

  /** Running processes' ids by name. */
  pids(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, p] of this.procs) if (p.child.pid !== undefined && p.child.exitCode === null && p.child.signalCode === null) out[name] = p.child.pid;
    return out;
  }

  logTail(name: string): string {
    try {
      return readFileSync(join(this.dir, 'logs', `${name}.log`), 'utf8').split('\n').slice(-20).join('\n');
    } catch {
      return '';
    }
  }

  /** Polls `check` until true; fails early when process `watch` exits; a time-out shows the log tail of `log` (default `watch`). */
  waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>, o: { watch?: string; log?: string } = {}): Promise<void> {
    const log = o.log ?? o.watch;
    return waitFor(what, timeoutMs, o.watch ? this.procs.get(o.watch)?.child : undefined, () => (log ? this.logTail(log) : ''), check);
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    for (const step of this.steps.reverse()) {
      try {
        await step.undo();
      } catch (err) {
        this.log(`[cluster] stopping ${step.name}: ${err instanceof Error ? err.message : String(err)}`);
      }
      if (step.lastResort) lastResorts.delete(step.lastResort);
    }
  }
}
