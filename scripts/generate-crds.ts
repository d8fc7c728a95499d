// Writes crds/<plural>.alcor.dev.yaml from the zod schemas in src/api.
// Run after changing an API type: `npm run generate:crds`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crdFiles } from '../src/api/crds-yaml.ts';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'crds');
mkdirSync(dir, { recursive: true });
for (const [name, text] of crdFiles()) {
  writeFileSync(join(dir, name), text);
  process.stdout.write(`wrote crds/${name}\n`);
}
