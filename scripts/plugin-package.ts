// npm run plugin:package [-- --out DIR] [--base-url URL]: the kubectl-alcor
// archive for krew (and any install without a checkout): the compiled
// JavaScript, its one runtime dependency (yaml) and the bin, in a tarball
// made byte-for-byte reproducible (sorted, no times, no owners), and
// krew/alcor.yaml filled in with the archive's URL and sha256. It runs on
// Node ≥ 20, which is what the manifest's caveat says.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const root = join(import.meta.dirname, '..');
const { values } = parseArgs({ options: { out: { type: 'string' }, 'base-url': { type: 'string' } } });
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string; license: string };
const version = `v${pkg.version}`;
const out = values.out ?? join(root, 'dist', 'krew');
const name = `kubectl-alcor-${version}.tar.gz`;
const baseUrl = values['base-url'] ?? `https://github.com/alcor-dev/alcor-operator/releases/download/${version}`;

const work = mkdtempSync(join(tmpdir(), 'kubectl-alcor-'));
try {
  const stage = join(work, 'stage');
  // The whole tree compiles (the plugin imports api, runtime and one module of render); only the .js files ship.
  execFileSync(join(root, 'node_modules/.bin/tsc'), ['-p', join(root, 'tsconfig.build.json'), '--outDir', join(stage, 'dist'), '--sourceMap', 'false'], { stdio: 'inherit' });
  mkdirSync(join(stage, 'bin'), { recursive: true });
  cpSync(join(root, 'bin/kubectl-alcor.js'), join(stage, 'bin/kubectl-alcor.js'));
  cpSync(join(root, 'node_modules/yaml'), join(stage, 'node_modules/yaml'), { recursive: true });
  writeFileSync(join(stage, 'package.json'), JSON.stringify({ name: 'kubectl-alcor', version: pkg.version, license: pkg.license, type: 'module', private: true }, null, 2) + '\n');
  mkdirSync(out, { recursive: true });
  const archive = join(out, name);
  execFileSync('sh', ['-c', `tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --mode='u+rwX,go+rX,go-w' -C "${stage}" -cf - . | gzip -n -9 > "${archive}"`]);
  const sha256 = createHash('sha256').update(readFileSync(archive)).digest('hex');
  const manifest = readFileSync(join(root, 'krew/alcor.yaml'), 'utf8')
    .replace(/^( {2}version: ).*$/m, `$1${version}`)
    .replace(/^( {6}uri: ).*$/m, `$1${baseUrl}/${name}`)
    .replace(/^( {6}sha256: ).*$/m, `$1"${sha256}"`);
  writeFileSync(join(out, 'alcor.yaml'), manifest);
  process.stdout.write(`${archive}\n${join(out, 'alcor.yaml')}\nsha256 ${sha256}\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
