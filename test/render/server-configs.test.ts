// The config files render writes are read by the servers' own readers (the
// config schemas in src/api/config and what macd and dhcpd compile from them):
// a key the server does not know, a value it reads differently, or a config it
// refuses fails here, not in a pod.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseMac } from '../../src/api/mac.ts';
import { DhcpCore } from '../../src/dhcpd/core.ts';
import { parseConfigText } from '../../src/dhcpd/config-file.ts';
import { dhcpdReport } from '../../src/dhcpd/status-lease.ts';
import { Allocator } from '../../src/macd/allocator.ts';
import { parseConfig } from '../../src/macd/config.ts';
import { macdReport } from '../../src/macd/server.ts';
import { MacStore } from '../../src/macd/store.ts';
import { quietLog, tempDir } from '../macd/helpers.ts';
import { defaultRenderSettings, renderDhcpSubnet, renderMacPool, type KubeObject } from '../../src/render/index.ts';
import type { Obj } from '../api/invalid-cases.ts';
import { dhcpSubnetExample, macPoolExample, nodeLocalExample } from './fixtures.ts';
import type { Obj as Spec } from '../api/invalid-cases.ts';

function configText(objects: KubeObject[]): string {
  const cm = objects.find((o) => o.kind === 'ConfigMap') as Obj | undefined;
  const text = cm?.data?.['config.yaml'];
  if (typeof text !== 'string') throw new Error('no ConfigMap with config.yaml');
  return text;
}

const macPools: [string, () => KubeObject[]][] = [
  ['the example (two ranges, exclusions)', () => renderMacPool(macPoolExample(), defaultRenderSettings)],
  ['no ranges (range0 of the OUI)', () => renderMacPool(macPoolExample((s) => ({ oui: s.oui })), defaultRenderSettings)],
  ['one replica, a range across an OUI boundary', () => renderMacPool(macPoolExample((s) => ({ ...s, ranges: [{ name: 'wide', from: '02:00:00:80:00:00', to: '02:00:01:7f:ff:ff' }], exclusions: [], allocator: { replicas: 1 } })), defaultRenderSettings)],
];

const subnets: [string, () => KubeObject[]][] = [
  ['the example (relay, two shares)', () => renderDhcpSubnet(dhcpSubnetExample(), defaultRenderSettings)],
  ['nodeLocal', () => renderDhcpSubnet(nodeLocalExample(), defaultRenderSettings)],
  [
    'every option type, several pools',
    () =>
      renderDhcpSubnet(
        dhcpSubnetExample((s) => ({
          ...s,
          pools: [{ start: '10.20.0.100', end: '10.20.0.149' }, { start: '10.20.0.160', end: '10.20.0.199' }],
          options: [
            { code: 150, type: 'ipv4List', value: '10.0.0.1, 10.0.0.2' },
            { code: 23, type: 'uint8', value: '64' },
            { code: 57, type: 'uint16', value: '1500' },
            { code: 2, type: 'uint32', value: '3600' },
            { code: 19, type: 'boolean', value: 'false' },
            { code: 43, type: 'hex', value: '0a0b' },
            { code: 4, type: 'ipv4', value: '10.0.0.3' },
            { code: 66, type: 'string', value: 'tftp' },
          ],
          server: { replicas: 3 },
        })),
        defaultRenderSettings,
      ),
  ],
];

describe('macd reads the config render writes', () => {
  it.each(macPools)('%s', (_name, render) => {
    const text = configText(render());
    const written: unknown = parse(text);
    const config = parseConfig(text);
    // Nothing written is dropped or read differently by the schema (defaults may be added).
    expect(config).toMatchObject(written as Record<string, unknown>);
    // And the allocator takes every range and exclusion, as it does on load.
    const a = new Allocator(config.coordination.mode === 'kubernetes' ? { blockSize: config.coordination.blockSize } : {});
    a.setExclusions(config.exclusions);
    for (const r of config.ranges) a.addRange({ id: r.id, from: parseMac(r.from)!, to: parseMac(r.to)! }, 'config');
    expect(a.ranges().map((r) => r.id)).toEqual(config.ranges.map((r) => r.id));
  });
});

