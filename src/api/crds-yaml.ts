import { stringify } from 'yaml';
import { generateCrds } from './crds.ts';

/** The CRDs as the files in crds/ hold them: one YAML document per file, keyed by file name. */
export function crdFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const crd of generateCrds()) {
    const name = (crd.metadata as { name: string }).name;
    files.set(`${name}.yaml`, `# Generated from src/api by scripts/generate-crds.ts; do not edit.\n${stringify(crd, { lineWidth: 0 })}`);
  }
  return files;
}
