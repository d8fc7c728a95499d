import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kinds } from '../../src/api/index.ts';
import { generateCrds } from '../../src/api/crds.ts';
import { crdChartTemplates, crdFiles } from '../../src/api/crds-yaml.ts';
import { root } from './invalid-cases.ts';

type Schema = { [k: string]: unknown };

function walk(node: Schema, path: string, visit: (n: Schema, path: string) => void): void {
  visit(node, path);
  for (const [name, child] of Object.entries((node.properties as Record<string, Schema>) ?? {})) walk(child, `${path}.${name}`, visit);
  if (node.items) walk(node.items as Schema, `${path}[]`, visit);
  if (typeof node.additionalProperties === 'object') walk(node.additionalProperties as Schema, `${path}{}`, visit);
}

const versionOf = (crd: Schema) => ((crd.spec as Schema).versions as Schema[])[0]!;
const schemaOf = (crd: Schema) => (versionOf(crd).schema as Schema).openAPIV3Schema as Schema;

describe('CRDs', () => {
  it('committed crds/*.yaml match the generator (run `npm run generate:crds`)', () => {
    for (const [name, text] of crdFiles()) {
      expect(readFileSync(join(root, 'crds', name), 'utf8'), `crds/${name} is stale`).toBe(text);
    }
  });

  it("the chart's CRD templates match the generator (run `npm run generate:crds`)", () => {
    const dir = join(root, 'charts/alcor-operator/templates/crds');
    expect(readdirSync(dir).sort()).toEqual([...crdChartTemplates().keys()].sort());
    for (const [name, text] of crdChartTemplates()) expect(readFileSync(join(dir, name), 'utf8'), `charts/alcor-operator/templates/crds/${name} is stale`).toBe(text);
  });

  it('has the names, category, status subresource and columns of each kind', () => {
    const crds = generateCrds() as Schema[];
    expect(crds.map((c) => (c.metadata as Schema).name)).toEqual(['macpools.alcor.dev', 'dhcpsubnets.alcor.dev', 'dataplanemanagers.alcor.dev', 'dhcpreservations.alcor.dev']);
    for (const [i, info] of Object.values(kinds).entries()) {
      const spec = crds[i]!.spec as Schema;
      expect(spec.scope).toBe('Namespaced');
      expect(spec.names).toEqual({ ...info, categories: ['alcor'] });
      expect(versionOf(crds[i]!).subresources).toEqual({ status: {} });
    }
    const columns = (c: Schema) => (versionOf(c).additionalPrinterColumns as Schema[]).filter((col) => !col.priority).map((col) => col.name);
    expect(columns(crds[0]!)).toEqual(['OUI', 'Capacity', 'Allocated', 'Ready', 'Age']);
    expect(columns(crds[1]!)).toEqual(['CIDR', 'Leased', 'Available', 'Ready', 'Age']);
    expect(columns(crds[2]!)).toEqual(['Replicas', 'Ready', 'PathMode', 'Age']);
    expect(columns(crds[3]!)).toEqual(['Subnet', 'IP', 'MAC', 'State', 'Age']);
  });

  it('is structural: every node typed, no $ref/anyOf/const except int-or-string, additionalProperties only on maps', () => {
    for (const crd of generateCrds() as Schema[]) {
      walk(schemaOf(crd), '', (n, path) => {
        for (const key of ['$ref', '$schema', 'const', 'oneOf', 'allOf', 'not']) expect(n[key], `${path} has ${key}`).toBeUndefined();
        if (n['x-kubernetes-int-or-string']) {
          expect(n.anyOf).toEqual([{ type: 'integer' }, { type: 'string' }]);
        } else {
          expect(n.anyOf, path).toBeUndefined();
          expect(n.type, `${path} has no type`).toBeDefined();
        }
        if (n.additionalProperties !== undefined) expect(n.properties, path).toBeUndefined();
      });
    }
  });

  it('describes every field of spec and status (kubectl explain)', () => {
    for (const crd of generateCrds() as Schema[]) {
      const top = schemaOf(crd).properties as Record<string, Schema>;
      for (const part of ['spec', 'status']) {
        walk(top[part]!, part, (n, path) => {
          if (path.endsWith('[]') || path.endsWith('{}')) return; // list items and map values are described by their field
          expect(n.description, `${path} has no description`).toBeTruthy();
        });
      }
    }
  });

  it('bounds every list and string of the spec (CEL cost budget)', () => {
    for (const crd of generateCrds() as Schema[]) {
      walk((schemaOf(crd).properties as Record<string, Schema>).spec!, 'spec', (n, path) => {
        if (n.type === 'array') expect(n.maxItems, `${path} needs maxItems`).toBeDefined();
        if (n.type === 'string' && !n.enum && !n.format) expect(n.maxLength, `${path} needs maxLength`).toBeDefined();
      });
    }
  });

  it('spells out nested defaults (the API server validates defaults without defaulting them)', () => {
    const mp = schemaOf((generateCrds() as Schema[])[0]!);
    const allocator = ((mp.properties as Record<string, Schema>).spec!.properties as Record<string, Schema>).allocator!;
    expect(allocator.default).toEqual({ replicas: 2, storage: { size: '1Gi' }, servicePort: 9005 });
  });
});
