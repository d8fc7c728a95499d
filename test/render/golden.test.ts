import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { defaultRenderSettings, renderDataPlaneManager, renderDhcpSubnet, renderMacPool, type KubeObject } from '../../src/render/index.ts';
import { alcorEngineExample, dhcpSubnetExample, dpmExample, macPoolExample, nodeLocalExample } from './fixtures.ts';

// Golden files: the exact objects each example renders to. After an intended
// change, rewrite them with `UPDATE_GOLDEN=1 npx vitest run --project unit test/render`
// and review the diff.

const goldenDir = join(dirname(fileURLToPath(import.meta.url)), 'golden');

/** As the operator runs on a kind cluster: the API server connects from the control-plane node. */
const withApiServer = { ...defaultRenderSettings, apiServerCIDRs: ['172.18.0.2/32'] };

const cases: [string, () => KubeObject[]][] = [
  ['macpool', () => renderMacPool(macPoolExample(), withApiServer)],
  ['macpool-alcor', () => renderMacPool(alcorEngineExample(), defaultRenderSettings)],
  ['dhcpsubnet', () => renderDhcpSubnet(dhcpSubnetExample(), withApiServer)],
  ['dhcpsubnet-nodelocal', () => renderDhcpSubnet(nodeLocalExample(), defaultRenderSettings)],
  ['dataplanemanager', () => renderDataPlaneManager(dpmExample(), defaultRenderSettings)],
];

const toYaml = (objects: KubeObject[]) => objects.map((o) => `---\n${stringify(o, { lineWidth: 0 })}`).join('');

describe('golden rendering', () => {
  it.each(cases)('%s', (name, render) => {
    const text = toYaml(render());
    const file = join(goldenDir, `${name}.yaml`);
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(file, text);
    expect(existsSync(file), `${file} is missing: run with UPDATE_GOLDEN=1`).toBe(true);
    expect(text).toBe(readFileSync(file, 'utf8'));
  });
});

describe('stable output', () => {
  it.each(cases)('%s renders the same 25 times', (_name, render) => {
    const first = toYaml(render());
    for (let i = 0; i < 25; i++) expect(toYaml(render())).toBe(first);
  });

  it('does not modify its input', () => {
    const pool = macPoolExample();
    const before = JSON.stringify(pool);
    renderMacPool(pool, defaultRenderSettings);
    const subnet = dhcpSubnetExample();
    const subnetBefore = JSON.stringify(subnet);
    renderDhcpSubnet(subnet, defaultRenderSettings);
    const dpm = dpmExample();
    const dpmBefore = JSON.stringify(dpm);
    renderDataPlaneManager(dpm, defaultRenderSettings);
    expect([JSON.stringify(pool), JSON.stringify(subnet), JSON.stringify(dpm)]).toEqual([before, subnetBefore, dpmBefore]);
  });
});
