// A JVM process for Alcor's services and Ignite: started with the flags JDK 17
// needs, its output in a log file, its boot time and resident memory measured,
// and stopped (TERM, then KILL) so nothing outlives a test.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';

/**
 * What Ignite 2.10 and its thin client need on JDK 17 (Alcor targets Java 11).
 * They go before -jar / the main class: after it they would be program
 * arguments, where Alcor's own Dockerfiles put them.
 */
export const JDK17_ADD_OPENS = [
  'java.base/jdk.internal.access',
  'java.base/jdk.internal.misc',
  'java.base/sun.nio.ch',
  'java.base/sun.util.calendar',
  'java.management/com.sun.jmx.mbeanserver',
  'jdk.internal.jvmstat/sun.jvmstat.monitor',
  'java.base/sun.reflect.generics.reflectiveObjects',
  'jdk.management/com.sun.management.internal',
  'java.base/java.io',
  'java.base/java.nio',
  'java.base/java.net',
  'java.base/java.util',
  'java.base/java.util.concurrent',
  'java.base/java.util.concurrent.locks',
  'java.base/java.util.concurrent.atomic',
  'java.base/java.lang',
  'java.base/java.lang.invoke',
  'java.base/java.math',
  'java.sql/java.sql',
  'java.base/java.lang.reflect',
  'java.base/java.time',
  'java.base/java.text',
  'java.management/sun.management',
  'java.desktop/java.awt.font',
].map((p) => `--add-opens=${p}=ALL-UNNAMED`);

export interface JvmOptions {
  /** JVM flags besides JDK17_ADD_OPENS (heap, system properties). */
  jvmFlags?: string[];
  /** `-jar X` or `-cp Y Main`, then program arguments. */
  args: string[];
  cwd: string;
  logFile: string;
  env?: Record<string, string>;
}

export interface Jvm {
  pid: number;
  logFile: string;
  /** Milliseconds since spawn (boot time, once the caller saw it ready). */
  elapsedMs(): number;
  exited(): boolean;
  /** Resident set size in bytes, from /proc. */
  rssBytes(): number;
  log(): string;
  stop(): Promise<void>;
}

export function startJvm(o: JvmOptions): Jvm {
  const started = performance.now();
  const child: ChildProcess = spawn('java', [...JDK17_ADD_OPENS, ...(o.jvmFlags ?? []), ...o.args], {
    cwd: o.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...o.env },
  });
  const out = createWriteStream(o.logFile);
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  const exit = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let done = false;
  void exit.then(() => (done = true));
  return {
    pid: child.pid ?? -1,
    logFile: o.logFile,
    elapsedMs: () => performance.now() - started,
    exited: () => done,
    rssBytes: () => {
      const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      return m ? Number(m[1]) * 1024 : 0;
    },
    log: () => {
      try {
        return readFileSync(o.logFile, 'utf8');
      } catch {
        return '';
      }
    },
    stop: async () => {
      if (done) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exit;
      clearTimeout(timer);
    },
  };
}

/**
 * Polls `check` until it returns a value, the process exits, its log matches
 * `fatal` (a start-up failure that leaves the JVM running), or the time is up.
 */
export async function waitFor<T>(what: string, jvm: Jvm, check: () => Promise<T | undefined>, timeoutMs: number, fatal?: RegExp): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = await check().catch(() => undefined);
    if (v !== undefined) return v;
    if (jvm.exited()) throw new Error(`${what}: the JVM exited; last log lines:\n${tail(jvm.log())}`);
    const failure = fatal?.exec(jvm.log());
    if (failure) throw new Error(`${what}: start-up failed (${failure[0]}); last log lines:\n${tail(jvm.log())}`);
    if (performance.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000}s; last log lines:\n${tail(jvm.log())}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export function tail(text: string, lines = 25): string {
  return text.split('\n').slice(-lines).join('\n');
}
