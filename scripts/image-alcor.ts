// `npm run image:alcor`: OCI images of Alcor's MAC manager, its Data Plane
// Manager and Apache Ignite, without Docker, the way `npm run image` builds
// ours. One shared layer is a Java runtime: Debian's openjdk-17-jre-headless
// and the packages it depends on, fetched with `apt-get download` and
// unpacked (no maintainer script runs). On top, each image's own layer:
// Alcor's jar (never built here: taken from $ALCOR_JARS or the cache, see
// test/alcor/jars.ts), or Ignite's jars from Maven Central with Alcor's
// common jar. The JDK 17 flags Ignite's client needs are in JDK_JAVA_OPTIONS,
// which `java` reads however the pod's command starts it.
//
// Everything is cached under ~/.cache/alcor-operator/images/alcor/ by the
// content it is built from: a rebuild with nothing changed finds the
// archives. When a local real-pod cluster is running (`npm run
// cluster:up:pods`, the demo), the images are imported into its containerd.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, chmodSync, copyFileSync, symlinkSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { tarLayer, writeOciArchive, type Layer } from './image.ts';
import { JDK17_ADD_OPENS } from '../test/alcor/jvm.ts';
import { findAlcorJars, alcorJarsDir, ALCOR_JARS_ENV } from '../test/alcor/jars.ts';
import { ensureIgniteLibs, IGNITE_VERSION } from '../test/alcor/ignite.ts';

const root = join(import.meta.dirname, '..');
const JRE_PACKAGE = 'openjdk-17-jre-headless';
const JAVA_HOME = '/usr/lib/jvm/java-17-openjdk-amd64';
const NONROOT = '65532:65532';

function cacheDir(): string {
  return join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'alcor-operator', 'images', 'alcor');
}

export interface AlcorImage {
  /** OCI archive. */
  archive: string;
  /** Name containerd stores it under, e.g. docker.io/library/mac_manager:v1.0. */
  ref: string;
  /** What a pod spec says: mac_manager:v1.0. */
  image: string;
  /** Size of the archive in bytes. */
  bytes: number;
}

export interface AlcorImages {
  macManager: AlcorImage;
  dpm: AlcorImage;
  ignite: AlcorImage;
  cached: boolean;
  seconds: number;
}

/**
 * Alcor's own image names, so the DataPlaneManager's and MacPool's defaults
 * (data_plane_manager:v1.0, mac_manager:v1.0) run them; Ignite's carries its version.
 */
export const ALCOR_IMAGE_NAMES = { macManager: 'mac_manager:v1.0', dpm: 'data_plane_manager:v1.0', ignite: `ignite_alcor:${IGNITE_VERSION}` } as const;
/** Where the jars sit in the images: the paths of Alcor's Dockerfiles and Deployments. */
export const ALCOR_JAR_PATHS = { macManager: '/app/AlcorMacManager-0.1.0.jar', dpm: '/app/AlcorDataPlaneManager-0.1.0.jar' } as const;
/** Ignite's image: its jars, a work directory the pod mounts, the config the StatefulSet mounts. */
export const IGNITE_IMAGE_PATHS = { libs: '/opt/ignite/libs', home: '/opt/ignite', config: '/etc/ignite/config.xml' } as const;

/**
 * The dependencies `apt-cache depends` prints for some packages (Depends and
 * Pre-Depends): of alternatives ("|Depends: a" then "Depends: b") the first,
 * of a virtual package ("<v>" then indented providers) its first provider.
 */
export function parseAptDepends(output: string): string[] {
  const out: string[] = [];
  const lines = output.split('\n');
  let inAlternatives = false;
  for (let i = 0; i < lines.length; i++) {
    const m = /^ ([ |])(?:Pre)?Depends: (\S+)/.exec(lines[i]!);
    if (!m) continue;
    const laterAlternative = inAlternatives;
    inAlternatives = m[1] === '|';
    if (laterAlternative) continue;
    let name = m[2]!;
    if (name.startsWith('<')) {
      const provider = /^ {4}(\S+)/.exec(lines[i + 1] ?? '');
      if (!provider) continue; // nothing provides it: nothing to unpack
      name = provider[1]!;
    }
    out.push(name.replace(/:any$/, ''));
  }
  return out;
}

