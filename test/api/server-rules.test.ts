// The hidden cases are real server rules: each broken object, rendered past
// admission, is refused by the server that reads it, in the words the table
// gives. If a server stops refusing one (or words it differently), this fails
// and the row needs a second look.
import { describe, expect, it } from 'vitest';
import { DhcpSubnet, MacPool } from '../../src/api/index.ts';
import { parseMac } from '../../src/api/mac.ts';
import { DhcpCore } from '../../src/dhcpd/core.ts';
import { parseConfigText } from '../../src/dhcpd/config-file.ts';
import { Allocator } from '../../src/macd/allocator.ts';
import { parseConfig } from '../../src/macd/config.ts';
import { defaultRenderSettings, renderDhcpSubnet, renderMacPool, type KubeObject } from '../../src/render/index.ts';
import { hiddenCases, loadExample, type HiddenCase, type Obj } from './invalid-cases.ts';

function configText(objects: KubeObject[]): string {
  const cm = objects.find((o) => o.kind === 'ConfigMap') as Obj | undefined;
  return cm?.data?.['config.yaml'] as string;
}

/** Renders the broken object without admission: parse the valid example (defaults), then break it. */
function renderPastAdmission(c: HiddenCase): string {
  const o = loadExample(c.example);
  o.metadata = { ...o.metadata, namespace: 'ns', uid: 'uid', generation: 1 };
  if (c.example === 'macpool.yaml') {
    const pool = MacPool.parse(o) as Obj;
    c.mutate(pool);
    return configText(renderMacPool(pool as MacPool, defaultRenderSettings));
  }
  const subnet = DhcpSubnet.parse(o) as Obj;
  c.mutate(subnet);
  return configText(renderDhcpSubnet(subnet as DhcpSubnet, defaultRenderSettings));
}

/** What the server says of the config: its refusals, '' when it takes all of it. */
function serverRefusal(c: HiddenCase, text: string): string {
  if (c.refusedBy === 'macd') {
    const config = parseConfig(text);
    const a = new Allocator();
    a.setExclusions(config.exclusions);
    const refused: string[] = [];
    for (const r of config.ranges) {
      try {
        a.addRange({ id: r.id, from: parseMac(r.from)!, to: parseMac(r.to)! }, 'config');
      } catch (e) {
        refused.push((e as Error).message);
      }
    }
    return refused.join('; ');
  }
  try {
    new DhcpCore(parseConfigText(text, 'config.yaml'), { share: 0 });
    return '';
  } catch (e) {
    return (e as Error).message;
  }
}

describe('each hidden case is a rule a server applies', () => {
  it.each(hiddenCases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    expect(serverRefusal(c, renderPastAdmission(c))).toContain(c.server);
  });

  it('the examples themselves are served whole', () => {
    for (const c of [hiddenCases.find((h) => h.refusedBy === 'macd')!, hiddenCases.find((h) => h.refusedBy === 'dhcpd')!]) {
      expect(serverRefusal(c, renderPastAdmission({ ...c, mutate: () => {} }))).toBe('');
    }
  });
});
