// Runs `alcor-operator run` as a real process against the suite's cluster.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { inject } from 'vitest';
import { freePort } from './cluster/net.ts';
import { metricSum, WRITE_METHODS } from './prometheus.ts';

const root = join(import.meta.dirname, '..');

export interface OperatorProcess {
  child: ChildProcess;
  metricsPort: number;
  /** --health-probe-bind-address: /healthz, /readyz (and /metrics). */
  probePort: number;
  logFile: string;
  metrics(): Promise<string>;
  /** Sum of a counter over the series whose labels contain all of `labels`. */
  counter(name: string, labels?: Record<string, string>): Promise<number>;
  ready(): Promise<boolean>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** `program`: another build's node and CLI entry (a release's bin/alcor-operator.js); default the working tree's sources. */
export async function startOperator(opts: { leaderElect?: boolean; namespace?: string; args?: string[]; name?: string; program?: [string, string] } = {}): Promise<OperatorProcess> {
  const metricsPort = await freePort();
  const probePort = await freePort();
  const logFile = join(tmpdir(), `alcor-operator-${opts.name ?? 'op'}-${process.pid}-${Date.now()}.log`);
  const [node, main] = opts.program ?? [process.execPath, join(root, 'src/cli/main.ts')];
  const args = [
    main,
    'run',
    '--kubeconfig',
    inject('kubeconfig'),
    '--metrics-bind-address',
    `127.0.0.1:${metricsPort}`,
    '--health-probe-bind-address',
    `127.0.0.1:${probePort}`,
    ...(opts.leaderElect ? ['--leader-elect', '--leader-election-namespace', opts.namespace ?? 'default'] : []),
    ...(opts.args ?? []),
  ];
  const child = spawn(node, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'info' } });
  const out = createWriteStream(logFile);
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const metrics = async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  return {
    child,
    metricsPort,
    probePort,
    logFile,
    metrics,
    async counter(name, labels = {}) {
      return metricSum(await metrics(), name, labels);
    },
    async ready() {
      try {
        return (await fetch(`http://127.0.0.1:${probePort}/readyz`)).status === 200;
      } catch {
        return false;
      }
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Writes made by an operator process, from its client metrics. */
export async function writeCount(op: OperatorProcess): Promise<number> {
  const text = await op.metrics();
  return WRITE_METHODS.reduce((n, method) => n + metricSum(text, 'rest_client_requests_total', { method }), 0);
}