/** The package and every package it depends on, transitively (see parseAptDepends). */
export function packageClosure(start: string): string[] {
  const seen = new Set<string>([start]);
  let frontier = [start];
  while (frontier.length) {
    const out = execFileSync('apt-cache', ['depends', '--no-recommends', '--no-suggests', '--no-conflicts', '--no-breaks', '--no-replaces', '--no-enhances', ...frontier], { encoding: 'utf8' });
    const next: string[] = [];
    for (const name of parseAptDepends(out)) {
      if (seen.has(name)) continue;
      seen.add(name);
      next.push(name);
    }
    frontier = next;
  }
  return [...seen].sort();
}

const sha = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

/**
 * A small memo in the cache, so a rebuild with nothing changed costs no
 * hashing of 240 MB of jars and no dependency walk: values keyed by what
 * they are derived from (a file's path, size and mtime; apt's lists).
 */
function memo<T>(name: string, key: string, compute: () => T): T {
  const file = join(cacheDir(), 'memo.json');
  let all: Record<string, { key: string; value: unknown }> = {};
  try {
    all = JSON.parse(readFileSync(file, 'utf8')) as typeof all;
  } catch {
    // first use
  }
  const hit = all[name];
  if (hit?.key === key) return hit.value as T;
  const value = compute();
  all[name] = { key, value };
  mkdirSync(cacheDir(), { recursive: true });
  writeFileSync(file, JSON.stringify(all));
  return value;
}

function fileHash(path: string): string {
  const st = statSync(path);
  return memo(`sha256:${path}`, `${st.size}:${st.mtimeMs}`, () => execFileSync('sha256sum', [path], { encoding: 'utf8' }).split(' ')[0]!);
}

/** What apt knows (its package lists): the dependency closure changes only with them. */
function aptListsStamp(): string {
  const dir = '/var/lib/apt/lists';
  return readdirSync(dir)
    .filter((f) => f.endsWith('_Packages'))
    .map((f) => `${f}:${statSync(join(dir, f)).mtimeMs}`)
    .join(',');
}

