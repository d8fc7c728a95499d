// The last release's chart fixture (e2e/fixtures/alcor-operator-0.2.0) is the
// chart as committed at the release commit, byte for byte, and the release
// descriptor the upgrade tests use (e2e/release.ts) agrees with it. Without
// the commit in history (a shallow clone) only the descriptor is checked.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { RELEASE } from '../../e2e/release.ts';

const root = join(import.meta.dirname, '../..');
const git = (args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
const hasCommit = (() => {
  try {
    git(['cat-file', '-e', `${RELEASE.commit}^{commit}`]);
    return true;
  } catch {
    return false;
  }
})();

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? files(join(dir, n)) : [join(dir, n)]));
}

describe(`release ${RELEASE.version}`, () => {
  it("the fixture's Chart.yaml is that version, with the image the descriptor names as appVersion", () => {
    const chart = parse(readFileSync(join(RELEASE.chart, 'Chart.yaml'), 'utf8')) as { version: string; appVersion: string };
    expect(chart.version).toBe(RELEASE.version);
    expect(`alcor-operator:${chart.appVersion}`).toBe(RELEASE.image);
  });

  it.skipIf(!hasCommit)('the fixture is charts/alcor-operator at the release commit, every file and nothing else', () => {
    const committed = git(['ls-tree', '-r', '--name-only', RELEASE.commit, 'charts/alcor-operator']).trim().split('\n').map((f) => f.replace('charts/alcor-operator/', '')).sort();
    expect(files(RELEASE.chart).map((f) => relative(RELEASE.chart, f)).sort()).toEqual(committed);
    for (const f of committed) expect(readFileSync(join(RELEASE.chart, f), 'utf8'), f).toBe(git(['show', `${RELEASE.commit}:charts/alcor-operator/${f}`]));
    // The image the release ran: its package.json's version, which its chart's appVersion followed.
    expect(`alcor-operator:${(JSON.parse(git(['show', `${RELEASE.commit}:package.json`])) as { version: string }).version}`).toBe(RELEASE.image);
  });
});
