// `node bin/alcor-operator.js` on a Node older than 24 (a system Node, not
// the `node` dev dependency npm scripts and npx use) says what to do instead
// of failing on the .ts import with ERR_UNKNOWN_FILE_EXTENSION.

import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const bin = join(root, 'bin/alcor-operator.js');
const MESSAGE = 'alcor-operator needs Node 24 or newer: use `npx alcor-operator` in a checkout after `npm ci`\n';

function run(node: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(node, args, { timeout: 20_000 }, (err, stdout, stderr) => done({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

/** A `node` on PATH outside node_modules whose major version is below 24, if any. */
function olderSystemNode(): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    const node = join(dir, 'node');
    if (dir.includes('node_modules') || !existsSync(node)) continue;
    const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
    if (Number(/^v(\d+)/.exec(version)?.[1] ?? 99) < 24) return node;
  }
  return undefined;
}

describe('bin/alcor-operator.js on a Node older than 24', () => {
  it('ends with the message and status 1 (Node 24 made to report 20.20.2)', async () => {
    const pretend20 = `data:text/javascript,Object.defineProperty(process.versions, 'node', { value: '20.20.2' })`;
    const r = await run(process.execPath, ['--import', pretend20, bin, 'render', '--help']);
    expect(r).toEqual({ code: 1, stdout: '', stderr: MESSAGE });
  });

  const older = olderSystemNode();
  it.skipIf(older === undefined)(`ends with the message on this machine's own older Node (${older ?? 'none on PATH'})`, async () => {
    const r = await run(older!, [bin, 'run']);
    expect(r.stderr).not.toContain('ERR_UNKNOWN_FILE_EXTENSION');
    expect(r.stderr.endsWith(MESSAGE)).toBe(true);
    expect(r.code).toBe(1);
  });

  it('runs the CLI on Node 24', async () => {
    const r = await run(process.execPath, [bin, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: alcor-operator <command>');
  });
});