/** The .deb files of the closure, downloaded once into the cache. */
function downloadDebs(packages: string[], log: (s: string) => void): string[] {
  const dir = join(cacheDir(), 'debs');
  mkdirSync(dir, { recursive: true });
  const have = () => readdirSync(dir).filter((f) => f.endsWith('.deb'));
  const missing = packages.filter((p) => !have().some((f) => f.startsWith(`${p}_`)));
  if (missing.length) {
    log(`apt-get download: ${missing.length} packages`);
    execFileSync('apt-get', ['download', '-q', ...missing], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
  }
  return packages.map((p) => {
    // The newest version downloaded of each package.
    const f = have().filter((x) => x.startsWith(`${p}_`)).sort().at(-1);
    if (!f) throw new Error(`apt-get download ${p}: no .deb`);
    return join(dir, f);
  });
}

/** The Java runtime's layer: the .debs unpacked, plus what their maintainer scripts would have made. */
function jreLayer(debs: string[], work: string, log: (s: string) => void): Layer {
  const key = sha(debs.map((d) => `${d.split('/').pop()}:${statSync(d).size}`).join('\n') + readFileSync(import.meta.filename));
  const file = join(cacheDir(), `jre-${key.slice(0, 16)}.tar`);
  const meta = `${file}.json`;
  if (existsSync(meta)) return JSON.parse(readFileSync(meta, 'utf8')) as Layer;
  const rootfs = join(work, 'jre');
  for (const deb of debs) execFileSync('dpkg-deb', ['-x', deb, rootfs]);
  // update-alternatives' link, the user our pods run as, a writable /tmp.
  mkdirSync(join(rootfs, 'usr/bin'), { recursive: true });
  rmSync(join(rootfs, 'usr/bin/java'), { force: true });
  symlinkSync(`${JAVA_HOME}/bin/java`, join(rootfs, 'usr/bin/java'));
  writeFileSync(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/usr/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/usr/sbin/nologin\n');
  writeFileSync(join(rootfs, 'etc/group'), 'root:x:0:\nnonroot:x:65532:\n');
  writeFileSync(join(rootfs, 'etc/nsswitch.conf'), 'passwd: files\ngroup: files\nhosts: files dns\n');
  // ca-certificates-java's postinst builds this keystore; the host's JRE has one from the same package.
  const cacerts = '/etc/ssl/certs/java/cacerts';
  if (existsSync(cacerts)) {
    mkdirSync(join(rootfs, 'etc/ssl/certs/java'), { recursive: true });
    copyFileSync(cacerts, join(rootfs, cacerts));
  }
  for (const d of ['tmp', 'home/nonroot']) mkdirSync(join(rootfs, d), { recursive: true });
  chmodSync(join(rootfs, 'tmp'), 0o1777);
  execFileSync('chown', [NONROOT, join(rootfs, 'home/nonroot')]);
  const layer = tarLayer(rootfs, `${file}.partial`);
  renameSync(`${file}.partial`, file);
  const done = { ...layer, file };
  writeFileSync(meta, JSON.stringify(done));
  log(`Java runtime layer: ${debs.length} packages, ${(done.size / 1e6).toFixed(0)} MB`);
  return done;
}

/** A layer of files (host path → image path), cached by their content. */
function filesLayer(name: string, files: [string, string][], work: string): Layer {
  const key = sha(files.map(([from, to]) => `${to}:${fileHash(from)}`).join('\n'));
  const file = join(cacheDir(), `${name}-${key.slice(0, 16)}.tar`);
  const meta = `${file}.json`;
  if (existsSync(meta)) return JSON.parse(readFileSync(meta, 'utf8')) as Layer;
  const rootfs = join(work, name);
  for (const [from, to] of files) {
    mkdirSync(join(rootfs, to, '..'), { recursive: true });
    cpSync(from, join(rootfs, to));
  }
  const layer = tarLayer(rootfs, `${file}.partial`);
  renameSync(`${file}.partial`, file);
  const done = { ...layer, file };
  writeFileSync(meta, JSON.stringify(done));
  return done;
}

const ENV = [
  `PATH=${JAVA_HOME}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
  `JAVA_HOME=${JAVA_HOME}`,
  // Read by every `java` the pod starts, before its arguments: a Deployment's own command keeps working.
  `JDK_JAVA_OPTIONS=${JDK17_ADD_OPENS.join(' ')}`,
];

/** One line saying what is missing to build the images here, or undefined. */
export function imageMissingReason(): string | undefined {
  if (!findAlcorJars()) return `Alcor's jars not found in ${alcorJarsDir()} (or $${ALCOR_JARS_ENV}): see docs/alcor.md`;
  for (const [tool, what] of [['apt-get', 'apt'], ['dpkg-deb', 'dpkg'], ['mvn', 'Maven (Apache Ignite from Maven Central)']] as const) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      return `${tool} not found: ${what} is needed to build Alcor's images`;
    }
  }
  try {
    execFileSync('apt-cache', ['show', JRE_PACKAGE], { stdio: 'ignore' });
  } catch {
    return `apt knows no ${JRE_PACKAGE} (run apt-get update): the images' Java runtime comes from it`;
  }
  return undefined;
}

