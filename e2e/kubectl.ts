// Small helpers for e2e tests: run kubectl against the suite's cluster and
// read objects as JSON. Tests assert on what the API server says, never on a
// local copy.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { inject } from 'vitest';

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function kubectl(args: string[], input?: string): Promise<KubectlResult> {
  const kubeconfig = inject('kubeconfig');
  const bin = join(inject('binDir'), 'kubectl');
  return new Promise((resolve) => {
    const child = execFile(bin, ['--kubeconfig', kubeconfig, ...args], { maxBuffer: 64 * 1024 * 1024, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
    if (input !== undefined) {
      child.stdin?.end(input);
    }
  });
}

/** kubectl that must succeed; returns stdout. */
export async function kubectlOk(args: string[], input?: string): Promise<string> {
  const res = await kubectl(args, input);
  if (res.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${res.code}): ${res.stderr}`);
  return res.stdout;
}

export async function getJson<T = Record<string, unknown>>(args: string[]): Promise<T> {
  return JSON.parse(await kubectlOk([...args, '-o', 'json'])) as T;
}

/** Polls `check` until it returns a truthy value or the time runs out. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 60_000, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs / 1000}s: ${what}${last ? ` (last error: ${String(last)})` : ''}`);
}

let counter = 0;
/** Creates a namespace for one test file; returns its name. */
export async function createNamespace(prefix: string): Promise<string> {
  const name = `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter++}`;
  await kubectlOk(['create', 'namespace', name]);
  return name;
}

/** Creates a namespace unless it exists (for a fixed name shared by several test files). */
export async function ensureNamespace(name: string): Promise<void> {
  const r = await kubectl(['create', 'namespace', name]);
  if (r.code !== 0 && !/AlreadyExists|already exists/.test(r.stderr)) throw new Error(`kubectl create namespace ${name}: ${r.stderr}`);
}

/**
 * Where the DataPlaneManager and engine-alcor MacPool examples expect Ignite's
 * Service (Alcor's own ignite-alcor): the operator puts a Role there, so the
 * namespace must exist.
 */
export const EXAMPLE_IGNITE_NAMESPACE = 'ignite-alcor';

/**
 * Waits until CRDs are Established. Right after creation a CRD may have no
 * conditions yet, which `kubectl wait` reports as an error: retry until then.
 */
export async function waitEstablished(crds: string[], timeoutMs = 60_000): Promise<void> {
  await eventually(
    `CRDs Established: ${crds.join(', ')}`,
    async () => (await kubectl(['wait', '--for=condition=Established', ...crds.map((c) => `crd/${c}`), '--timeout=10s'])).code === 0,
    timeoutMs,
  );
}
