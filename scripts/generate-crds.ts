// Writes crds/<plural>.alcor.dev.yaml (and the chart's copy) from the zod schemas in src/api.
// Run after changing an API type: `npm run generate:crds`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crdFiles } from '../src/api/crds-yaml.ts';

// The chart carries the same files (Helm installs CRDs from its crds/ folder).
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
for (const out of ['crds', 'charts/alcor-operator/crds']) {
  mkdirSync(join(root, out), { recursive: true });
  for (const [name, text] of crdFiles()) {
    writeFileSync(join(root, out, name), text);
    process.stdout.write(`wrote ${out}/${name}\n`);
  }
}
