import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { root } from '../api/invalid-cases.ts';

// Rendering is pure and imports only the API: no clock, randomness, I/O or
// client. A static check, so a regression fails here before a golden drifts.

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

const renderDir = join(root, 'src', 'render');
const files = sources(renderDir);

describe('src/render is pure', () => {
  it('has sources', () => expect(files.length).toBeGreaterThan(5));

  it.each(files.map((f) => [relative(root, f), f]))('%s', (_name, file) => {
    const text = readFileSync(file, 'utf8').replace(/\/\/.*$/gm, '');
    for (const banned of [/\bDate\b/, /Math\.random/, /\bprocess\./, /\bsetTimeout\b/, /\bfetch\(/, /randomUUID/]) {
      expect(text, `${banned} in ${file}`).not.toMatch(banned);
    }
    for (const m of text.matchAll(/^import\s+(type\s+)?.*?from\s+'([^']+)'/gms)) {
      const [, typeOnly, spec] = m;
      const ok =
        spec === 'yaml' ||
        spec === 'node:crypto' || // hashing only: the config checksum
        (spec === '@kubernetes/client-node' && typeOnly !== undefined) ||
        (spec!.startsWith('.') && !relative(renderDir, join(file, '..', spec!)).startsWith('..')) ||
        /^(\.\.\/)+api\//.test(spec!);
      expect(ok, `${file} imports ${spec}`).toBe(true);
    }
  });
});
