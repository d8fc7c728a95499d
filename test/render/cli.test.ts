import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { crdFiles } from '../../src/api/crds-yaml.ts';
import { root } from '../api/invalid-cases.ts';

// The two commands of this area, run as a user runs them.

function run(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [join(root, 'bin', 'alcor-operator.js'), ...args], { input, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const docs = (text: string) => parseAllDocuments(text).map((d) => d.toJS() as { kind: string; metadata: { name: string; namespace?: string } });
const example = (f: string) => readFileSync(join(root, 'examples', f), 'utf8');

describe('alcor-operator crds', () => {
  it('prints the three CRDs, the same as crds/', () => {
    const r = run(['crds']);
    expect(r.code).toBe(0);
    const printed = docs(r.stdout);
    expect(printed.map((d) => d.metadata.name)).toEqual([...crdFiles().keys()].map((f) => f.replace(/\.yaml$/, '')));
    const files = [...crdFiles().values()].flatMap(docs);
    expect(printed).toEqual(files);
  });
  it('has --help', () => {
    const r = run(['crds', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: alcor-operator crds');
  });
});

describe('alcor-operator render', () => {
  it('renders a file', () => {
    const r = run(['render', '-f', join(root, 'examples', 'macpool.yaml'), '--image', 'reg.example/alcor-operator:1']);
    expect(r.code, r.stderr).toBe(0);
    const out = docs(r.stdout);
    expect(out.map((d) => d.kind)).toContain('StatefulSet');
    expect(out.every((d) => d.metadata.namespace === 'default')).toBe(true);
    expect(r.stdout).toContain('image: reg.example/alcor-operator:1');
  });
  it('renders every document from stdin into the given namespace', () => {
    const input = ['macpool.yaml', 'dhcpsubnet.yaml', 'dataplanemanager.yaml'].map((f) => `---\n${example(f)}`).join('');
    const r = run(['render', '-f', '-', '-n', 'alcor'], input);
    expect(r.code, r.stderr).toBe(0);
    const out = docs(r.stdout);
    expect(out.filter((d) => d.kind === 'StatefulSet').map((d) => d.metadata.name)).toEqual(['tenant-macs-macd', 'tenant-net-dhcpd']);
    expect(out.filter((d) => d.kind === 'Deployment').map((d) => d.metadata.name)).toEqual(['dpm']);
    // Except the Role Ignite's discovery needs, which lives in Ignite's namespace.
    expect(out.filter((d) => d.metadata.namespace !== 'alcor').map((d) => `${d.kind} ${d.metadata.namespace}`)).toEqual(['Role ignite-alcor', 'RoleBinding ignite-alcor']);
  });
  it('refuses an invalid resource naming the field, printing nothing', () => {
    const r = run(['render', '-f', '-'], example('macpool.yaml').replace('oui: aa:bb:cc', 'oui: ab:bb:cc'));
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('spec.oui: oui must be unicast');
  });
  it('refuses foreign kinds and bad YAML', () => {
    expect(run(['render', '-f', '-'], 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n').stderr).toContain('apiVersion must be alcor.dev/v1alpha1');
    const bad = run(['render', '-f', '-'], 'a: [\n');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('document 1');
  });
  it('needs -f, knows its flags, has --help', () => {
    expect(run(['render']).code).toBe(2);
    expect(run(['render', '--bogus']).code).toBe(2);
    const help = run(['render', '--help']);
    expect(help.code).toBe(0);
    for (const flag of ['--filename', '--image', '--image-pull-policy', '--namespace']) expect(help.stdout).toContain(flag);
  });
});