/** Builds the three images, or finds them in the cache. */
export function buildAlcorImages(log: (line: string) => void = (l) => process.stderr.write(`[image:alcor] ${l}\n`)): AlcorImages {
  const started = Date.now();
  const jars = findAlcorJars();
  if (!jars) throw new Error(imageMissingReason());
  const igniteLibs = ensureIgniteLibs(log);
  const debs = downloadDebs(memo(`closure:${JRE_PACKAGE}`, aptListsStamp(), () => packageClosure(JRE_PACKAGE)), log);
  const libFiles = readdirSync(igniteLibs).filter((f) => f.endsWith('.jar')).sort();
  const inputs = sha(
    [
      ...debs.map((d) => d.split('/').pop()),
      fileHash(jars.macManager),
      fileHash(jars.dpm),
      fileHash(jars.common),
      ...libFiles,
      readFileSync(import.meta.filename, 'utf8'),
      readFileSync(join(root, 'scripts/image.ts'), 'utf8'),
    ].join('\n'),
  ).slice(0, 16);
  const dir = join(cacheDir(), inputs);
  const archives = { macManager: join(dir, 'mac_manager.oci.tar'), dpm: join(dir, 'data_plane_manager.oci.tar'), ignite: join(dir, 'ignite_alcor.oci.tar') };
  const result = (cached: boolean): AlcorImages => {
    const image = (k: keyof typeof archives): AlcorImage => ({
      archive: archives[k],
      ref: `docker.io/library/${ALCOR_IMAGE_NAMES[k]}`,
      image: ALCOR_IMAGE_NAMES[k],
      bytes: existsSync(archives[k]) ? statSync(archives[k]).size : 0,
    });
    return { macManager: image('macManager'), dpm: image('dpm'), ignite: image('ignite'), cached, seconds: (Date.now() - started) / 1000 };
  };
  if (existsSync(join(dir, 'done'))) return result(true);

  const work = join(cacheDir(), `.build-${inputs}-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  try {
    mkdirSync(join(work, 'out'), { recursive: true });
    const jre = jreLayer(debs, work, log);
    const write = (k: keyof typeof archives, layers: Layer[], entrypoint: string[], cmd: string[], ports: string[]) => {
      const [, tag] = ALCOR_IMAGE_NAMES[k].split(':');
      mkdirSync(join(work, k), { recursive: true });
      writeOciArchive(layers, join(work, k), join(work, 'out', archives[k].split('/').pop()!), {
        ref: `docker.io/library/${ALCOR_IMAGE_NAMES[k]}`, tag: tag!, user: NONROOT, entrypoint, cmd, workingDir: '/tmp', env: ENV, exposedPorts: ports,
      });
    };
    write('macManager', [jre, filesLayer('mac_manager', [[jars.macManager, ALCOR_JAR_PATHS.macManager]], work)], ['java', '-jar', ALCOR_JAR_PATHS.macManager], [], ['8080/tcp']);
    write('dpm', [jre, filesLayer('data_plane_manager', [[jars.dpm, ALCOR_JAR_PATHS.dpm]], work)], ['java', '-jar', ALCOR_JAR_PATHS.dpm], [], ['8080/tcp', '50001/tcp', '50002/tcp']);
    const igniteFiles: [string, string][] = [...libFiles.map((f): [string, string] => [join(igniteLibs, f), `${IGNITE_IMAGE_PATHS.libs}/${f}`]), [jars.common, `${IGNITE_IMAGE_PATHS.libs}/alcor-common.jar`]];
    write(
      'ignite',
      [jre, filesLayer('ignite_alcor', igniteFiles, work)],
      ['java', `-DIGNITE_HOME=${IGNITE_IMAGE_PATHS.home}`, '-DIGNITE_UPDATE_NOTIFIER=false', '-DIGNITE_NO_ASCII=true', '-Djava.net.preferIPv4Stack=true', '-cp', `${IGNITE_IMAGE_PATHS.libs}/*`, 'org.apache.ignite.startup.cmdline.CommandLineStartup'],
      [IGNITE_IMAGE_PATHS.config],
      ['10800/tcp', '47100/tcp', '47500/tcp'],
    );
    writeFileSync(join(work, 'out', 'done'), `${new Date().toISOString()}\n`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(join(work, 'out'), dir);
    pruneCache(inputs);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return result(false);
}

/** Keeps the newest two image sets and the layers they use. */
function pruneCache(keep: string): void {
  const root = cacheDir();
  const sets = readdirSync(root)
    .filter((n) => /^[0-9a-f]{16}$/.test(n) && n !== keep)
    .map((n) => ({ n, t: statSync(join(root, n)).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  for (const { n } of sets.slice(1)) rmSync(join(root, n), { recursive: true, force: true });
}

/** Imports the images into a node's containerd (socket of a local real-pod cluster). */
export function importAlcorImages(socket: string, images: AlcorImages): void {
  for (const i of [images.macManager, images.dpm, images.ignite]) {
    execFileSync('ctr', ['--address', socket, '-n', 'k8s.io', 'images', 'import', '--no-unpack=false', i.archive], { stdio: ['ignore', 'ignore', 'inherit'], maxBuffer: 16 << 20 });
  }
}

if (import.meta.main) {
  const reason = imageMissingReason();
  if (reason) {
    process.stderr.write(`[image:alcor] cannot build: ${reason}\n`);
    process.exit(1);
  }
  const images = buildAlcorImages();
  const mb = (b: number) => (b / 1e6).toFixed(0);
  for (const i of [images.macManager, images.dpm, images.ignite]) process.stdout.write(`${i.ref}  ${i.archive} (${mb(i.bytes)} MB)\n`);
  process.stdout.write(`${images.cached ? 'cached, found' : 'built'} in ${images.seconds.toFixed(1)}s\n`);
  const { runningClusterSocket } = await import('../e2e/cluster/node.ts');
  const socket = runningClusterSocket();
  if (socket) {
    const t = Date.now();
    importAlcorImages(socket, images);
    process.stdout.write(`imported into the local cluster's containerd (${socket}) in ${((Date.now() - t) / 1000).toFixed(1)}s\n`);
  }
}
