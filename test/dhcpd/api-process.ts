// Real `alcor-operator dhcpd` processes with the lease API, for tests: on
// loopback, DHCP on a port the kernel picks, the API on a given port.

import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

export interface DhcpdProcess {
  child: ChildProcess;
  url: string;
  lines: string[];
  exited: Promise<number | null>;
}

/** `program`: another build's node and CLI entry (a release's bin/alcor-operator.js); default the working tree. */
export async function spawnDhcpd(args: string[], apiPort: number, program: [string, string] = [process.execPath, MAIN]): Promise<DhcpdProcess> {
  const child = spawn(
    program[0],
    [program[1], 'dhcpd', '--listen-address', '127.0.0.1', '--listen-port', '0', '--metrics-listen', 'off', '--api-listen', `127.0.0.1:${apiPort}`, ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`dhcpd did not start in 20 s:\n${lines.join('\n')}\n${stderr}`)), 20_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(line);
      if (line.includes('"lease API serving"')) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`dhcpd exited with ${code} before serving:\n${lines.join('\n')}\n${stderr}`));
    });
  });
  return { child, url: `http://127.0.0.1:${apiPort}`, lines, exited };
}

export async function stop(p: DhcpdProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill(signal);
  await p.exited;
}
