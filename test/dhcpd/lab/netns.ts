// Network namespaces and veth pairs for tests that run real DHCP clients.
// Every name carries the `aodh` prefix plus a per-file tag, so files can run
// in parallel and leftovers of a killed run are recognisable (and removed by
// the next run of the same file).

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], timeoutMs = 20_000): Promise<RunResult> {
  return new Promise((done) => {
    execFile(cmd, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      done({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

async function must(cmd: string, args: string[]): Promise<void> {
  const r = await run(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr.trim()}`);
}

async function have(cmd: string): Promise<boolean> {
  return (await run('sh', ['-c', `command -v ${cmd}`])).code === 0;
}

/** Why these tests cannot run here, or undefined when they can. */
export async function labUnavailable(tools: string[]): Promise<string | undefined> {
  if (process.platform !== 'linux') return 'network namespace tests need Linux';
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'network namespace tests need root (run as root, as CI does)';
  for (const t of ['ip', ...tools]) if (!(await have(t))) return `"${t}" is not installed (see docs/dhcpd.md for the Debian packages)`;
  const probe = `aodhprobe${process.pid % 10000}`;
  const r = await run('ip', ['netns', 'add', probe]);
  if (r.code !== 0) return `cannot create network namespaces: ${r.stderr.trim()}`;
  await run('ip', ['netns', 'del', probe]);
  return undefined;
}

export const repoRoot = resolve(import.meta.dirname, '../../..');

/** A server namespace and a client namespace joined by one veth pair. */
export class Lab {
  readonly srv: string;
  readonly cli: string;
  readonly srvIf: string;
  readonly cliIf: string;
  readonly dir: string;
  private readonly children = new Set<ChildProcess>();

  private constructor(tag: string, dir: string) {
    this.srv = `aodh${tag}s`;
    this.cli = `aodh${tag}c`;
    this.srvIf = `aodh${tag}vs`;
    this.cliIf = `aodh${tag}vc`;
    this.dir = dir;
  }

  /** `serverAddr` like 10.91.0.1/24 goes on the server side. */
  static async create(tag: string, serverAddr: string): Promise<Lab> {
    const lab = new Lab(tag, await mkdtemp(join(tmpdir(), `aodh${tag}-`)));
    await lab.removeNetns();
    await must('ip', ['netns', 'add', lab.srv]);
    await must('ip', ['netns', 'add', lab.cli]);
    await must('ip', ['link', 'add', lab.srvIf, 'type', 'veth', 'peer', 'name', lab.cliIf]);
    await must('ip', ['link', 'set', lab.srvIf, 'netns', lab.srv]);
    await must('ip', ['link', 'set', lab.cliIf, 'netns', lab.cli]);
    await must('ip', ['-n', lab.srv, 'addr', 'add', serverAddr, 'dev', lab.srvIf]);
    for (const [ns, dev] of [[lab.srv, lab.srvIf], [lab.cli, lab.cliIf], [lab.srv, 'lo'], [lab.cli, 'lo']] as const) {
      await must('ip', ['-n', ns, 'link', 'set', dev, 'up']);
    }
    return lab;
  }

  private async removeNetns(): Promise<void> {
    await run('ip', ['netns', 'del', this.srv]);
    await run('ip', ['netns', 'del', this.cli]);
    await run('ip', ['netns', 'del', this.host]);
    await run('ip', ['link', 'del', this.srvIf]);
  }

  /** The namespace of the third host addHost makes. */
  get host(): string {
    return this.srv.replace(/s$/, 'h');
  }

  /**
   * A third host on the clients' link (e.g. one squatting on a pool address
   * with a static address): the server's side becomes a bridge joining the
   * client's veth and this host's. `serverAddr` moves from the veth to the bridge.
   */
  async addHost(serverAddr: string, hostAddr: string): Promise<string> {
    const br = this.srvIf.replace(/vs$/, 'br');
    const hostIf = this.srvIf.replace(/vs$/, 'vh');
    const peer = this.srvIf.replace(/vs$/, 'vp');
    await must('ip', ['-n', this.srv, 'link', 'add', br, 'type', 'bridge']);
    await must('ip', ['-n', this.srv, 'addr', 'del', serverAddr, 'dev', this.srvIf]);
    await must('ip', ['-n', this.srv, 'link', 'set', this.srvIf, 'master', br]);
    await must('ip', ['-n', this.srv, 'addr', 'add', serverAddr, 'dev', br]);
    await must('ip', ['-n', this.srv, 'link', 'set', br, 'up']);
    await must('ip', ['netns', 'add', this.host]);
    await must('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', peer]);
    await must('ip', ['link', 'set', hostIf, 'netns', this.host]);
    await must('ip', ['link', 'set', peer, 'netns', this.srv]);
    await must('ip', ['-n', this.srv, 'link', 'set', peer, 'master', br]);
    await must('ip', ['-n', this.srv, 'link', 'set', peer, 'up']);
    await must('ip', ['-n', this.host, 'addr', 'add', hostAddr, 'dev', hostIf]);
    await must('ip', ['-n', this.host, 'link', 'set', hostIf, 'up']);
    await must('ip', ['-n', this.host, 'link', 'set', 'lo', 'up']);
    return this.host;
  }

  exec(ns: string, args: string[], timeoutMs = 20_000): Promise<RunResult> {
    return run('ip', ['netns', 'exec', ns, ...args], timeoutMs);
  }

  /** A long-running process in a namespace; killed on destroy. */
  spawn(ns: string, args: string[], logFile?: string): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', ns, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const keep = (b: Buffer): void => {
      out += b.toString();
      if (out.length > 1_000_000) out = out.slice(-500_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.on('exit', () => {
      this.children.delete(child);
      if (logFile) void writeFile(logFile, out).catch(() => undefined);
    });
    (child as ChildProcess & { output: () => string }).output = () => out;
    this.children.add(child);
    return child;
  }

  /** Starts `alcor-operator dhcpd` in the server namespace; resolves once /readyz answers. */
  async startServer(opts: { config: string; dataDir: string; args?: string[]; ns?: string; program?: [string, string] }): Promise<ChildProcess> {
    const ns = opts.ns ?? this.srv;
    // program: another build's node and CLI entry (a release's bin/alcor-operator.js); default the working tree.
    const child = this.spawn(ns, [
      ...(opts.program ?? [process.execPath, join(repoRoot, 'src/cli/main.ts')]),
      'dhcpd',
      '--config',
      opts.config,
      '--data-dir',
      opts.dataDir,
      '--metrics-listen',
      '127.0.0.1:9067',
      '--log-level',
      'info',
      ...(opts.args ?? []),
    ]);
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`dhcpd exited: ${(child as ChildProcess & { output: () => string }).output()}`);
      const r = await this.exec(ns, [process.execPath, '-e', 'fetch("http://127.0.0.1:9067/readyz").then(r=>process.exit(r.ok?0:1),()=>process.exit(1))'], 5000);
      if (r.code === 0) return child;
      await new Promise((r2) => setTimeout(r2, 150));
    }
    throw new Error('dhcpd did not become ready in 15 s');
  }

  /** /metrics of the server in `ns` as {"name{labels}": value}. */
  async metrics(ns = this.srv): Promise<Map<string, number>> {
    const r = await this.exec(ns, [process.execPath, '-e', 'fetch("http://127.0.0.1:9067/metrics").then(r=>r.text()).then(t=>process.stdout.write(t))'], 10_000);
    const m = new Map<string, number>();
    for (const line of r.stdout.split('\n')) {
      if (line.startsWith('#') || line.trim() === '') continue;
      const i = line.lastIndexOf(' ');
      m.set(line.slice(0, i), Number(line.slice(i + 1)));
    }
    return m;
  }

  /** A hook script for dhclient (-sf), udhcpc (-s) and dhcpcd (-c) that logs what each client got to `out`. */
  async hookScript(out: string): Promise<string> {
    const path = join(this.dir, `hook-${Math.random().toString(36).slice(2)}.sh`);
    await writeFile(
      path,
      `#!/bin/sh
# dhclient and dhcpcd set $reason; udhcpc passes the event as $1.
ev="\${reason:-$1}"
addr="\${new_ip_address:-$ip}"
mask="\${new_subnet_mask:-$subnet}"
case "$ev" in
  BOUND|RENEW|REBIND|REBOOT|bound|renew) [ -n "$addr" ] && ip addr replace "$addr/$mask" dev "$interface" ;;
  RELEASE|EXPIRE|STOP) [ -n "$old_ip_address" ] && ip addr del "$old_ip_address/$old_subnet_mask" dev "$interface" ;;
esac
echo "ev=$ev ip=$addr mask=$mask router=\${new_routers:-$router} dns=\${new_domain_name_servers:-$dns}" >> ${out}
exit 0
`,
    );
    await chmod(path, 0o755);
    return path;
  }

  async destroy(): Promise<void> {
    for (const c of this.children) c.kill('SIGKILL');
    // dhclient daemonises; its pid files live in the lab directory.
    await run('sh', ['-c', `for f in ${this.dir}/*.pid; do [ -f "$f" ] && kill -9 $(cat "$f") 2>/dev/null; done; true`]);
    await this.removeNetns();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Parses the hook log lines into events. */
export function hookEvents(text: string): Array<Record<string, string>> {
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => Object.fromEntries(line.split(' ').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])));
}
