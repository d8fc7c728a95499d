// The last release, as the upgrade tests use it: what it is (version, commit,
// chart, image), its source tree built from its commit (git archive + npm ci,
// cached once per machine), and its image built by that tree's own script.
// Not a copy of old code in this repository: the release is read from git.
import { execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

const root = join(import.meta.dirname, '..');

export const RELEASE = {
  version: '0.2.0',
  commit: '35f0cb62f7f75bf03e5992ba01f043f0bdc3ba32',
  /** The chart as released (git archive of charts/alcor-operator at the commit; e2e/fixtures/README.md). */
  chart: join(import.meta.dirname, 'fixtures/alcor-operator-0.2.0'),
  /** The image that chart runs (its appVersion; the release's package.json said 0.1.0). */
  image: 'alcor-operator:0.1.0',
  why: 'the last landing of main before issue 23 (seamless upgrades), whose CI passed',
} as const;

export const RELEASE_SHORT = RELEASE.commit.slice(0, 7);

/** The release's source tree with its own node_modules, or why it cannot be had here. */
export type ReleaseTree = { dir: string; node: string; bin: string } | { skip: string };

const cacheDir = () => join(process.env['XDG_CACHE_HOME'] || join(homedir(), '.cache'), 'alcor-operator', 'releases', `${RELEASE.version}-${RELEASE_SHORT}`);
/** Written last: a tree without it is an interrupted build, never used. */
const COMPLETE = '.alcor-release-complete';

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, env, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0, stdout, stderr }),
    );
  });
}

/** `git archive <commit> | tar -x -C dir`, streamed. */
function extract(dir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const git = spawn('git', ['archive', '--format=tar', RELEASE.commit], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    const tar = spawn('tar', ['-x', '-C', dir], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    git.stderr.on('data', (d: Buffer) => (err += d.toString()));
    tar.stderr.on('data', (d: Buffer) => (err += d.toString()));
    git.stdout.pipe(tar.stdin);
    let left = 2;
    const done = (code: number | null) => {
      if (code !== 0) reject(new Error(`git archive ${RELEASE_SHORT} | tar -x: ${err}`));
      else if (--left === 0) resolve();
    };
    git.on('close', done);
    tar.on('close', done);
  });
}

/** The environment npm runs in, without the npm_* variables of the npm that started these tests (its prefix, its script). */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** An exclusive lock file holding our pid; a lock whose process is gone is taken over. */
async function lock(path: string, timeoutMs: number): Promise<() => void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = Number(readFileSync(path, 'utf8') || 'NaN');
    if (Number.isInteger(holder) && !alive(holder)) {
      rmSync(path, { force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`${path}: held by pid ${holder} for more than ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/**
 * The release's tree under ${XDG_CACHE_HOME:-~/.cache}/alcor-operator/releases/0.2.0-<short>/:
 * extracted from git and `npm ci` run there (its own node_modules), once.
 * A clone without the commit (shallow) gets a skip reason instead.
 */
export async function releaseTree(log: (line: string) => void = () => {}): Promise<ReleaseTree> {
  const has = await run('git', ['cat-file', '-e', `${RELEASE.commit}^{commit}`], root);
  if (has.code !== 0) return { skip: `release ${RELEASE.version} (${RELEASE_SHORT}) is not in this clone's history (shallow?): git fetch --unshallow to run it` };
  const dir = cacheDir();
  const tree = { dir, node: join(dir, 'node_modules', 'node', 'bin', 'node'), bin: join(dir, 'bin', 'alcor-operator.js') };
  if (existsSync(join(dir, COMPLETE))) return tree;
  mkdirSync(dirname(dir), { recursive: true });
  // Two test files (or two runs) at once: one builds, the other waits for it.
  const unlock = await lock(`${dir}.lock`, 20 * 60_000);
  try {
    if (existsSync(join(dir, COMPLETE))) return tree;
    const started = Date.now();
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    await extract(dir);
    const npm = await run('npm', ['ci', '--no-audit', '--no-fund'], dir, cleanEnv());
    if (npm.code !== 0) throw new Error(`npm ci in ${dir} failed (${npm.code}):\n${npm.stderr.slice(-4000)}`);
    if (!existsSync(tree.node)) throw new Error(`npm ci in ${dir} left no ${tree.node}`);
    writeFileSync(join(dir, COMPLETE), `${RELEASE.commit}\n${new Date().toISOString()}\n`);
    log(`release ${RELEASE.version} (${RELEASE_SHORT}) built in ${dir} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    return tree;
  } finally {
    unlock();
  }
}

export interface ReleaseImage {
  /** The OCI archive. */
  archive: string;
  /** The reference it is imported as (docker.io/library/alcor-operator:0.1.0). */
  ref: string;
}

/**
 * The release's image, built by its own `npm run image` (scripts/image.ts at
 * the commit: cached by a hash of its inputs, so a second call is instant).
 * That script prints `<ref>  <archive> (<size> MB)` for the operator first.
 */
export async function releaseImage(tree: { dir: string }): Promise<ReleaseImage> {
  // Its own image cache: the working tree's builds (the same script keeps the last three) must not evict it, nor it them.
  const res = await run('npm', ['run', '--silent', 'image'], tree.dir, { ...cleanEnv(), XDG_CACHE_HOME: join(cacheDir(), 'xdg-cache') });
  if (res.code !== 0) throw new Error(`npm run image in ${tree.dir} failed (${res.code}):\n${res.stderr.slice(-4000)}`);
  const m = /^(\S*alcor-operator:\S+)\s+(\S+\.oci\.tar) \(/m.exec(res.stdout);
  if (!m) throw new Error(`npm run image in ${tree.dir} printed no operator image:\n${res.stdout}`);
  return { ref: m[1]!, archive: m[2]! };
}
