// The krew manifest installs: npm run plugin:package makes the archive
// (byte-for-byte the same twice) and fills in krew/alcor.yaml; a real krew
// (sigs.k8s.io/krew v0.4.3, built from its Go module and cached) installs
// that pair, and the plugin it put on PATH runs with the machine's own node.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = join(import.meta.dirname, '../..');
const KREW = 'v0.4.3';
const pkgVersion = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
const cacheDir = join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'alcor-operator', 'bin', `krew-${KREW}`);
const dir = mkdtempSync(join(tmpdir(), 'krew-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(cmd, args, { env: { ...process.env, ...env }, timeout: 300_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0, stdout, stderr }),
    ),
  );
}

const noGo = (await run('sh', ['-c', 'command -v go'])).code !== 0;

describe.skipIf(noGo)(`krew manifest${noGo ? ' (skipped: go is not installed to build krew)' : ''}`, () => {
  it('npm run plugin:package makes the same archive twice and a manifest a real krew installs; the plugin runs', async () => {
    if (!existsSync(join(cacheDir, 'krew'))) {
      const built = await run('go', ['install', `sigs.k8s.io/krew/cmd/krew@${KREW}`], { GOBIN: cacheDir, GOFLAGS: '-mod=mod' });
      expect(built.code, built.stderr).toBe(0);
    }
    const packaged: string[] = [];
    for (const out of ['a', 'b']) {
      const r = await run('npm', ['run', 'plugin:package', '--', '--out', join(dir, out), '--base-url', `file://${join(dir, out)}`]);
      expect(r.code, r.stderr).toBe(0);
      packaged.push(/sha256 ([0-9a-f]{64})/.exec(r.stdout)![1]!);
    }
    expect(packaged[0]).toBe(packaged[1]);
    const manifest = parse(readFileSync(join(dir, 'a', 'alcor.yaml'), 'utf8')) as { metadata: { name: string }; spec: { version: string; platforms: { sha256: string; uri: string; bin: string }[] } };
    const committed = parse(readFileSync(join(root, 'krew/alcor.yaml'), 'utf8')) as typeof manifest;
    expect(manifest.metadata.name).toBe('alcor');
    expect(manifest.spec.platforms[0]!.sha256).toBe(packaged[0]);
    // Only the archive's place and digest differ from the committed manifest.
    expect({ ...manifest, spec: { ...manifest.spec, platforms: manifest.spec.platforms.map((p) => ({ ...p, sha256: '', uri: '' })) } }).toEqual({
      ...committed,
      spec: { ...committed.spec, platforms: committed.spec.platforms.map((p) => ({ ...p, sha256: '', uri: '' })) },
    });

    const krewRoot = join(dir, 'krew-root');
    const install = await run(join(cacheDir, 'krew'), ['install', `--manifest=${join(dir, 'a', 'alcor.yaml')}`, `--archive=${join(dir, 'a', `kubectl-alcor-v${pkgVersion}.tar.gz`)}`], { KREW_ROOT: krewRoot });
    expect(install.code, install.stderr).toBe(0);
    const bin = join(krewRoot, 'bin', 'kubectl-alcor');
    const help = await run(bin, ['--help']);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toContain('kubectl alcor COMMAND [ARGS] [flags]');
    const bad = await run(bin, ['who-has', 'zz']);
    expect(bad).toMatchObject({ code: 1, stdout: '', stderr: 'error: "zz" is neither a MAC address (aa:bb:cc:00:00:01) nor an IPv4 address (10.0.0.7)\n' });
    const tampered = await run(join(cacheDir, 'krew'), ['install', `--manifest=${join(dir, 'b', 'alcor.yaml')}`, `--archive=${join(dir, 'a', 'alcor.yaml')}`], { KREW_ROOT: join(dir, 'krew-root-2') });
    expect(tampered.code).not.toBe(0);
  }, 600_000);
});