describe('dhcpd reads the config render writes', () => {
  it.each(subnets)('%s', (_name, render) => {
    const text = configText(render());
    const written: unknown = parse(text);
    const config = parseConfigText(text, 'config.yaml');
    expect(config).toMatchObject(written as Record<string, unknown>);
    // Every replica compiles it for its own share.
    for (let share = 0; share < config.ha.shares; share++) {
      const core = new DhcpCore(config, { share });
      expect(core.subnets().map((s) => s.name)).toEqual(config.subnets.map((s) => s.name));
    }
  });
});

// The capacity status shows is what the servers report: here, what they make
// of each rendered config (macd: its ranges minus exclusions; dhcpd: the sum of
// the replicas' shares), against the figure the spec describes.
describe('capacity the servers report', () => {
  const pool = (spec?: Spec) => macPoolExample((base) => (spec ? { oui: 'aa:bb:cc', ...spec } : base));
  it.each([
    ['default range0', {}, 2 ** 24],
    ['the example: two OUIs minus a /24 prefix and one MAC', undefined, 2 * 2 ** 24 - 256 - 1],
    ['exclusions outside the ranges', { exclusions: ['fe:16:11:*'] }, 2 ** 24],
    ['overlapping exclusions count once', { exclusions: ['aa:bb:cc:00:*', 'aa:bb:cc:00:00:*', 'aa:bb:cc:00:00:01'] }, 2 ** 24 - 2 ** 16],
    ['one-address range', { ranges: [{ name: 'a', from: 'aa:bb:cc:00:00:01', to: 'aa:bb:cc:00:00:01' }] }, 1],
    ['two OUIs outside the pool OUI', { ranges: [{ name: 'a', from: '02:00:00:00:00:00', to: '02:00:00:ff:ff:ff' }, { name: 'b', from: '02:00:01:00:00:00', to: '02:00:01:ff:ff:ff' }] }, 2 ** 25],
    ['a range inside another counts once', { ranges: [{ name: 'range0', from: 'aa:bb:cc:00:00:00', to: 'aa:bb:cc:ff:ff:ff' }, { name: 't', from: 'aa:bb:cc:20:00:00', to: 'aa:bb:cc:20:ff:ff' }], exclusions: ['aa:bb:cc:20:00:*'] }, 2 ** 24 - 256],
  ] as [string, Spec | undefined, number][])('MacPool: %s', async (_name, spec, expected) => {
    const config = parseConfig(configText(renderMacPool(pool(spec), defaultRenderSettings)));
    const store = await MacStore.open({ dataDir: tempDir('capacity-'), log: quietLog, onFatal: (e) => { throw e; } });
    try {
      const outcome = await store.applyConfig(config);
      expect(macdReport(store, { generation: 1, refused: outcome.refused })).toMatchObject({ capacity: expected, refused: [] });
    } finally {
      await store.close();
    }
  });

  const subnet = (spec?: Spec) => dhcpSubnetExample((base) => (spec ? { ...base, excludes: [], ...spec } : base));
  it.each([
    ['the example: one pool minus 11 excluded', undefined, 100 - 1 - 10],
    ['one pool', {}, 100],
    ['two pools', { pools: [{ start: '10.20.0.100', end: '10.20.0.149' }, { start: '10.20.0.200', end: '10.20.0.249' }] }, 100],
    ['overlapping excludes count once', { excludes: ['10.20.0.100-10.20.0.109', '10.20.0.105-10.20.0.119', '10.20.0.110'] }, 80],
    ['excludes outside the pools do nothing', { excludes: ['10.20.0.5', '10.20.0.10-10.20.0.20'] }, 100],
    ['reservations inside pools still count', { reservations: [{ mac: 'aa:bb:cc:00:00:01', ip: '10.20.0.120' }] }, 100],
    ['three replicas', { server: { replicas: 3 } }, 100],
  ] as [string, Spec | undefined, number][])('DhcpSubnet: %s', (_name, spec, expected) => {
    const s = subnet(spec);
    const config = parseConfigText(configText(renderDhcpSubnet(s, defaultRenderSettings)), 'config.yaml');
    let total = 0;
    for (let share = 0; share < config.ha.shares; share++) {
      total += dhcpdReport(new DhcpCore(config, { share }), { generation: 1, refused: [] }, share, Date.now()).subnets[s.metadata.name]!.capacity;
    }
    expect(total).toBe(expected);
  });
});
