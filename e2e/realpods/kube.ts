// kubectl and helm against one cluster (the real-pod cluster of
// realpods.test.ts, not the suite's kwok cluster that e2e/kubectl.ts talks to).
import { execFile } from 'node:child_process';
import { join } from 'node:path';

export interface Tools {
  kubectl(args: string[], input?: string): Promise<string>;
  helm(args: string[]): Promise<string>;
  json<T>(args: string[]): Promise<T>;
}

function exec(bin: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(bin, args, { maxBuffer: 16 << 20, timeout: 180_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${bin.split('/').pop()} ${args.join(' ')}: ${stderr || err.message}`));
      else resolve(stdout);
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

export function tools(binDir: string, kubeconfig: string): Tools {
  const kubectl = (args: string[], input?: string) => exec(join(binDir, 'kubectl'), ['--kubeconfig', kubeconfig, ...args], input);
  return {
    kubectl,
    helm: (args) => exec(join(binDir, 'helm'), ['--kubeconfig', kubeconfig, ...args]),
    json: async <T>(args: string[]) => JSON.parse(await kubectl([...args, '-o', 'json'])) as T,
  };
}

/** Polls until `check` returns a truthy value; bounded by `timeoutMs`. */
export async function until<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`timed out after ${timeoutMs / 1000}s: ${what}${last ? ` (last error: ${last})` : ''}`);
}

export interface PodLike {
  metadata: { name: string; uid: string };
  status?: { phase?: string; conditions?: { type: string; status: string }[]; containerStatuses?: { restartCount: number; ready: boolean }[] };
}

export function podReady(p: PodLike): boolean {
  return p.status?.phase === 'Running' && (p.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** The lines of `kubectl logs` output that are pino JSON records (numeric level, time, msg). */
export function pinoLines(logs: string): { level: number; msg: string }[] {
  const out: { level: number; msg: string }[] = [];
  for (const line of logs.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const rec = JSON.parse(line) as { level?: unknown; time?: unknown; msg?: unknown };
      if (typeof rec.level === 'number' && typeof rec.time === 'number' && typeof rec.msg === 'string') out.push({ level: rec.level, msg: rec.msg });
    } catch {
      // not JSON
    }
  }
  return out;
}
