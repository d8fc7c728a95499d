#!/usr/bin/env node
// Runs the built CLI when present (the image), else the TypeScript sources,
// which Node 24 runs directly by stripping their types.
import { existsSync } from 'node:fs';
const built = new URL('../dist/cli/main.js', import.meta.url);
await import(existsSync(built) ? built.href : new URL('../src/cli/main.ts', import.meta.url).href);
