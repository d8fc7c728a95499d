import type { Logger } from 'pino';
import { ApiError, resourcePath, type KubeClient, type KubeObject, type ObjectList, type ResourceType } from './client.ts';

// List + watch into a cache, like client-go's reflector and informer: the
// watch resumes from the last resource version, also after the connection
// broke; when that version has expired (410 Gone) it re-lists and reports what
// changed in between, so a handler never misses the end state of an object.

export type Handler = (obj: KubeObject, old?: KubeObject) => void;

/** The values an object is found under in one index (client-go's IndexFunc). */
export type IndexFunc = (obj: KubeObject) => string[];

/** What a reconcile reads of an informer: its cache, by key, whole, or through an index. */
export type Cache = Pick<Informer, 'get' | 'list' | 'byIndex'>;

export interface InformerOptions {
  type: ResourceType;
  client: KubeClient;
  log: Logger;
  labelSelector?: string;
  /** Only this namespace's objects (default: every namespace). */
  namespace?: string;
  /**
   * What of each object the cache keeps (client-go's SetTransform): the
   * fields the readers need, so that thousands of objects stay small.
   */
  transform?: (obj: KubeObject) => KubeObject;
  /** Page size of lists. */
  pageSize?: number;
}

export function objectKey(obj: { metadata: { name: string; namespace?: string } }): string {
  return obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : obj.metadata.name;
}

export class Informer {
  readonly type: ResourceType;
  private readonly opts: InformerOptions;
  private readonly cache = new Map<string, KubeObject>();
  private readonly indexers = new Map<string, IndexFunc>();
  /** Index name -> value -> key -> object. */
  private readonly indices = new Map<string, Map<string, Map<string, KubeObject>>>();
  private readonly handlers: { add: Handler[]; update: Handler[]; delete: Handler[] } = { add: [], update: [], delete: [] };
  private resourceVersion = '';
  private synced = false;
  private syncedWaiters: (() => void)[] = [];
  private abort = new AbortController();
  private running = false;
  /** Re-lists done (the first list included). */
  lists = 0;

  constructor(opts: InformerOptions) {
    this.opts = opts;
    this.type = opts.type;
  }

  on(event: 'add' | 'update' | 'delete', handler: Handler): void {
    this.handlers[event].push(handler);
  }

  get(key: string): KubeObject | undefined {
    return this.cache.get(key);
  }

  list(): KubeObject[] {
    return [...this.cache.values()];
  }

  /**
   * Keeps the cache indexed by `fn` (client-go's indexers), so a reconcile
   * finds the few objects it needs without a pass over thousands.
   */
  addIndex(name: string, fn: IndexFunc): void {
    this.indexers.set(name, fn);
    this.indices.set(name, new Map());
    for (const [key, obj] of this.cache) this.index(name, fn, key, obj);
  }

  /** The cached objects found under `value` in index `name`. */
  byIndex(name: string, value: string): KubeObject[] {
    const index = this.indices.get(name);
    if (!index) throw new Error(`${this.type.plural}: no index ${name}`);
    return [...(index.get(value)?.values() ?? [])];
  }

  private index(name: string, fn: IndexFunc, key: string, obj: KubeObject): void {
    const index = this.indices.get(name)!;
    for (const value of fn(obj)) {
      let set = index.get(value);
      if (!set) index.set(value, (set = new Map()));
      set.set(key, obj);
    }
  }

  private put(key: string, obj: KubeObject): void {
    this.remove(key);
    this.cache.set(key, obj);
    for (const [name, fn] of this.indexers) this.index(name, fn, key, obj);
  }

  private remove(key: string): void {
    const old = this.cache.get(key);
    if (!old) return;
    this.cache.delete(key);
    for (const [name, fn] of this.indexers) {
      const index = this.indices.get(name)!;
      for (const value of fn(old)) {
        const set = index.get(value);
        set?.delete(key);
        if (set?.size === 0) index.delete(value);
      }
    }
  }

  get size(): number {
    return this.cache.size;
  }

  hasSynced(): boolean {
    return this.synced;
  }

