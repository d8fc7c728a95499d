import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RequestOptions } from 'node:https';
import { loadRestConfig } from '../../src/runtime/restconfig.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function kubeconfig(user: string, cluster = 'server: https://127.0.0.1:6443\n    certificate-authority-data: Q0EK'): string {
  const dir = mkdtempSync(join(tmpdir(), 'restconfig-'));
  dirs.push(dir);
  const path = join(dir, 'config');
  writeFileSync(
    path,
    `apiVersion: v1
kind: Config
current-context: c
contexts:
- name: c
  context: {cluster: k, user: u}
- name: other
  context: {cluster: nope, user: nope}
clusters:
- name: k
  cluster:
    ${cluster}
users:
- name: u
  user:
${user}
`,
  );
  return path;
}

async function applied(path: string): Promise<RequestOptions> {
  const cfg = await loadRestConfig(path);
  const opts: RequestOptions = { headers: { accept: 'application/json' } };
  await cfg.applyTo(opts);
  return opts;
}

describe('loadRestConfig', () => {
  it('uses embedded client certificates of the current context', async () => {
    const path = kubeconfig('    client-certificate-data: Q0VSVAo=\n    client-key-data: S0VZCg==');
    const cfg = await loadRestConfig(path);
    expect(cfg.server).toBe('https://127.0.0.1:6443');
    const opts = await applied(path);
    expect(String(opts.ca)).toBe('CA\n');
    expect(String(opts.cert)).toBe('CERT\n');
    expect(String(opts.key)).toBe('KEY\n');
    expect((opts.headers as Record<string, string>)['accept']).toBe('application/json');
  });

  it('reads a token file relative to the kubeconfig on every request (tokens rotate)', async () => {
    const path = kubeconfig('    tokenFile: token');
    const tokenPath = join(path, '..', 'token');
    writeFileSync(tokenPath, 'first\n');
    const cfg = await loadRestConfig(path);
    const a: RequestOptions = {};
    await cfg.applyTo(a);
    expect((a.headers as Record<string, string>)['authorization']).toBe('Bearer first');
    writeFileSync(tokenPath, 'second\n');
    const b: RequestOptions = {};
    await cfg.applyTo(b);
    expect((b.headers as Record<string, string>)['authorization']).toBe('Bearer second');
  });

  it('honours insecure-skip-tls-verify and tls-server-name', async () => {
    const opts = await applied(kubeconfig('    token: t', 'server: https://10.0.0.1:6443\n    insecure-skip-tls-verify: true\n    tls-server-name: kubernetes'));
    expect(opts.rejectUnauthorized).toBe(false);
    expect(opts.servername).toBe('kubernetes');
  });

  it('refuses a kubeconfig whose current context names no cluster it has', async () => {
    const path = kubeconfig('    token: t');
    writeFileSync(path, (await import('node:fs')).readFileSync(path, 'utf8').replace('current-context: c', 'current-context: other'));
    await expect(loadRestConfig(path)).rejects.toThrow(/cluster nope not found/);
  });
});
