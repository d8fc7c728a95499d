// Upgrading the operator in place: release 0.2.0's operator (its own tree,
// built from its commit by e2e/release.ts, under its own CRDs) reconciles the
// release's examples of every kind as far as kwok allows; the new CRDs go in
// (as `helm upgrade` applies them while the old pod still runs); it stops; the
// working tree's operator starts on the same cluster.
//
// What the new operator may write is derived, never hard-coded: each resource
// is rendered by both trees' `alcor-operator render` (with the image each
// operator runs), and a child may be written only when its rendered object
// differs between the two. Asserted, from the API (uids, managedFields of the
// operator's field manager, the applied-hash annotation) and from the new
// operator's log ('applying child' lines with their reason and reconcile):
// - no child is recreated or deleted, unless the new rendering dropped it;
// - every child whose rendering changed is written, once, in the first
//   reconcile of its resource; no other child is written at all;
// - no pod is replaced unless its workload's pod template changed;
// - a resource whose rendering and status did not change is not written.
// Every unexpected write is named in the failure message.
import { writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { RELEASE_VERSION } from '../src/api/version.ts';
import { stableStringify } from '../src/runtime/diff.ts';
import { tempDir } from '../test/macd/helpers.ts';
import { MAIN } from '../test/macd/process.ts';
import { createNamespace, ensureNamespace, EXAMPLE_IGNITE_NAMESPACE, eventually, getJson, kubectl, kubectlOk, waitEstablished } from './kubectl.ts';
import { startOperator, writeCount, type OperatorProcess } from './operator.ts';
import { RELEASE, RELEASE_SHORT, releaseTree } from './release.ts';

const root = join(import.meta.dirname, '..');
const release = await releaseTree((l) => process.stderr.write(`${l}\n`));
const skip = 'skip' in release ? release.skip : undefined;
if (skip) console.warn(`skipping the operator upgrade test: ${skip}`);

const OUR_KINDS = ['MacPool', 'DhcpSubnet', 'DataPlaneManager', 'DhcpReservation'];
const CRDS = ['macpools.alcor.dev', 'dhcpsubnets.alcor.dev', 'dataplanemanagers.alcor.dev', 'dhcpreservations.alcor.dev'];
/** The kinds the operator renders (src/controllers/reconcile.ts childTypes), plus any a rendering adds. */
const CHILD_KINDS = ['ConfigMap', 'Service', 'ServiceAccount', 'StatefulSet', 'Deployment', 'DaemonSet', 'PodDisruptionBudget', 'NetworkPolicy', 'Role', 'RoleBinding'];
const WORKLOADS = new Set(['StatefulSet', 'Deployment', 'DaemonSet']);
const OWNER_UID_LABEL = 'alcor.dev/owner-uid';
/** No operator write for this long (and every rollout done): settled. */
const QUIET_MS = 6_000;

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    uid: string;
    resourceVersion: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { kind: string; name: string; uid: string; controller?: boolean }[];
    managedFields?: { manager: string; operation: string; time?: string; fieldsV1?: unknown }[];
  };
  spec?: Record<string, unknown> & { replicas?: number; template?: unknown };
  status?: Record<string, unknown>;
}
const key = (o: { kind: string; metadata: { name: string; namespace?: string } }, ns: string) => `${o.kind}/${o.metadata.namespace ?? ns}/${o.metadata.name}`;

function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr }));
  });
}
const docs = (text: string) => parseAllDocuments(text).map((d) => d.toJS() as Obj | null).filter((o): o is Obj => o !== null);

let ns = '';
let oldOp: OperatorProcess | undefined;
let newOp: OperatorProcess | undefined;

