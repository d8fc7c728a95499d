// The image has two recipes: the Dockerfile (docker build, kind) and
// scripts/image.ts (`npm run image`, no Docker: the local cluster's real
// pods). Both must describe the same entrypoint, command, user, working
// directory, environment and ports — and the OCI archive must carry them.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { IMAGE_CONFIG, buildImages } from '../../scripts/image.ts';

const root = join(import.meta.dirname, '..', '..');

interface FinalStage {
  user?: string;
  workdir?: string;
  entrypoint?: string[];
  cmd?: string[];
  env: string[];
  expose: string[];
}

/** The instructions of the Dockerfile's last stage that end up in the image config. */
function finalStage(dockerfile: string): FinalStage {
  const lines = dockerfile.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const from = lines.map((l, i) => (/^FROM\s/i.test(l) ? i : -1)).filter((i) => i >= 0).pop() ?? 0;
  const stage: FinalStage = { env: [], expose: [] };
  for (const line of lines.slice(from)) {
    const m = /^(\w+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const [, instr, rest] = m as unknown as [string, string, string];
    switch (instr.toUpperCase()) {
      case 'USER': stage.user = rest; break;
      case 'WORKDIR': stage.workdir = rest; break;
      case 'ENTRYPOINT': stage.entrypoint = JSON.parse(rest) as string[]; break;
      case 'CMD': stage.cmd = JSON.parse(rest) as string[]; break;
      case 'ENV': stage.env.push(...rest.split(/\s+/)); break;
      case 'EXPOSE': stage.expose.push(...rest.split(/\s+/).map((p) => (p.includes('/') ? p : `${p}/tcp`))); break;
    }
  }
  return stage;
}

describe('Dockerfile and npm run image describe the same image', () => {
  const stage = finalStage(readFileSync(join(root, 'Dockerfile'), 'utf8'));

  test('entrypoint, command, user and working directory', () => {
    // The Dockerfile's ENTRYPOINT must be exec form (JSON): a shell form would differ.
    expect(stage.entrypoint).toEqual(IMAGE_CONFIG.entrypoint);
    expect(stage.cmd).toEqual(IMAGE_CONFIG.cmd);
    expect(stage.user).toBe(IMAGE_CONFIG.user);
    expect(stage.workdir).toBe(IMAGE_CONFIG.workingDir);
  });

  test('environment and ports', () => {
    // PATH comes from the Docker base image; the rest is set by the Dockerfile.
    expect(stage.env).toEqual(IMAGE_CONFIG.env.filter((e) => !e.startsWith('PATH=')));
    expect(stage.expose.sort()).toEqual([...IMAGE_CONFIG.exposedPorts].sort());
  });

  test('the parser reads a Dockerfile as Docker would (last stage only)', () => {
    const s = finalStage('FROM a AS b\nUSER 1\nFROM c\n# c\nWORKDIR /x\nENTRYPOINT ["n", \\\n "m"]\nENV A=1\nEXPOSE 80 53/udp\n');
    expect(s).toEqual({ workdir: '/x', entrypoint: ['n', 'm'], env: ['A=1'], expose: ['80/tcp', '53/udp'] });
  });
});

const canBuild = (() => {
  try {
    execFileSync('sh', ['-c', 'command -v gcc && command -v tar && command -v ldd'], { stdio: 'ignore' });
    // The pause image is linked statically.
    return execFileSync('gcc', ['-print-file-name=libc.a'], { encoding: 'utf8' }).trim().startsWith('/');
  } catch {
    return false;
  }
})();

describe.skipIf(!canBuild)('the OCI archive of npm run image', () => {
  test('its config carries the same entrypoint, command, user, working directory, environment; the app and node are in it', () => {
    const images = buildImages(() => {});
    const tar = (archive: string, ...args: string[]) => execFileSync('tar', ['-xOf', archive, ...args], { maxBuffer: 1 << 30 });
    const index = JSON.parse(tar(images.operator, './index.json').toString()) as { manifests: { digest: string; annotations: Record<string, string> }[] };
    expect(index.manifests[0]?.annotations['io.containerd.image.name']).toBe(images.operatorRef);
    const blob = (d: string) => tar(images.operator, `./blobs/sha256/${d.replace('sha256:', '')}`);
    const manifest = JSON.parse(blob(index.manifests[0]!.digest).toString()) as { config: { digest: string }; layers: { digest: string }[] };
    const config = JSON.parse(blob(manifest.config.digest).toString()) as {
      config: { User: string; Entrypoint: string[]; Cmd: string[]; WorkingDir: string; Env: string[] };
    };
    expect(config.config).toMatchObject({
      User: IMAGE_CONFIG.user,
      Entrypoint: IMAGE_CONFIG.entrypoint,
      Cmd: IMAGE_CONFIG.cmd,
      WorkingDir: IMAGE_CONFIG.workingDir,
      Env: IMAGE_CONFIG.env,
    });
    // The layer holds the entrypoint's files and the user the config names.
    const layer = manifest.layers[0]!.digest.replace('sha256:', '');
    const names = execFileSync('sh', ['-c', `tar -xOf '${images.operator}' './blobs/sha256/${layer}' | tar -t`], { maxBuffer: 1 << 28 }).toString().split('\n');
    for (const f of ['./usr/local/bin/node', './app/bin/alcor-operator.js', './app/dist/cli/main.js', './app/package.json', './etc/passwd']) {
      expect(names).toContain(f);
    }
    const passwd = execFileSync('sh', ['-c', `tar -xOf '${images.operator}' './blobs/sha256/${layer}' | tar -xO ./etc/passwd`]).toString();
    expect(passwd).toMatch(/:65532:65532:/);
  }, 120_000);
});
