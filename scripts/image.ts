// `npm run image`: builds the project's single image, `alcor-operator`, and a
// tiny pause image as OCI archives, without Docker and without a registry:
// a root file system put together from files on this machine (the Node 24
// binary of the `node` dev dependency, the shared libraries it links, the app
// compiled from src/, the production node_modules), one uncompressed layer
// tarred deterministically, and the OCI layout (blobs by sha256, index.json)
// written by hand. The result is cached under the user's cache directory,
// keyed by a hash of the inputs, so a rebuild with nothing changed is instant.
//
// Entrypoint, user, working directory and environment match the Dockerfile
// (test/image/ checks that they stay in step).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync, copyFileSync, cpSync, existsSync, linkSync, mkdirSync, readFileSync, readdirSync, realpathSync, renameSync, rmSync, statSync, writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, relative } from 'node:path';

import { compileIcmpHelper } from './icmp-helper.ts';

const root = join(import.meta.dirname, '..');

/** What the image runs; the Dockerfile says the same (checked by test/image/). */
export const IMAGE_CONFIG = {
  user: '65532:65532',
  entrypoint: ['node', '/app/bin/alcor-operator.js'],
  cmd: ['run'],
  workingDir: '/app',
  env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'NODE_ENV=production'],
  exposedPorts: ['8080/tcp', '8081/tcp'],
};

export interface BuiltImages {
  /** OCI archive of alcor-operator:<version>. */
  operator: string;
  /** Reference the operator image is imported as, e.g. docker.io/library/alcor-operator:0.1.0. */
  operatorRef: string;
  /** Short name pods use, e.g. alcor-operator:0.1.0. */
  operatorImage: string;
  pause: string;
  pauseRef: string;
  /** True when both came from the cache. */
  cached: boolean;
  seconds: number;
}

const PAUSE_C = `#include <signal.h>
#include <unistd.h>
#include <stdlib.h>
/* The pod sandbox's process: holds the namespaces, reaps nothing, exits on TERM/INT. */
static void done(int sig) { (void)sig; exit(0); }
int main(void) {
  signal(SIGTERM, done);
  signal(SIGINT, done);
  for (;;) pause();
}
`;

function cacheRoot(): string {
  return join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'alcor-operator', 'images');
}

