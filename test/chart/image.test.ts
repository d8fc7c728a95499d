// The one image: the Dockerfile's shape (Docker can't run here) and the chart
// pointing at the same image the operator renders for macd and dhcpd.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { RELEASE_VERSION } from '../../src/api/version.ts';
import { defaultRenderSettings } from '../../src/render/index.ts';

const root = join(import.meta.dirname, '../..');
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
const lines = dockerfile.split('\n').filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#'));

describe('Dockerfile', () => {
  it('builds in node:24 and runs on a Node 24 runtime, multi-stage', () => {
    const froms = lines.filter((l) => l.startsWith('FROM '));
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const f of froms) expect(f).toMatch(/^FROM (node:24(-slim)?|gcr\.io\/distroless\/nodejs24\S*)( AS \w+)?$/);
    expect(lines).toContain('RUN npm run build');
  });

  it('ships production dependencies only, as a non-root user, with the CLI as entrypoint', () => {
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    const runtime = lines.slice(lines.findLastIndex((l) => l.startsWith('FROM ')));
    expect(runtime).toContain('USER 65532:65532');
    expect(runtime).toContain('WORKDIR /app');
    expect(runtime).toContain('ENTRYPOINT ["node", "/app/bin/alcor-operator.js"]');
    // The runtime stage copies build output and production modules, never the sources or dev modules.
    const copies = runtime.filter((l) => l.startsWith('COPY '));
    expect(copies).toContain('COPY --from=deps /app/node_modules ./node_modules');
    for (const c of copies) expect(c).not.toMatch(/^COPY (\.|src)\b|--from=build \S*node_modules/);
  });

  it('.dockerignore keeps local modules, build output and tests out of the context', () => {
    const ignored = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n');
    for (const p of ['node_modules', 'dist', '.git', 'test', 'e2e']) expect(ignored).toContain(p);
  });
});

describe('chart image', () => {
  it('defaults to the image the operator renders for macd and dhcpd', () => {
    const chart = parse(readFileSync(join(root, 'charts/alcor-operator/Chart.yaml'), 'utf8')) as { appVersion: string };
    const values = parse(readFileSync(join(root, 'charts/alcor-operator/values.yaml'), 'utf8')) as { image: { repository: string; tag: string } };
    expect(`${values.image.repository}:${values.image.tag || chart.appVersion}`).toBe(defaultRenderSettings.image);
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    expect(chart.appVersion).toBe(pkg.version);
    expect(RELEASE_VERSION, 'src/api/version.ts').toBe(pkg.version);
  });
});