describe.skipIf(skip !== undefined)(`operator upgrade: ${RELEASE.version} (${RELEASE_SHORT}) to the working tree on one cluster`, () => {
  const tree = release as Exclude<typeof release, { skip: string }>;
  const oldImage = RELEASE.image;
  const newImage = `alcor-operator:${RELEASE_VERSION}`;

  const resources = async (): Promise<Obj[]> => (await getJson<{ items: Obj[] }>(['-n', ns, 'get', OUR_KINDS.join(',')])).items;
  async function children(kinds: string[], namespaces: string[], owners: Set<string>): Promise<Map<string, Obj>> {
    const out = new Map<string, Obj>();
    for (const n of namespaces) {
      for (const o of (await getJson<{ items: Obj[] }>(['-n', n, 'get', kinds.join(',')])).items) {
        const owned = o.metadata.ownerReferences?.some((r) => r.controller && owners.has(r.uid)) || owners.has(o.metadata.labels?.[OWNER_UID_LABEL] ?? '');
        if (owned) out.set(key(o, n), o);
      }
    }
    return out;
  }
  /** Pod uids per workload (Deployments through their ReplicaSets). */
  async function podsByWorkload(): Promise<Map<string, string[]>> {
    const rs = new Map((await getJson<{ items: Obj[] }>(['-n', ns, 'get', 'replicasets'])).items.map((r) => [r.metadata.uid, r.metadata.ownerReferences?.find((o) => o.controller)]));
    const out = new Map<string, string[]>();
    for (const p of (await getJson<{ items: Obj[] }>(['-n', ns, 'get', 'pods'])).items) {
      let owner = p.metadata.ownerReferences?.find((o) => o.controller);
      if (owner?.kind === 'ReplicaSet') owner = rs.get(owner.uid);
      if (!owner) continue;
      const k = `${owner.kind}/${ns}/${owner.name}`;
      out.set(k, [...(out.get(k) ?? []), p.metadata.uid].sort());
    }
    return out;
  }
  /** Every workload of ours rolled out as its spec says, and every resource's status of its generation. */
  async function rolledOut(): Promise<boolean> {
    for (const r of await resources()) if (r.status?.['observedGeneration'] !== r.metadata.generation) return false;
    for (const w of (await getJson<{ items: Obj[] }>(['-n', ns, 'get', 'statefulsets,deployments,daemonsets'])).items) {
      const s = w.status ?? {};
      if (s['observedGeneration'] !== w.metadata.generation) return false;
      if (w.kind === 'DaemonSet') {
        if (s['updatedNumberScheduled'] !== s['desiredNumberScheduled'] || s['numberReady'] !== s['desiredNumberScheduled']) return false;
        continue;
      }
      const want = w.spec?.replicas ?? 1;
      if (s['replicas'] !== want || s['updatedReplicas'] !== want || s['readyReplicas'] !== want) return false;
      if (w.kind === 'StatefulSet' && s['currentRevision'] !== s['updateRevision']) return false;
    }
    return true;
  }
  /** Waits until `op` has written nothing for QUIET_MS and everything is rolled out. */
  async function settle(op: OperatorProcess, what: string): Promise<void> {
    let last = -1;
    let since = Date.now();
    await eventually(what, async () => {
      const n = await writeCount(op);
      if (n !== last) {
        last = n;
        since = Date.now();
        return false;
      }
      return Date.now() - since >= QUIET_MS && (await op.counter('workqueue_depth')) === 0 && (await rolledOut());
    }, 240_000, 1000);
  }
  async function render(program: [string, string], image: string, objs: Obj[], name: string): Promise<Map<string, Obj>> {
    const file = join(tempDir('upgrade-render-'), `${name}.yaml`);
    writeFileSync(file, objs.map((o) => `---\n${JSON.stringify({ ...o, metadata: { ...o.metadata, managedFields: undefined } })}\n`).join(''));
    const r = await run(program[0], [program[1], 'render', '-f', file, '--image', image, '-n', ns]);
    if (r.code !== 0) throw new Error(`${name} render failed: ${r.stderr}`);
    return new Map(docs(r.stdout).map((o) => [key(o, ns), o]));
  }
  const operatorFields = (o: Obj) => {
    const m = o.metadata.managedFields?.find((f) => f.manager === 'alcor-operator' && f.operation === 'Apply');
    return stableStringify({ time: m?.time, fields: m?.fieldsV1, hash: o.metadata.annotations?.['alcor.dev/applied-hash'] });
  };

  beforeAll(async () => {
    // Both operators watch every namespace: an earlier file's namespace still
    // being deleted would have them retry refused writes, and never settle.
    await eventually('no namespace terminating', async () => {
      const list = await getJson<{ items: { status?: { phase?: string } }[] }>(['get', 'namespaces']);
      return list.items.every((n) => n.status?.phase !== 'Terminating');
    }, 150_000, 1_000);
    // The release's CRDs, as its chart installs them.
    await kubectlOk(['apply', '--server-side', '--force-conflicts', '-f', join(tree.dir, 'crds')]);
    await waitEstablished(CRDS);
    ns = await createNamespace('e2e-upgrade');
    await ensureNamespace(EXAMPLE_IGNITE_NAMESPACE);
  });
  afterAll(async () => {
    await oldOp?.stop();
    await newOp?.stop();
    if (ns) await kubectl(['delete', 'namespace', ns, '--wait=false']);
    // The working tree's CRDs for the files after this one.
    await kubectl(['apply', '--server-side', '--force-conflicts', '-f', join(root, 'crds')]);
  });

  it('writes only what changed between the releases, recreates nothing and replaces no pod whose template stayed', async () => {
    const started = Date.now();
    const timeline: string[] = [];
    const note = (s: string) => timeline.push(`${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s  ${s}`);
    const operatorArgs = ['--api-server-cidrs', 'none'];

    // 1. The release's operator and examples (every kind of ours in its examples/).
    oldOp = await startOperator({ name: `release-${RELEASE.version}`, program: [tree.node, tree.bin], args: [...operatorArgs, '--image', oldImage] });
    await eventually('0.2.0 operator ready', () => oldOp!.ready(), 30_000);
    const examples: Obj[] = [];
    for (const f of ['macpool.yaml', 'macpool-alcor.yaml', 'dhcpsubnet.yaml', 'dhcpreservation.yaml', 'dataplanemanager.yaml']) {
      examples.push(...docs(await readFile(join(tree.dir, 'examples', f), 'utf8')).filter((d) => OUR_KINDS.includes(d.kind)));
    }
    expect(new Set(examples.map((e) => e.kind))).toEqual(new Set(OUR_KINDS));
    for (const e of examples) await kubectlOk(['-n', ns, 'apply', '-f', '-'], JSON.stringify(e));
    note(`${examples.length} examples applied: ${examples.map((e) => `${e.kind}/${e.metadata.name}`).join(', ')}`);
    await settle(oldOp, `${RELEASE.version} operator settled`);
    const oldWrites = await writeCount(oldOp);
    const readyUnderOld = (await resources()).map((r) => `${r.kind}/${r.metadata.name}: ${JSON.stringify((r.status?.['conditions'] as { type: string; status: string; reason: string }[] | undefined)?.find((c) => c.type === 'Ready') ?? r.status?.['state'] ?? null)}`);
    note(`${RELEASE.version} settled after ${oldWrites} writes; ${readyUnderOld.join('; ')}`);
    const oldResources = await resources();

    // 2. The new CRDs while the old operator still runs (helm upgrade), then it stops.
    await kubectlOk(['apply', '--server-side', '--force-conflicts', '-f', join(root, 'crds')]);
    await waitEstablished(CRDS);
    await settle(oldOp, `${RELEASE.version} operator quiet under the new CRDs`);
    const oldWritesUnderNewCrds = (await writeCount(oldOp)) - oldWrites;
    expect(await oldOp.stop()).toBe(0);
    note(`new CRDs applied; ${RELEASE.version} wrote ${oldWritesUnderNewCrds} times under them, then stopped`);

    // 3. What may change: both trees render the resources as each operator reads them.
    const newResources = await resources();
    const oldRender = await render([tree.node, tree.bin], oldImage, oldResources, 'release');
    const newRender = await render([process.execPath, MAIN], newImage, newResources, 'working');
    const changed = new Set([...newRender.keys()].filter((k) => !oldRender.has(k) || stableStringify(oldRender.get(k)) !== stableStringify(newRender.get(k))));
    const dropped = new Set([...oldRender.keys()].filter((k) => !newRender.has(k)));
    const templateChanged = new Set([...newRender.keys()].filter((k) => WORKLOADS.has(newRender.get(k)!.kind) && stableStringify(oldRender.get(k)?.spec?.template) !== stableStringify(newRender.get(k)!.spec?.template)));
    note(`renderings: ${oldRender.size} objects by ${RELEASE.version}, ${newRender.size} by the working tree; changed: ${[...changed].join(', ') || 'none'}; dropped: ${[...dropped].join(', ') || 'none'}`);

    // The state before, from the API.
    const owners = new Set(newResources.map((r) => r.metadata.uid));
    const kinds = [...new Set([...CHILD_KINDS, ...[...oldRender.values(), ...newRender.values()].map((o) => o.kind)])];
    const namespaces = [...new Set([ns, ...[...oldRender.values(), ...newRender.values()].map((o) => o.metadata.namespace ?? ns)])];
    const before = await children(kinds, namespaces, owners);
    expect([...before.keys()].sort(), 'the children 0.2.0 made are what it renders').toEqual([...oldRender.keys()].sort());
    const podsBefore = await podsByWorkload();
    // Counts per kind cluster-wide: the first reconcile of each resource is among the first that many passes of its controller.
    const perKind = new Map<string, number>();
    for (const k of OUR_KINDS) perKind.set(k.toLowerCase(), (await getJson<{ items: Obj[] }>(['get', k, '-A'])).items.length);

    // 4. The working tree's operator.
    newOp = await startOperator({ name: 'working', args: [...operatorArgs, '--image', newImage] });
    await eventually('working tree operator ready', () => newOp!.ready(), 30_000);
    await settle(newOp, 'working tree operator settled');
    const newWrites = await writeCount(newOp);
    note(`working tree settled after ${newWrites} writes`);

    // 5. What happened, from the API.
    const after = await children(kinds, namespaces, owners);
    const problems: string[] = [];
    for (const [k, b] of before) {
      const a = after.get(k);
      if (!a) {
        if (!dropped.has(k)) problems.push(`${k}: deleted`);
        continue;
      }
      if (a.metadata.uid !== b.metadata.uid) problems.push(`${k}: recreated (uid ${b.metadata.uid} -> ${a.metadata.uid})`);
      const wrote = operatorFields(a) !== operatorFields(b);
      if (wrote && !changed.has(k)) problems.push(`${k}: written by the working tree's operator, though its rendering did not change (resourceVersion ${b.metadata.resourceVersion} -> ${a.metadata.resourceVersion})`);
      if (!wrote && changed.has(k)) problems.push(`${k}: its rendering changed, but the working tree's operator did not write it`);
    }
    for (const k of after.keys()) if (!before.has(k) && !changed.has(k)) problems.push(`${k}: created, though no rendering asks for it`);
    for (const k of changed) if (!after.has(k)) problems.push(`${k}: rendered by the working tree, but not in the cluster`);
    for (const k of dropped) if (after.has(k)) problems.push(`${k}: no longer rendered, but not deleted`);

    const podsAfter = await podsByWorkload();
    const replaced: string[] = [];
    for (const [w, uids] of podsBefore) {
      const now = podsAfter.get(w) ?? [];
      const gone = uids.filter((u) => !now.includes(u)).length;
      if (gone === 0) continue;
      if (templateChanged.has(w)) replaced.push(`${w}: ${gone} of ${uids.length}`);
      else problems.push(`${w}: ${gone} of ${uids.length} pods replaced, though its pod template did not change`);
    }

    // Resources: a write only where the rendering or the status changed.
    const statusChanged: string[] = [];
    const resourcesAfter = await resources();
    for (const a of resourcesAfter) {
      const b = newResources.find((r) => r.metadata.uid === a.metadata.uid)!;
      const rendersChanged = [...changed, ...dropped].some((k) => newRender.get(k)?.metadata.ownerReferences?.some((o) => o.uid === a.metadata.uid) || oldRender.get(k)?.metadata.ownerReferences?.some((o) => o.uid === a.metadata.uid) || newRender.get(k)?.metadata.labels?.[OWNER_UID_LABEL] === a.metadata.uid);
      const sameStatus = stableStringify(a.status) === stableStringify(b.status);
      if (!sameStatus) statusChanged.push(`${a.kind}/${a.metadata.name}${rendersChanged ? ' (rendering changed)' : ''}: ${stableStringify(b.status)} -> ${stableStringify(a.status)}`);
      // A resource whose children changed may go through Upgrading and come back to the same status: written, legitimately.
      if (sameStatus && !rendersChanged && a.metadata.resourceVersion !== b.metadata.resourceVersion) problems.push(`${a.kind}/${a.metadata.name}: written (resourceVersion ${b.metadata.resourceVersion} -> ${a.metadata.resourceVersion}) with its status unchanged`);
    }

    // 6. What happened, from the new operator's log.
    interface Line { msg: string; controller?: string; namespace?: string; name?: string; reconcileID?: string; kind?: string; child?: string; childNamespace?: string; reason?: string; ready?: string; partition?: number }
    const lines = (await readFile(newOp.logFile, 'utf8')).split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Line).filter((l) => l.namespace === ns);
    const applies = lines.filter((l) => l.msg === 'applying child');
    const statusWrites = lines.filter((l) => l.msg === 'status updated');
    const recreations = lines.filter((l) => /recreating/.test(l.msg));
    const applied = new Map<string, Line[]>();
    /**
     * A StatefulSet whose pod template changed rolls one replica at a time
     * (src/controllers/rollout.ts): its first apply brings the template with
     * the partition at replicas - 1, each later one lowers it by one to 0.
     */
    const rollsOneAtATime = (k: string, ls: Line[]): boolean => {
      const replicas = Number(newRender.get(k)?.spec?.['replicas'] ?? 1);
      const steps = Array.from({ length: replicas }, (_, i) => replicas - 1 - i);
      return newRender.get(k)?.kind === 'StatefulSet' && templateChanged.has(k) && stableStringify(ls.map((l) => l.partition)) === stableStringify(steps);
    };
    for (const l of applies) {
      const k = `${l.kind}/${l.childNamespace ?? ns}/${l.child}`;
      applied.set(k, [...(applied.get(k) ?? []), l]);
    }
    for (const [k, ls] of applied) {
      const how = ls.map((l) => `${l.reason} (${l.controller} ${l.name}, reconcile ${l.reconcileID})`).join('; ');
      if (!changed.has(k)) problems.push(`${k}: applied though its rendering did not change: ${how}`);
      else if (ls.length > 1 && !rollsOneAtATime(k, ls)) problems.push(`${k}: applied ${ls.length} times: ${how}`);
    }
    for (const k of changed) if (!applied.has(k)) problems.push(`${k}: its rendering changed, but no 'applying child' line names it`);
    for (const l of recreations) problems.push(`${l.kind}/${l.child}: ${l.msg}`);
    // Each resource's child writes: in one reconcile, its first (a pass the controller made before it could have seen any resource twice).
    // A StatefulSet's later partition steps come as its replicas serve: only its first apply counts here.
    const byResource = new Map<string, Line[]>();
    for (const [, ls] of applied) byResource.set(`${ls[0]!.controller}/${ls[0]!.name}`, [...(byResource.get(`${ls[0]!.controller}/${ls[0]!.name}`) ?? []), ls[0]!]);
    for (const [r, ls] of byResource) {
      const ids = [...new Set(ls.map((l) => l.reconcileID))];
      const pass = Number(ids[0]?.split('-')[1]);
      const first = pass < (perKind.get(ls[0]!.controller ?? '') ?? 0);
      if (ids.length > 1 || !first) problems.push(`${r}: children applied in reconciles ${ids.join(', ')} (pass ${pass}), not all in its first`);
    }

    console.log([
      `operator upgrade ${RELEASE.version} -> working tree (${((Date.now() - started) / 1000).toFixed(0)} s)`,
      ...timeline,
      `children: ${before.size} before, ${after.size} after; applied by the working tree: ${applies.length} (${applies.map((l) => `${l.kind}/${l.child}: ${l.reason}`).join('; ') || 'none'})`,
      `status writes by the working tree: ${statusWrites.length} (${statusWrites.map((l) => `${l.controller}/${l.name} Ready=${l.ready}`).join('; ') || 'none'}); API writes counted by its client: ${newWrites}`,
      `pods replaced (template changed): ${replaced.join('; ') || 'none'}`,
      `resources whose status changed: ${statusChanged.length === 0 ? 'none' : `\n  ${statusChanged.join('\n  ')}`}`,
    ].join('\n'));
    expect(oldWritesUnderNewCrds, `${RELEASE.version} wrote under the new CRDs`).toBe(0);
    expect(problems, 'unexpected writes, recreations or replaced pods').toEqual([]);
  }, 600_000);
});