function version(): string {
  return (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
}

function nodeBinary(): string {
  return realpathSync(join(root, 'node_modules', 'node', 'bin', 'node'));
}

/** Hash of everything the images are built from. */
function inputsKey(): string {
  const h = createHash('sha256');
  const add = (path: string) => {
    const st = statSync(path);
    if (st.isDirectory()) {
      for (const name of readdirSync(path).sort()) add(join(path, name));
      return;
    }
    h.update(relative(root, path) + '\0');
    h.update(readFileSync(path));
  };
  for (const p of ['src', 'bin', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'scripts/image.ts', 'scripts/icmp-helper.ts']) add(join(root, p));
  const node = statSync(nodeBinary());
  h.update(`node ${node.size} ${node.mtimeMs}`);
  return h.digest('hex').slice(0, 16);
}

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

interface Blob {
  digest: string;
  size: number;
}

/** One image layer: an uncompressed tar and its sha256. */
export interface Layer {
  file: string;
  digest: string;
  size: number;
}

/** Tars a directory deterministically (sorted names, fixed owner and times, no atime/ctime headers) into one layer. */
export function tarLayer(rootfs: string, out: string): Layer {
  execFileSync('tar', [
    '--create', '--file', out, '--directory', rootfs, '--sort=name', '--owner=0', '--group=0', '--numeric-owner',
    '--mtime=@0', '--format=posix', '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime', '.',
  ]);
  const digest = execFileSync('sha256sum', [out], { encoding: 'utf8' }).split(' ')[0] ?? '';
  return { file: out, digest, size: statSync(out).size };
}

export interface ImageConfig {
  ref: string;
  tag: string;
  user: string;
  entrypoint: string[];
  cmd: string[];
  workingDir: string;
  env: string[];
  exposedPorts: string[];
}

/**
 * Writes an OCI archive of one image: a directory (tarred into one layer) or
 * layers tarred before (shared between images, bottom first).
 */
export function writeOciArchive(rootfs: string | Layer[], work: string, out: string, opts: ImageConfig): void {
  const layout = join(work, 'layout');
  const blobs = join(layout, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const layers = typeof rootfs === 'string' ? [tarLayer(rootfs, join(work, 'layer.tar'))] : rootfs;
  for (const l of layers) {
    const dest = join(blobs, l.digest);
    if (existsSync(dest)) continue;
    // A layer tarred for this image moves in; a shared one is linked (or copied across file systems).
    if (typeof rootfs === 'string') renameSync(l.file, dest);
    else {
      try {
        linkSync(l.file, dest);
      } catch {
        copyFileSync(l.file, dest);
      }
    }
  }
  const putJson = (value: unknown): Blob => {
    const text = JSON.stringify(value);
    const digest = sha256(text);
    writeFileSync(join(blobs, digest), text);
    return { digest, size: Buffer.byteLength(text) };
  };
  const config = putJson({
    created: '1970-01-01T00:00:00Z',
    architecture: 'amd64',
    os: 'linux',
    config: {
      User: opts.user,
      Entrypoint: opts.entrypoint,
      Cmd: opts.cmd,
      WorkingDir: opts.workingDir,
      Env: opts.env,
      ExposedPorts: Object.fromEntries(opts.exposedPorts.map((p) => [p, {}])),
    },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => `sha256:${l.digest}`) },
    history: layers.map(() => ({ created: '1970-01-01T00:00:00Z', created_by: 'scripts/image.ts' })),
  });
  const manifest = putJson({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${config.digest}`, size: config.size },
    layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${l.digest}`, size: l.size })),
  });
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(join(layout, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [{
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: `sha256:${manifest.digest}`,
      size: manifest.size,
      platform: { architecture: 'amd64', os: 'linux' },
      // containerd's importer names the image after io.containerd.image.name.
      annotations: { 'io.containerd.image.name': opts.ref, 'org.opencontainers.image.ref.name': opts.tag },
    }],
  }));
  execFileSync('tar', ['--create', '--file', out, '--directory', layout, '--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '.']);
}

/** Copies a host file to the same path under rootfs, following symlinks. */
function copyHostFile(rootfs: string, path: string): void {
  const dest = join(rootfs, path);
  mkdirSync(dirname(dest), { recursive: true });
  copyFileSync(realpathSync(path), dest);
  chmodSync(dest, statSync(realpathSync(path)).mode & 0o777);
}

function sharedLibraries(binary: string): string[] {
  const out = execFileSync('ldd', [binary], { encoding: 'utf8' });
  const libs: string[] = [];
  for (const line of out.split('\n')) {
    const m = /=>\s+(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m?.[1]) libs.push(m[1]);
  }
  if (libs.length === 0) throw new Error(`ldd ${binary}: no libraries found:\n${out}`);
  return libs;
}

/** Production dependencies: the installed packages `npm ls --omit=dev` names, copied as they are. */
function productionModules(): string[] {
  const out = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: root, encoding: 'utf8' });
  const top = new Set<string>();
  for (const line of out.split('\n')) {
    const rel = relative(root, line.trim());
    if (!rel.startsWith('node_modules/')) continue;
    // The top-most node_modules entry holds any nested ones.
    const parts = rel.split('/');
    top.add(parts.slice(0, parts[1]?.startsWith('@') ? 3 : 2).join('/'));
  }
  return [...top].sort();
}

/**
 * Drops what nothing loads at run time from the dependencies: type
 * declarations, source maps and Markdown (about a fifth of the image; the
 * app's own source maps stay, for stack traces).
 */
function pruneModules(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) pruneModules(path);
    else if (entry.isFile() && /(\.d\.[cm]?ts|\.map|\.md)$/i.test(entry.name)) rmSync(path);
  }
}