  waitForSync(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve) => this.syncedWaiters.push(resolve));
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.abort = new AbortController();
    void this.loop();
  }

  stop(): void {
    this.running = false;
    this.abort.abort();
  }

  private query(extra: Record<string, string>): string {
    const params = new URLSearchParams(extra);
    if (this.opts.labelSelector) params.set('labelSelector', this.opts.labelSelector);
    return `${resourcePath(this.type, this.opts.namespace)}?${params.toString()}`;
  }

  private async loop(): Promise<void> {
    let backoffMs = 200;
    let needList = true;
    while (this.running) {
      try {
        if (needList) {
          await this.relist();
          needList = false;
        }
        const path = this.query({
          watch: '1',
          resourceVersion: this.resourceVersion,
          allowWatchBookmarks: 'true',
          // The server ends the watch after this; we resume from the last version.
          timeoutSeconds: String(240 + Math.floor(Math.random() * 120)),
        });
        await this.opts.client.watch(path, (ev) => this.onWatchEvent(ev), this.abort.signal);
        backoffMs = 200;
      } catch (err) {
        if (!this.running) return;
        const gone = err instanceof ApiError && err.status === 410;
        const expired = err instanceof WatchExpired;
        if (gone || expired) {
          this.opts.log.info({ resource: this.type.plural }, 'watch resource version expired; re-listing');
          needList = true;
          continue;
        }
        // Like client-go's reflector: a broken connection resumes the watch
        // from the last version seen (needList stays as it was); only an
        // expired version forces a full re-list.
        this.opts.log.warn({ resource: this.type.plural, err: String(err), retryInMs: backoffMs, relist: needList }, needList ? 'list failed; will retry' : 'watch failed; will resume');
        await new Promise((r) => setTimeout(r, backoffMs));
        backoffMs = Math.min(backoffMs * 2, 30_000);
      }
    }
  }

  private onWatchEvent(ev: { type: string; object: KubeObject }): void {
    if (ev.type === 'ERROR') {
      const status = ev.object as unknown as { code?: number; message?: string };
      if (status.code === 410) throw new WatchExpired(status.message ?? 'expired');
      throw new Error(`watch error: ${status.message ?? JSON.stringify(ev.object)}`);
    }
    const rv = ev.object.metadata?.resourceVersion;
    if (rv) this.resourceVersion = rv;
    if (ev.type === 'BOOKMARK') return;
    const obj = this.keep(ev.object);
    const key = objectKey(obj);
    const old = this.cache.get(key);
    if (ev.type === 'DELETED') {
      this.remove(key);
      this.emit('delete', obj);
      return;
    }
    this.put(key, obj);
    if (old) this.emit('update', obj, old);
    else this.emit('add', obj);
  }

  private async relist(): Promise<void> {
    const fresh = new Map<string, KubeObject>();
    let cont = '';
    let rv = '';
    do {
      const params: Record<string, string> = { limit: String(this.opts.pageSize ?? 500) };
      if (cont) params['continue'] = cont;
      const page = await this.opts.client.get<ObjectList>(this.query(params));
      const apiVersion = this.type.group ? `${this.type.group}/${this.type.version}` : this.type.version;
      for (const item of page.items) {
        // Lists omit apiVersion/kind on items.
        item.apiVersion = apiVersion;
        item.kind = this.type.kind;
        const obj = this.keep(item);
        fresh.set(objectKey(obj), obj);
      }
      cont = page.metadata.continue ?? '';
      rv = page.metadata.resourceVersion;
    } while (cont);
    this.lists++;
    const previous = new Map(this.cache);
    this.cache.clear();
    for (const index of this.indices.values()) index.clear();
    for (const [k, v] of fresh) this.put(k, v);
    this.resourceVersion = rv;
    // Report the difference between what we had and what is there now.
    for (const [k, obj] of fresh) {
      const old = previous.get(k);
      if (!old) this.emit('add', obj);
      else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) this.emit('update', obj, old);
    }
    for (const [k, old] of previous) if (!fresh.has(k)) this.emit('delete', old);
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncedWaiters.splice(0)) w();
    }
  }

  /** What the cache keeps of an object from the server. */
  private keep(obj: KubeObject): KubeObject {
    trim(obj);
    return this.opts.transform ? this.opts.transform(obj) : obj;
  }

  private emit(event: 'add' | 'update' | 'delete', obj: KubeObject, old?: KubeObject): void {
    for (const h of this.handlers[event]) {
      try {
        h(obj, old);
      } catch (err) {
        this.opts.log.error({ err: String(err), resource: this.type.plural }, 'informer handler failed');
      }
    }
  }
}

class WatchExpired extends Error {}

/**
 * managedFields are most of an applied object's size and nothing here reads
 * them: drop them before caching (client-go users do the same with a
 * transform), so the cache of thousands of children stays small.
 */
function trim(obj: KubeObject): void {
  if (obj.metadata) delete obj.metadata['managedFields'];
}
