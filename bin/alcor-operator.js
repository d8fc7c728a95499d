#!/usr/bin/env node
// In a checkout, run the TypeScript sources (Node 24 strips their types), so
// a stale dist/ can never stand in for them; in the image, which ships only
// the compiled dist/, run that.
import { existsSync } from 'node:fs';
const source = new URL('../src/cli/main.ts', import.meta.url);
await import(existsSync(source) ? source.href : new URL('../dist/cli/main.js', import.meta.url).href);
