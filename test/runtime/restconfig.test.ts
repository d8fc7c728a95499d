import { afterEach, describe, expect, it } from 'vitest';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

  it('uses the context --context names instead of the current one, with its namespace (kubectl --context)', async () => {
    const path = kubeconfig('    token: t');
    const fs = await import('node:fs');
    writeFileSync(
      path,
      fs.readFileSync(path, 'utf8').replace('- name: other\n  context: {cluster: nope, user: nope}', '- name: other\n  context: {cluster: k, user: u, namespace: team-a}'),
    );
    expect((await loadRestConfig(path)).namespace).toBeUndefined();
    const other = await loadRestConfig(path, { context: 'other' });
    expect(other.server).toBe('https://127.0.0.1:6443');
    expect(other.namespace).toBe('team-a');
    await expect(loadRestConfig(path, { context: 'missing' })).rejects.toThrow(/context "missing" not found/);
  });

  it('runs an exec plugin with its args, env and KUBERNETES_EXEC_INFO, keeps its answer until it expires, and says when it fails', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'restconfig-'));
    dirs.push(dir);
    const script = join(dir, 'cred.sh');
    // Each run answers a new token, valid for 1 s past the refresh margin when $TTL says so.
    writeFileSync(script, `#!/bin/sh
n=$(($(cat ${dir}/count 2>/dev/null || echo 0) + 1)); echo $n > ${dir}/count
echo "$KUBERNETES_EXEC_INFO" > ${dir}/info
exp=""; [ -n "$TTL" ] && exp=",\\"expirationTimestamp\\":\\"$(date -u -d "+$TTL seconds" +%Y-%m-%dT%H:%M:%SZ)\\""
echo "{\\"apiVersion\\":\\"client.authentication.k8s.io/v1\\",\\"kind\\":\\"ExecCredential\\",\\"status\\":{\\"token\\":\\"$1-$n\\"$exp}}"
`);
    chmodSync(script, 0o755);
    const token = async (path: string): Promise<string> => {
      const cfg = await loadRestConfig(path);
      const opts: RequestOptions = {};
      await cfg.applyTo(opts);
      await cfg.applyTo(opts);
      return (opts.headers as Record<string, string>)['authorization']!;
    };
    const forever = kubeconfig(`    exec: {apiVersion: client.authentication.k8s.io/v1, command: ${script}, args: [t]}`);
    expect(await token(forever)).toBe('Bearer t-1');
    expect(JSON.parse(readFileSync(join(dir, 'info'), 'utf8'))).toEqual({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', spec: { interactive: false } });
    // Expired at once (within the refresh margin): run again for each request.
    const short = kubeconfig(`    exec: {command: ${script}, args: [s], env: [{name: TTL, value: "5"}]}`);
    expect(await token(short)).toBe('Bearer s-3');
    const failing = kubeconfig('    exec: {command: /bin/false}');
    await expect(token(failing)).rejects.toThrow(/exec plugin \/bin\/false failed/);
  });

  describe('a $KUBECONFIG list, merged as kubectl merges it', () => {
    const saved = process.env['KUBECONFIG'];
    afterEach(() => {
      if (saved === undefined) delete process.env['KUBECONFIG'];
      else process.env['KUBECONFIG'] = saved;
    });
    const file = (text: string): string => {
      const dir = mkdtempSync(join(tmpdir(), 'restconfig-'));
      dirs.push(dir);
      writeFileSync(join(dir, 'config'), text);
      return join(dir, 'config');
    };

    it('takes the context of the first file, the cluster and user from whichever file defines them, paths relative to their own file', async () => {
      const first = file('current-context: c\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\nusers:\n- name: u\n  user: {tokenFile: token}\n');
      const second = file('current-context: other\nclusters:\n- name: k\n  cluster: {server: "https://10.0.0.2:6443", certificate-authority: ca.crt}\nusers:\n- name: u\n  user: {token: not-this-one}\n');
      writeFileSync(join(first, '..', 'token'), 'from-first\n');
      writeFileSync(join(second, '..', 'ca.crt'), 'CA-OF-SECOND\n');
      process.env['KUBECONFIG'] = [join(tmpdir(), 'missing-kubeconfig-xyz'), first, '', second].join(':');
      const cfg = await loadRestConfig();
      expect(cfg.server).toBe('https://10.0.0.2:6443');
      const opts: RequestOptions = {};
      await cfg.applyTo(opts);
      expect(String(opts.ca)).toBe('CA-OF-SECOND\n');
      expect((opts.headers as Record<string, string>)['authorization']).toBe('Bearer from-first');
    });

    it('runs an exec user\'s credential plugin itself, its relative command resolved against its file', async () => {
      const users = file('users:\n- name: u\n  user:\n    exec: {apiVersion: client.authentication.k8s.io/v1, command: ./cred.sh, interactiveMode: Never}\n');
      const script = join(users, '..', 'cred.sh');
      writeFileSync(script, '#!/bin/sh\necho \'{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"from-exec"}}\'\n');
      chmodSync(script, 0o755);
      const main = file('current-context: c\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\nclusters:\n- name: k\n  cluster: {server: "https://10.0.0.3:6443", insecure-skip-tls-verify: true}\n');
      process.env['KUBECONFIG'] = `${main}:${users}`;
      const cfg = await loadRestConfig();
      expect(cfg.server).toBe('https://10.0.0.3:6443');
      const opts: RequestOptions = {};
      await cfg.applyTo(opts);
      expect(JSON.stringify(opts.headers)).toContain('Bearer from-exec');
    });

    it('says which files it tried when none exists', async () => {
      process.env['KUBECONFIG'] = `${join(tmpdir(), 'missing-a')}:${join(tmpdir(), 'missing-b')}`;
      await expect(loadRestConfig()).rejects.toThrow(/none of .*missing-a, .*missing-b exists/);
    });

    it('an explicit --kubeconfig is read alone and must exist', async () => {
      process.env['KUBECONFIG'] = kubeconfig('    token: from-env');
      await expect(loadRestConfig(join(tmpdir(), 'missing-explicit'))).rejects.toThrow(/ENOENT/);
    });
  });
});
