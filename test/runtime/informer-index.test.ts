import { describe, expect, it } from 'vitest';
import { KubeClient, type KubeObject } from '../../src/runtime/client.ts';
import { Informer } from '../../src/runtime/informer.ts';
import { quietLog } from '../macd/helpers.ts';

// An informer's indexes follow its cache through the list, watch events
// (added, modified with a new index value, deleted) and a re-list.

const cm = (name: string, owner: string, rv: string): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'a', resourceVersion: rv, labels: { owner } } });

class ScriptedClient extends KubeClient {
  lists: KubeObject[][] = [];
  events: { type: string; object: KubeObject }[] = [];
  constructor() {
    super({ server: 'http://fake.invalid', applyTo: async () => {} });
  }
  override get<T>(): Promise<T> {
    return Promise.resolve({ metadata: { resourceVersion: '1' }, items: this.lists.shift() ?? [] } as T);
  }
  override async watch(_path: string, onEvent: (e: { type: string; object: KubeObject }) => void, signal?: AbortSignal): Promise<void> {
    for (const e of this.events.splice(0)) onEvent(e);
    await new Promise((r) => signal?.addEventListener('abort', r, { once: true }));
    throw new Error('watch stopped');
  }
}

describe('Informer indexes', () => {
  it('follow the list and every watch event', async () => {
    const client = new ScriptedClient();
    client.lists.push([cm('x', 'p', '1'), cm('y', 'p', '1')]);
    client.events.push(
      { type: 'ADDED', object: cm('z', 'q', '2') },
      { type: 'MODIFIED', object: cm('y', 'q', '3') },
      { type: 'DELETED', object: cm('x', 'p', '4') },
    );
    const informer = new Informer({ type: { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespaced: true }, client, log: quietLog });
    informer.addIndex('owner', (o) => [o.metadata.labels?.['owner'] ?? '']);
    informer.start();
    await informer.waitForSync();
    await new Promise((r) => setTimeout(r, 20));
    const names = (v: string) => informer.byIndex('owner', v).map((o) => o.metadata.name).sort();
    expect(names('p')).toEqual([]);
    expect(names('q')).toEqual(['y', 'z']);
    expect(() => informer.byIndex('nope', 'p')).toThrow(/no index nope/);
    informer.stop();
  });

  it('an index added to a filled cache covers what is there', async () => {
    const client = new ScriptedClient();
    client.lists.push([cm('x', 'p', '1')]);
    const informer = new Informer({ type: { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespaced: true }, client, log: quietLog });
    informer.start();
    await informer.waitForSync();
    informer.addIndex('owner', (o) => [o.metadata.labels?.['owner'] ?? '']);
    expect(informer.byIndex('owner', 'p').map((o) => o.metadata.name)).toEqual(['x']);
    informer.stop();
  });
});
