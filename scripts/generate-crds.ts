// Writes crds/<plural>.alcor.dev.yaml and the chart's templates of the same
// CRDs (charts/alcor-operator/templates/crds/) from the zod schemas in src/api.
// Run after changing an API type: `npm run generate:crds`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crdChartTemplates, crdFiles } from '../src/api/crds-yaml.ts';

const root = join(import.meta.dirname, '..');
for (const [out, files] of [
  ['crds', crdFiles()],
  ['charts/alcor-operator/templates/crds', crdChartTemplates()],
] as const) {
  mkdirSync(join(root, out), { recursive: true });
  for (const [name, text] of files) {
    writeFileSync(join(root, out, name), text);
    process.stdout.write(`wrote ${out}/${name}\n`);
  }
}
