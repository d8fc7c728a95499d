// A KubeClient that talks to no server, for reconcile tests in cert-manager's
// style: every request is recorded as an action, in the order it was sent,
// and answered from an in-memory store that the fake caches read too (as if
// every watch event had already arrived). Reactors script failures.

import { KubeClient, type KubeObject, type ResourceType } from '../../src/runtime/client.ts';
import type { Cache } from '../../src/runtime/informer.ts';
import { indexFuncs } from '../../src/controllers/indexes.ts';

export interface Action {
  verb: 'get' | 'list' | 'create' | 'apply' | 'patch' | 'update' | 'delete';
  /** Plural, with the subresource: "statefulsets", "macpools/status". */
  resource: string;
  namespace: string;
  name: string;
  query: URLSearchParams;
  body?: KubeObject;
}

/** An answer instead of the store's, or undefined to let the store answer. */
export type Reactor = (action: Action) => { status: number; body?: unknown } | undefined;

/** "apply configmaps ns/name", "delete services ns/name propagationPolicy=Orphan", "event Warning ChildRecreated". */
export function describeAction(a: Action): string {
  if (a.resource === 'events' && a.verb === 'create') return `event ${String(a.body?.['type'])} ${String(a.body?.['reason'])}`;
  const policy = a.query.get('propagationPolicy');
  return `${a.verb} ${a.resource} ${a.namespace}/${a.name}${policy ? ` propagationPolicy=${policy}` : ''}`;
}

/** A Status body as the API server sends it. */
export function status(code: number, reason: string, message: string): { status: number; body: unknown } {
  return { status: code, body: { kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message } };
}

/** namespace, plural, name and subresource of a REST path (/api/v1/... or /apis/<group>/<version>/...). */
function parsePath(pathname: string): [string, string, string, string | undefined] {
  const segments = pathname.split('/').filter((s) => s !== '');
  let rest = segments.slice(segments[0] === 'api' ? 2 : 3);
  let namespace = '';
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1]!;
    rest = rest.slice(2);
  }
  return [namespace, rest[0] ?? '', rest[1] ?? '', rest[2]];
}

export class FakeClient extends KubeClient {
  readonly actions: Action[] = [];
  /** Objects by "plural/namespace/name". */
  readonly store = new Map<string, KubeObject>();
  private readonly reactors: Reactor[] = [];
  private version = 0;
  /** The API server's clock, for creationTimestamp. */
  private readonly now: () => Date;

  constructor(opts: { now?: () => Date } = {}) {
    super({ server: 'http://fake.invalid', applyTo: async () => {} });
    this.now = opts.now ?? (() => new Date());
  }

  react(reactor: Reactor): void {
    this.reactors.push(reactor);
  }

  /** What the tests read: the actions as strings. */
  described(): string[] {
    return this.actions.map(describeAction);
  }

  put(plural: string, obj: KubeObject): void {
    this.store.set(`${plural}/${obj.metadata.namespace}/${obj.metadata.name}`, obj);
  }

  /** The cache of one resource type, over the store; its indexes are the manager's (src/controllers/indexes.ts). */
  cache(type: ResourceType): Cache {
    const prefix = `${type.plural}/`;
    const list = () => [...this.store.entries()].filter(([k]) => k.startsWith(prefix)).map(([, v]) => v);
    return {
      get: (key) => this.store.get(prefix + key),
      list,
      byIndex: (name, value) => {
        const fn = indexFuncs[name];
        if (!fn) throw new Error(`${type.plural}: no index ${name}`);
        return list().filter((o) => fn(o).includes(value));
      },
    };
  }

  // Recorded before the first await, so concurrent requests keep the order in which they were made.
  override raw(method: string, path: string, body?: string, contentType?: string): Promise<{ status: number; body: string }> {
    const [pathname = '', q = ''] = path.split('?');
    const [namespace, plural, name, sub] = parsePath(pathname);
    const verb: Action['verb'] =
      method === 'GET' ? (name ? 'get' : 'list') : method === 'POST' ? 'create' : method === 'PUT' ? 'update' : method === 'DELETE' ? 'delete' : contentType === 'application/apply-patch+yaml' ? 'apply' : 'patch';
    const action: Action = { verb, resource: sub ? `${plural}/${sub}` : plural, namespace, name: name || (body ? (JSON.parse(body) as KubeObject).metadata.name : ''), query: new URLSearchParams(q) };
    if (body !== undefined) action.body = JSON.parse(body) as KubeObject;
    this.actions.push(action);
    const scripted = this.reactors.map((r) => r(action)).find((r) => r !== undefined);
    const answer = scripted ?? this.answer(action, plural);
    return Promise.resolve({ status: answer.status, body: JSON.stringify(answer.body ?? {}) });
  }

  private answer(a: Action, plural: string): { status: number; body?: unknown } {
    const key = `${plural}/${a.namespace}/${a.name}`;
    const existing = this.store.get(key);
    const notFound = status(404, 'NotFound', `${plural} "${a.name}" not found`);
    switch (a.verb) {
      case 'get':
        return existing ? { status: 200, body: existing } : notFound;
      case 'list':
        return { status: 200, body: { metadata: { resourceVersion: String(this.version) }, items: this.cache({ plural } as ResourceType).list() } };
      case 'delete':
        if (!existing) return notFound;
        this.store.delete(key);
        return { status: 200, body: status(200, '', '').body };
      case 'create':
        if (existing) return status(409, 'AlreadyExists', `${plural} "${a.name}" already exists`);
        return this.save(key, a.body!, undefined);
      case 'apply':
        if (a.resource.endsWith('/status')) {
          if (!existing) return notFound;
          return this.save(key, { ...existing, status: a.body!['status'] }, existing);
        }
        // Server-side apply by the one field manager: the object becomes what was applied; status stays.
        return this.save(key, { ...a.body!, ...(existing?.['status'] !== undefined ? { status: existing['status'] } : {}) }, existing);
      default:
        return this.save(key, { ...existing, ...a.body! }, existing);
    }
  }

  private save(key: string, obj: KubeObject, existing: KubeObject | undefined): { status: number; body: unknown } {
    this.version++;
    // As the API server: metadata.generation moves when the spec does (not the status, not metadata).
    const specOf = (o: KubeObject | undefined): string => JSON.stringify({ ...o, metadata: undefined, status: undefined });
    const generation = existing ? (existing.metadata.generation ?? 1) + (specOf(existing) === specOf(obj) ? 0 : 1) : 1;
    const stored: KubeObject = {
      ...obj,
      metadata: {
        ...obj.metadata,
        uid: existing?.metadata.uid ?? `uid-${this.version}`,
        resourceVersion: String(this.version),
        generation,
        creationTimestamp: existing?.metadata.creationTimestamp ?? this.now().toISOString().replace(/\.\d+Z$/, 'Z'),
      },
    };
    this.store.set(key, stored);
    return { status: existing ? 200 : 201, body: stored };
  }
}
