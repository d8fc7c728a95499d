#!/usr/bin/env node
// kubectl-alcor: the kubectl plugin (`kubectl alcor ...`), on PATH after
// `npm install -g`. In a checkout it runs the TypeScript sources (Node 24
// strips their types); in a build with dist/ it runs that; on an older Node
// it hands over to the Node 24 of this package's node_modules when present.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const source = new URL('../src/plugin/main.ts', import.meta.url);
const built = new URL('../dist/plugin/main.js', import.meta.url);
const modern = Number(process.versions.node.split('.')[0]) >= 24;

if (modern || (!existsSync(source) && existsSync(built))) {
  const { main } = await import(modern && existsSync(source) ? source.href : built.href);
  process.exitCode = await main(process.argv.slice(2));
} else {
  const node24 = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url));
  if (!existsSync(node24)) {
    process.stderr.write('kubectl-alcor needs Node 24 or newer (or `npm ci` in its checkout, which brings it)\n');
    process.exit(1);
  }
  const r = spawnSync(node24, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exitCode = r.status ?? 1;
}