function buildOperatorRootfs(rootfs: string, log: (s: string) => void): void {
  const node = nodeBinary();
  mkdirSync(join(rootfs, 'usr/local/bin'), { recursive: true });
  copyFileSync(node, join(rootfs, 'usr/local/bin/node'));
  chmodSync(join(rootfs, 'usr/local/bin/node'), 0o755);
  for (const lib of sharedLibraries(node)) copyHostFile(rootfs, lib);
  // /lib64 and /lib are symlinks on merged-/usr Debian; the copies land where ldd says.
  mkdirSync(join(rootfs, 'etc'), { recursive: true });
  writeFileSync(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n');
  writeFileSync(join(rootfs, 'etc/group'), 'root:x:0:\nnonroot:x:65532:\n');
  writeFileSync(join(rootfs, 'etc/nsswitch.conf'), 'hosts: files dns\n');
  for (const d of ['tmp', 'home/nonroot']) mkdirSync(join(rootfs, d), { recursive: true });
  chmodSync(join(rootfs, 'tmp'), 0o1777);
  execFileSync('chown', ['65532:65532', join(rootfs, 'home/nonroot')]);
  // The app, laid out as the Dockerfile lays it out.
  const app = join(rootfs, 'app');
  mkdirSync(app, { recursive: true });
  const tsc = join(root, 'node_modules', '.bin', 'tsc');
  execFileSync(tsc, ['-p', join(root, 'tsconfig.build.json'), '--outDir', join(app, 'dist')], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  cpSync(join(root, 'bin'), join(app, 'bin'), { recursive: true });
  // dhcpd's ICMP echo helper (conflictDetection: ping), static: the image has no libc of its own beyond node's.
  compileIcmpHelper(join(app, 'libexec', 'alcor-icmp-probe'), { static: true });
  copyFileSync(join(root, 'package.json'), join(app, 'package.json'));
  const modules = productionModules();
  for (const m of modules) cpSync(join(root, m), join(app, m), { recursive: true, verbatimSymlinks: true });
  pruneModules(join(app, 'node_modules'));
  log(`rootfs: node ${execFileSync(nodeBinary(), ["--version"], { encoding: "utf8" }).trim()}, ${modules.length} production packages`);
}

function buildPauseRootfs(rootfs: string, work: string): void {
  const src = join(work, 'pause.c');
  writeFileSync(src, PAUSE_C);
  mkdirSync(rootfs, { recursive: true });
  execFileSync('gcc', ['-Os', '-static', '-s', '-o', join(rootfs, 'pause'), src]);
}

/** Keeps the cache small: the new build and the two before it. */
function pruneCache(keep: string): void {
  const entries = readdirSync(cacheRoot())
    .filter((n) => /^[0-9a-f]{16}$/.test(n) && n !== keep)
    .map((n) => ({ n, t: statSync(join(cacheRoot(), n)).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  for (const { n } of entries.slice(2)) rmSync(join(cacheRoot(), n), { recursive: true, force: true });
}

/** Builds both images (or finds them in the cache) and returns their archives. */
export function buildImages(log: (line: string) => void = (l) => process.stderr.write(l + '\n')): BuiltImages {
  const started = Date.now();
  const tag = version();
  const key = inputsKey();
  const dir = join(cacheRoot(), key);
  const result = (cached: boolean): BuiltImages => ({
    operator: join(dir, 'alcor-operator.oci.tar'),
    operatorRef: `docker.io/library/alcor-operator:${tag}`,
    operatorImage: `alcor-operator:${tag}`,
    pause: join(dir, 'pause.oci.tar'),
    pauseRef: 'registry.local/alcor-e2e/pause:1',
    cached,
    seconds: (Date.now() - started) / 1000,
  });
  if (existsSync(join(dir, 'done'))) return result(true);
  const work = join(cacheRoot(), `.build-${key}-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  try {
    mkdirSync(join(work, 'out'), { recursive: true });
    const r = result(false);
    buildOperatorRootfs(join(work, 'operator-rootfs'), log);
    mkdirSync(join(work, 'operator'), { recursive: true });
    writeOciArchive(join(work, 'operator-rootfs'), join(work, 'operator'), join(work, 'out', 'alcor-operator.oci.tar'), {
      ref: r.operatorRef, tag, user: IMAGE_CONFIG.user, entrypoint: IMAGE_CONFIG.entrypoint, cmd: IMAGE_CONFIG.cmd,
      workingDir: IMAGE_CONFIG.workingDir, env: IMAGE_CONFIG.env, exposedPorts: IMAGE_CONFIG.exposedPorts,
    });
    buildPauseRootfs(join(work, 'pause-rootfs'), work);
    mkdirSync(join(work, 'pause'), { recursive: true });
    writeOciArchive(join(work, 'pause-rootfs'), join(work, 'pause'), join(work, 'out', 'pause.oci.tar'), {
      ref: r.pauseRef, tag: '1', user: '65535:65535', entrypoint: ['/pause'], cmd: [], workingDir: '/', env: ['PATH=/'], exposedPorts: [],
    });
    writeFileSync(join(work, 'out', 'done'), `${new Date().toISOString()}\n`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dirname(dir), { recursive: true });
    renameSync(join(work, 'out'), dir);
    pruneCache(key);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return { ...result(false), seconds: (Date.now() - started) / 1000 };
}

if (import.meta.main) {
  const images = buildImages((l) => process.stderr.write(`[image] ${l}\n`));
  const mb = (p: string) => (statSync(p).size / 1e6).toFixed(1);
  process.stdout.write(
    [
      `${images.operatorRef}  ${images.operator} (${mb(images.operator)} MB)`,
      `${images.pauseRef}  ${images.pause} (${mb(images.pause)} MB)`,
      `${images.cached ? 'cached, found' : 'built'} in ${images.seconds.toFixed(1)}s`,
      '',
    ].join('\n'),
  );
}
