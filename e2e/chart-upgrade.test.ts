// Upgrading a release of chart 0.1.0 (its CRDs in crds/, which `helm upgrade`
// never touches) to the working tree's chart (CRDs as templates), on a fresh
// cluster of its own: the old chart and examples are fixtures copied from git
// history (e2e/fixtures/README.md). After the upgrade the CRDs carry the new
// schema, so the fields the working tree added are stored instead of pruned;
// the resources created under 0.1.0 are untouched (same uid, resourceVersion
// and spec) and nothing is deleted; `helm uninstall` leaves the CRDs and the
// resources.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { startCluster, type Cluster } from './cluster/cluster.ts';

const root = join(import.meta.dirname, '..');
const oldChart = join(import.meta.dirname, 'fixtures/alcor-operator-0.1.0');
const oldExamples = join(import.meta.dirname, 'fixtures/examples-0.1.0');
const newChart = join(root, 'charts/alcor-operator');
const FIXTURE_COMMIT = 'acc91ba';
const ns = 'alcor-system';
const release = 'alcor-operator';
const kinds = ['macpools', 'dhcpsubnets', 'dataplanemanagers'];
const crdNames = kinds.map((k) => `${k}.alcor.dev`);

const local = inject('localCluster');
let cluster: Cluster | undefined;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}
function run(bin: string, args: string[], input?: string, cwd?: string): Promise<Result> {
  return new Promise((resolve) => {
    const child = execFile(bin, args, { maxBuffer: 64 * 1024 * 1024, timeout: 170_000, cwd }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}
const kubectl = (args: string[], input?: string) => run(join(cluster!.binDir, 'kubectl'), ['--kubeconfig', cluster!.kubeconfig, ...args], input);
const helm = (args: string[]) => run(join(cluster!.binDir, 'helm'), [...args, '--kubeconfig', cluster!.kubeconfig]);
async function ok(p: Promise<Result>, what: string): Promise<string> {
  const r = await p;
  if (r.code !== 0) throw new Error(`${what} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}
const json = async <T>(args: string[]) => JSON.parse(await ok(kubectl([...args, '-o', 'json']), `kubectl ${args.join(' ')}`)) as T;

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; uid?: string; resourceVersion?: string; generation?: number; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  [k: string]: unknown;
}
type Schema = { properties?: Record<string, Schema>; items?: Schema };

const yamlDocs = (text: string) =>
  parseAllDocuments(text)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null);
const schemaOf = (crd: Obj) => ((crd.spec as { versions: { storage: boolean; schema: { openAPIV3Schema: Schema } }[] }).versions.find((v) => v.storage)!.schema.openAPIV3Schema);

/** Property paths of `now` that `before` lacks (the top-most of each new subtree); `[]` steps into list items. */
function addedPaths(before: Schema | undefined, now: Schema, path: string): string[] {
  const out: string[] = [];
  for (const [key, sub] of Object.entries(now.properties ?? {})) {
    const p = `${path}.${key}`;
    const old = before?.properties?.[key];
    out.push(...(old ? addedPaths(old, sub, p) : [p]));
  }
  if (now.items && before?.items) out.push(...addedPaths(before.items, now.items, `${path}[]`));
  return out;
}

/** The values at a path; `[]` fans out over list items. */
function valuesAt(obj: unknown, path: string): unknown[] {
  let current: unknown[] = [obj];
  for (const step of path.split('.').filter(Boolean)) {
    const list = step.endsWith('[]');
    const key = list ? step.slice(0, -2) : step;
    current = current.flatMap((v) => {
      const next = v && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined;
      if (next === undefined) return [];
      return list ? (Array.isArray(next) ? next : []) : [next];
    });
  }
  return current;
}

const plainCrds = () => readdirSync(join(root, 'crds')).map((f) => yamlDocs(readFileSync(join(root, 'crds', f), 'utf8'))[0]!);
const oldCrds = () => readdirSync(join(oldChart, 'crds')).map((f) => yamlDocs(readFileSync(join(oldChart, 'crds', f), 'utf8'))[0]!);

/** Working-tree examples that set a field the 0.1.0 CRDs lack, with those fields. */
function examplesWithNewFields(): { example: Obj; paths: string[] }[] {
  const before = new Map(oldCrds().map((c) => [(c.spec as { names: { kind: string } }).names.kind, schemaOf(c)]));
  const found: { example: Obj; paths: string[] }[] = [];
  for (const f of readdirSync(join(root, 'examples')).filter((x) => x.endsWith('.yaml'))) {
    for (const doc of yamlDocs(readFileSync(join(root, 'examples', f), 'utf8'))) {
      const crd = plainCrds().find((c) => (c.spec as { names: { kind: string } }).names.kind === doc.kind);
      if (!crd || !before.has(doc.kind)) continue;
      const added = addedPaths(before.get(doc.kind)!.properties?.['spec'], schemaOf(crd).properties!['spec']!, 'spec');
      const paths = added.filter((p) => valuesAt(doc, p).length > 0);
      if (paths.length > 0) found.push({ example: { ...doc, metadata: { name: `upgraded-${doc.metadata.name}` } }, paths });
    }
  }
  return found;
}

const releaseObjects = [
  ['-n', ns, 'deployment', release],
  ['-n', ns, 'serviceaccount', release],
  ['-n', ns, 'service', `${release}-metrics`],
  ['-n', ns, 'poddisruptionbudget', release],
  ['clusterrole', release],
  ['clusterrolebinding', release],
];

let withNewFields: { example: Obj; paths: string[] }[] = [];
/** Those 0.1.0's schema accepted (a field it required may have been retired since, e.g. ignite.host). */
let createdUnderOld = 0;
let oldResources: Obj[] = [];
/** The release's chart and status, as `helm list` reports them. */
async function deployed(): Promise<{ chart: string; status: string }> {
  const list = JSON.parse(await ok(helm(['list', '-n', ns, '-o', 'json']), 'helm list')) as { name: string; chart: string; status: string }[];
  const r = list.find((x) => x.name === release);
  return { chart: r?.chart ?? '', status: r?.status ?? '' };
}
const uidsOf = async (objs: string[][]) => Promise.all(objs.map(async (o) => (await json<Obj>(['get', ...o])).metadata.uid));

beforeAll(async () => {
  if (!local) return;
  cluster = await startCluster({ log: () => {} });
}, 600_000);
afterAll(async () => {
  await cluster?.stop();
});

describe.skipIf(!local)('helm upgrade from chart 0.1.0 (fixture) to the working tree', () => {
  it('the fixture is chart 0.1.0 as committed in acc91ba, and the working tree is a newer chart', async () => {
    expect(yamlDocs(readFileSync(join(oldChart, 'Chart.yaml'), 'utf8'))[0]).toMatchObject({ version: '0.1.0' });
    expect(readFileSync(join(newChart, 'Chart.yaml'), 'utf8')).not.toMatch(/^version: 0\.1\.0$/m);
    const has = await run('git', ['cat-file', '-e', `${FIXTURE_COMMIT}^{commit}`], undefined, root);
    if (has.code !== 0) return; // a shallow clone: nothing to compare with
    const files = (await ok(run('git', ['ls-tree', '-r', '--name-only', FIXTURE_COMMIT, 'charts/alcor-operator'], undefined, root), 'git ls-tree')).trim().split('\n');
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) {
      const committed = await ok(run('git', ['show', `${FIXTURE_COMMIT}:${f}`], undefined, root), `git show ${f}`);
      expect(readFileSync(join(oldChart, f.replace('charts/alcor-operator/', '')), 'utf8'), f).toBe(committed);
    }
    for (const f of readdirSync(oldExamples)) expect(readFileSync(join(oldExamples, f), 'utf8')).toBe(await ok(run('git', ['show', `${FIXTURE_COMMIT}:examples/${f}`], undefined, root), f));
  });

  it('installs chart 0.1.0 and creates resources; its CRDs prune the fields the working tree added', async () => {
    withNewFields = examplesWithNewFields();
    await ok(helm(['install', release, oldChart, '-n', ns, '--create-namespace', '--wait', '--timeout', '120s']), 'helm install 0.1.0');
    for (const crd of crdNames) await ok(kubectl(['wait', '--for=condition=Established', `crd/${crd}`, '--timeout=60s']), `${crd} Established`);
    for (const f of readdirSync(oldExamples)) await ok(kubectl(['-n', 'default', 'apply', '--server-side', '-f', join(oldExamples, f)]), `apply ${f}`);
    oldResources = (await json<{ items: Obj[] }>(['-n', 'default', 'get', kinds.join(',')])).items;
    expect(oldResources.map((o) => o.kind).sort()).toEqual(['DataPlaneManager', 'DhcpSubnet', 'MacPool']);
    // Under 0.1.0's schema the new fields are dropped (what users of N+1 saw with the CRDs in crds/).
    for (const { example, paths } of withNewFields) {
      const created = await kubectl(['-n', 'default', 'create', '--validate=false', '-f', '-'], JSON.stringify(example));
      if (created.code !== 0) {
        // Only a refusal for a field 0.1.0 required that the working tree retired.
        expect(created.stderr, `create ${example.kind} ${example.metadata.name}`).toMatch(/is invalid: .*Required value/s);
        continue;
      }
      createdUnderOld++;
      const stored = await json<Obj>(['-n', 'default', 'get', example.kind.toLowerCase(), example.metadata.name]);
      for (const p of paths) expect(valuesAt(stored, p), `${example.kind} ${p} under 0.1.0`).toEqual([]);
    }
  });

  it('the working tree adds fields over 0.1.0 that its examples use (what the upgrade must bring)', () => {
    expect(withNewFields.length, "the working tree's CRDs add no spec field used by examples/ over chart 0.1.0").toBeGreaterThan(0);
  });

  it('helm upgrade without --take-ownership refuses the CRDs it did not install, and changes nothing', async () => {
    const crdUids = await uidsOf(crdNames.map((c) => ['crd', c]));
    const res = await helm(['upgrade', release, newChart, '-n', ns, '--wait', '--timeout', '120s']);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/CustomResourceDefinition.*(exists and cannot be imported|invalid ownership metadata)/s);
    expect(await uidsOf(crdNames.map((c) => ['crd', c]))).toEqual(crdUids);
    expect(await deployed()).toEqual({ chart: 'alcor-operator-0.1.0', status: 'deployed' });
  });

  it('helm upgrade --take-ownership: the new schema stores the new fields, old resources untouched, nothing deleted', async () => {
    const crdUids = await uidsOf(crdNames.map((c) => ['crd', c]));
    const objUids = await uidsOf(releaseObjects);
    await ok(helm(['upgrade', release, newChart, '-n', ns, '--take-ownership', '--wait', '--timeout', '120s']), 'helm upgrade --take-ownership');
    const version = yamlDocs(readFileSync(join(newChart, 'Chart.yaml'), 'utf8'))[0]!['version'];
    expect(await deployed()).toEqual({ chart: `alcor-operator-${String(version)}`, status: 'deployed' });

    // The same CRD objects (a deleted CRD would have taken every resource with it), now the release's, with the new schema.
    expect(await uidsOf(crdNames.map((c) => ['crd', c]))).toEqual(crdUids);
    for (const plain of plainCrds()) {
      const live = await json<Obj>(['get', 'crd', plain.metadata.name]);
      expect(live.metadata.annotations).toMatchObject({ 'helm.sh/resource-policy': 'keep', 'meta.helm.sh/release-name': release, 'meta.helm.sh/release-namespace': ns });
      expect(schemaOf(live)).toEqual(schemaOf(plain));
    }
    expect(await uidsOf(releaseObjects)).toEqual(objUids);

    // Resources of 0.1.0: not rewritten, spec as it was, none gone.
    const now = (await json<{ items: Obj[] }>(['-n', 'default', 'get', kinds.join(',')])).items;
    for (const old of oldResources) {
      const cur = now.find((o) => o.kind === old.kind && o.metadata.name === old.metadata.name);
      expect(cur, `${old.kind} ${old.metadata.name}`).toBeDefined();
      expect(cur!.metadata.uid).toBe(old.metadata.uid);
      expect(cur!.metadata.resourceVersion, `${old.kind} ${old.metadata.name} rewritten`).toBe(old.metadata.resourceVersion);
      expect(cur!.metadata.generation).toBe(old.metadata.generation);
      expect(cur!.spec).toMatchObject(old.spec!);
    }
    expect(now).toHaveLength(oldResources.length + createdUnderOld);

    // The new fields are stored now.
    for (const { example, paths } of withNewFields) {
      await ok(kubectl(['-n', 'default', 'apply', '--server-side', '--force-conflicts', '-f', '-'], JSON.stringify(example)), `apply ${example.kind} ${example.metadata.name}`);
      const stored = await json<Obj>(['-n', 'default', 'get', example.kind.toLowerCase(), example.metadata.name]);
      for (const p of paths) expect(valuesAt(stored, p), `${example.kind} ${p} after the upgrade`).toEqual(valuesAt(example, p));
    }
  });

  it('helm uninstall leaves the CRDs and every resource', async () => {
    const before = (await json<{ items: Obj[] }>(['-n', 'default', 'get', kinds.join(',')])).items.map((o) => o.metadata.uid).sort();
    await ok(helm(['uninstall', release, '-n', ns, '--wait', '--timeout', '120s']), 'helm uninstall');
    expect((await kubectl(['-n', ns, 'get', 'deployment', release])).stderr).toMatch(/NotFound/);
    for (const crd of crdNames) await ok(kubectl(['get', 'crd', crd]), `${crd} kept`);
    const after = (await json<{ items: Obj[] }>(['-n', 'default', 'get', kinds.join(',')])).items.map((o) => o.metadata.uid).sort();
    expect(after).toEqual(before);
  });
});
