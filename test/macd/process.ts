// Starts real `alcor-operator macd` processes for tests and benchmarks.

import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

export interface MacdProcess {
  child: ChildProcess;
  port: number;
  url: string;
  /** Log lines seen so far (JSON). */
  lines: string[];
  exited: Promise<number | null>;
}

/** Resolves once macd logs `started` (default: listening; a refused startup config logs "config refused at startup"), with the port it logs. */
export async function spawnMacd(args: string[], env: Record<string, string> = {}, started = 'macd listening'): Promise<MacdProcess> {
  return spawnMacdOf([process.execPath, MAIN], args, env, started);
}

/** spawnMacd of another build: `program` is the node binary and the CLI entry (e.g. a release's bin/alcor-operator.js). */
export async function spawnMacdOf(program: [string, string], args: string[], env: Record<string, string> = {}, started = 'macd listening'): Promise<MacdProcess> {
  const child = spawn(program[0], [program[1], 'macd', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const lines: string[] = [];
  // 'close' (not 'exit'): stdout has been read to its end.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`macd did not start in 20 s:\n${lines.join('\n')}\n${stderr}`)), 20_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(line);
      if (line.includes(`"${started}`)) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { port: number }).port);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`macd exited with ${code} before listening:\n${lines.join('\n')}\n${stderr}`));
    });
  });
  return { child, port, url: `http://127.0.0.1:${port}`, lines, exited };
}

export async function kill(p: MacdProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill(signal);
  await p.exited;
}
