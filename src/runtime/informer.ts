import type { Logger } from 'pino';
import { ApiError, resourcePath, type KubeClient, type KubeObject, type ObjectList, type ResourceType } from './client.ts';

// List + watch into a cache, like client-go's reflector and informer: the
// watch resumes from the last resource version, also after the connection
// broke; when that version has expired (410 Gone) it re-lists and reports what
// changed in between, so a handler never misses the end state of an object.

export type Handler = (obj: KubeObject, old?: KubeObject) => void;

export interface InformerOptions {
  type: ResourceType;
  client: KubeClient;
  log: Logger;
  labelSelector?: string;
  /** Only this namespace's objects (default: every namespace). */
  namespace?: string;
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
    trim(ev.object);
    const key = objectKey(ev.object);
    const old = this.cache.get(key);
    if (ev.type === 'DELETED') {
      this.cache.delete(key);
      this.emit('delete', ev.object);
      return;
    }
    this.cache.set(key, ev.object);
    if (old) this.emit('update', ev.object, old);
    else this.emit('add', ev.object);
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
        trim(item);
        fresh.set(objectKey(item), item);
      }
      cont = page.metadata.continue ?? '';
      rv = page.metadata.resourceVersion;
    } while (cont);
    this.lists++;
    const previous = new Map(this.cache);
    this.cache.clear();
    for (const [k, v] of fresh) this.cache.set(k, v);
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
