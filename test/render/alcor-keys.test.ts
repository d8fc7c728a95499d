// The contract between what the operator renders and what Alcor's services
// read (test/render/alcor-keys.yaml, taken from Alcor's source): every render
// holds every key Alcor needs to start, and no key Alcor never reads unless
// the user put it in extraProperties. Runs everywhere; the real services are
// booted by test/alcor/boot.test.ts where their jars are present.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DataPlaneManager, MacPool } from '../../src/api/index.ts';
import { dpmProperties, macManagerProperties } from '../../src/render/index.ts';
import { alcorEngineExample, dpmExample, NAMESPACE, UID } from './fixtures.ts';

type Service = 'macmanager' | 'dpm';
interface KeyEntry {
  key: string;
  when?: string;
  equals?: string;
}
interface Contract {
  required: KeyEntry[];
  defaulted: KeyEntry[];
  spring: string[];
  neverRead: KeyEntry[];
}

const contracts = (parse(readFileSync(join(import.meta.dirname, 'alcor-keys.yaml'), 'utf8')) as { services: Record<Service, Contract> }).services;

/** key → value of a rendered file (the subset of java.util.Properties the renderer writes: key=value lines, # comments). */
function readProperties(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.search(/(?<!\\)=/);
    out.set(line.slice(0, i).replace(/\\(.)/g, '$1'), line.slice(i + 1));
  }
  return out;
}

/** What is wrong with a rendered file against Alcor's keys; empty when nothing is. */
function contractViolations(service: Service, text: string, extraKeys: string[] = []): string[] {
  const c = contracts[service];
  const props = readProperties(text);
  const problems: string[] = [];
  for (const r of c.required) {
    if (r.when !== undefined && !props.has(r.when)) continue;
    if (!props.has(r.key)) problems.push(`missing required key ${r.key}`);
    else if (r.equals !== undefined && props.get(r.key) !== r.equals) problems.push(`${r.key} must be ${r.equals}, is ${props.get(r.key)}`);
  }
  const known = new Set([...c.required.map((k) => k.key), ...c.defaulted.map((k) => k.key), ...c.spring]);
  const never = new Set(c.neverRead.map((k) => k.key));
  for (const key of props.keys()) {
    if (extraKeys.includes(key)) continue;
    if (never.has(key)) problems.push(`renders ${key}, which Alcor never reads`);
    else if (!known.has(key)) problems.push(`renders ${key}, which is not among Alcor's keys`);
  }
  return problems;
}

const stored = { namespace: NAMESPACE, uid: UID, generation: 1 };
const minimalPool = MacPool.parse({ apiVersion: 'alcor.dev/v1alpha1', kind: 'MacPool', metadata: { name: 'm', ...stored }, spec: { oui: '02:00:00', engine: 'alcor' } });
const minimalDpm = DataPlaneManager.parse({ apiVersion: 'alcor.dev/v1alpha1', kind: 'DataPlaneManager', metadata: { name: 'd', ...stored }, spec: {} });
const fullDpm = dpmExample((s) => ({
  ...s,
  goalStateVersion: 101,
  zetaGateway: { nodeMac: 'e0:97:96:02:45:53', managementUrl: 'http://zeta:8080', checkTimeoutSeconds: 10 },
}));

const renders: [string, Service, () => string, string[]][] = [
  ['MacPool examples/macpool-alcor.yaml', 'macmanager', () => macManagerProperties(alcorEngineExample()), []],
  ['MacPool minimal (engine alcor, oui only)', 'macmanager', () => macManagerProperties(minimalPool), []],
  [
    'MacPool with every alcor field',
    'macmanager',
    () => macManagerProperties(alcorEngineExample((s) => ({ ...s, alcor: { ignite: { serviceName: 'ig' }, retryLimit: 50, searchWindows: { low: 5, middle: 8, high: 30, top: 100 } } }))),
    [],
  ],
  ['DataPlaneManager examples/dataplanemanager.yaml', 'dpm', () => dpmProperties(dpmExample()), Object.keys(dpmExample().spec.extraProperties ?? {})],
  ['DataPlaneManager minimal (spec: {})', 'dpm', () => dpmProperties(minimalDpm), []],
  ['DataPlaneManager with Zeta on, version 101', 'dpm', () => dpmProperties(fullDpm), Object.keys(fullDpm.spec.extraProperties ?? {})],
];

describe("renders hold Alcor's keys (test/render/alcor-keys.yaml)", () => {
  for (const [name, service, render, extra] of renders) {
    it(name, () => {
      expect(contractViolations(service, render(), extra)).toEqual([]);
    });
  }

  it('fails when a required key is left out, an unknown or never-read key is rendered, or mq.mode is not vpc', () => {
    const text = dpmProperties(minimalDpm);
    expect(contractViolations('dpm', text.replace(/^protobuf\.goal-state-message\.version=.*\n/m, ''))).toEqual(['missing required key protobuf.goal-state-message.version']);
    expect(contractViolations('dpm', text.replace('mq.mode=vpc', 'mq.mode=node'))).toEqual(['mq.mode must be vpc, is node']);
    expect(contractViolations('dpm', `${text}mq.type=pulsar\n`)).toEqual(['renders mq.type, which Alcor never reads']);
    expect(contractViolations('macmanager', `${macManagerProperties(minimalPool)}macmanager.pool.size=100\nfoo.bar=1\n`)).toEqual([
      'renders macmanager.pool.size, which Alcor never reads',
      'renders foo.bar, which is not among Alcor\'s keys',
    ]);
    // The user's own keys are theirs.
    expect(contractViolations('dpm', `${text}foo.bar=1\n`, ['foo.bar'])).toEqual([]);
  });

  it('lists each key in one category per service', () => {
    for (const [service, c] of Object.entries(contracts)) {
      const required = c.required.map((k) => k.key);
      const defaulted = c.defaulted.map((k) => k.key);
      const never = c.neverRead.map((k) => k.key);
      for (const k of required) expect(defaulted.includes(k) || never.includes(k) || c.spring.includes(k), `${service} ${k}`).toBe(false);
      for (const k of never) expect(defaulted.includes(k) || c.spring.includes(k), `${service} ${k}`).toBe(false);
    }
  });
});
