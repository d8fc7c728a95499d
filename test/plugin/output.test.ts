import { describe, expect, it } from 'vitest';
import { bar, ListPrinter, relative, table } from '../../src/plugin/output.ts';

describe('plugin output', () => {
  it('prints tables as kubectl does', () => {
    expect(table(['NAME', 'USED'], [['a', '1'], ['long-name', '22']])).toBe('NAME        USED\na           1\nlong-name   22\n');
  });

  it.each([
    [0, 100, '[....................]   0%'],
    [1, 1000, '[....................]  <1%'],
    [25, 100, '[#####...............]  25%'],
    [999, 1000, '[####################] >99%'],
    [100, 100, '[####################] 100%'],
  ])('bar(%i, %i)', (used, cap, text) => expect(bar(used, cap)).toBe(text));

  it('says times relative to now', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(relative('2026-01-01T11:58:00Z', now)).toBe('in 11h58m');
    expect(relative('2025-12-31T23:57:00Z', now)).toBe('3m ago');
    expect(relative('2026-01-01T00:00:30Z', now)).toBe('in 30s');
  });

  it('streams pages: one table header, a JSON List that parses, YAML items', async () => {
    for (const format of ['table', 'json', 'yaml'] as const) {
      let text = '';
      const p = new ListPrinter<{ ip: string }>({ format, out: { write: (t) => void (text += t) }, header: ['IP'], row: (x) => [x.ip] });
      await p.page([{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }]);
      await p.page([{ ip: '10.0.0.3' }]);
      p.end('none');
      if (format === 'table') expect(text).toBe('IP\n10.0.0.1\n10.0.0.2\n10.0.0.3\n');
      if (format === 'json') expect(JSON.parse(text)).toEqual({ apiVersion: 'v1', kind: 'List', items: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }, { ip: '10.0.0.3' }] });
      if (format === 'yaml') expect((await import('yaml')).parse(text)).toEqual({ apiVersion: 'v1', kind: 'List', items: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }, { ip: '10.0.0.3' }] });
    }
  });
});
