#!/usr/bin/env node
// In a checkout, run the TypeScript sources (Node 24 strips their types), so
// a stale dist/ can never stand in for them; in the image, which ships only
// the compiled dist/, run that.
import { existsSync } from 'node:fs';

// An older system Node would fail on the .ts import with ERR_UNKNOWN_FILE_EXTENSION;
// npx runs the `node` dev dependency (Node 24) instead.
if (Number(process.versions.node.split('.')[0]) < 24) {
  process.stderr.write('alcor-operator needs Node 24 or newer: use `npx alcor-operator` in a checkout after `npm ci`\n');
  process.exit(1);
}
const source = new URL('../src/cli/main.ts', import.meta.url);
await import(existsSync(source) ? source.href : new URL('../dist/cli/main.js', import.meta.url).href);
