// How the differential suite judges macd against Alcor's MAC manager, and
// the table in docs/alcor-compat.md it judges by. A step differs when the
// status differs, when macd's body lacks a field of Alcor's or has it with
// another type (macd may add fields: Alcor's callers read JSON with Spring's
// default Jackson converter, which ignores unknown properties), or when a
// check a caller relies on (a MAC was handed out, it lies in the range asked
// for) comes out differently. Every difference must be a "deliberately
// different" row of the table, with both statuses as observed; every "same as
// Alcor" row must show no difference: so the document stays true.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Observed, Shape } from './mac-sequence.ts';

export const COMPAT_DOC = join(import.meta.dirname, '../../docs/alcor-compat.md');
/** Alcor's answers to the sequence, recorded from the real MAC manager by test/alcor/differential.test.ts. */
export const RECORDED = join(import.meta.dirname, 'alcor-answers.json');

export interface Recorded {
  alcorCommit: string;
  answers: Record<string, Omit<Observed, 'body'>>;
}

export function readRecorded(): Recorded {
  return JSON.parse(readFileSync(RECORDED, 'utf8')) as Recorded;
}

/** True when macd's shape `m` carries every field of Alcor's `a`, with the same type. */
export function covers(a: Shape, m: Shape): boolean {
  if (typeof a === 'string') return a === m;
  if (Array.isArray(a)) return Array.isArray(m) && (a.length === 0 || (m.length > 0 && covers(a[0]!, m[0]!)));
  if (typeof m !== 'object' || Array.isArray(m)) return false;
  return Object.entries(a).every(([k, v]) => k in m && covers(v, m[k]!));
}

/** What differs between Alcor's and macd's answer to one step, or null. */
export function difference(alcor: Omit<Observed, 'body'>, macd: Omit<Observed, 'body'>): string | null {
  const what: string[] = [];
  if (alcor.status !== macd.status) what.push(`status ${alcor.status} vs ${macd.status}`);
  if (!covers(alcor.shape, macd.shape)) what.push(`body ${JSON.stringify(alcor.shape)} vs ${JSON.stringify(macd.shape)}`);
  for (const [name, ok] of Object.entries(alcor.checks)) if (macd.checks[name] !== ok) what.push(`check ${name} ${ok} vs ${macd.checks[name]}`);
  return what.length ? what.join('; ') : null;
}

export type Decision = 'same as Alcor' | 'deliberately different';

export interface CompatRow {
  steps: string[];
  alcorStatus: number;
  macdStatus: number;
  decision: Decision;
  line: number;
}

/**
 * The rows of the table in docs/alcor-compat.md: | steps | Alcor | macd |
 * decision | why |, the steps as `ids`, each answer starting with its status.
 */
export function readCompatTable(text = readFileSync(COMPAT_DOC, 'utf8')): CompatRow[] {
  const rows: CompatRow[] = [];
  text.split('\n').forEach((line, i) => {
    const cells = line.split(' | ').map((c) => c.replace(/^\|\s*|\s*\|$/g, '').trim());
    if (cells.length !== 5 || !cells[0]!.startsWith('`')) return;
    const steps = [...cells[0]!.matchAll(/`([a-z0-9-]+)`/g)].map((m) => m[1]!);
    const status = (cell: string): number => Number(/^(\d{3})\b/.exec(cell)?.[1] ?? NaN);
    const decision = cells[3]!.replace(/\*/g, '').toLowerCase();
    if (decision !== 'same as alcor' && decision !== 'deliberately different') throw new Error(`docs/alcor-compat.md line ${i + 1}: decision "${cells[3]}" is neither "same as Alcor" nor "deliberately different"`);
    rows.push({ steps, alcorStatus: status(cells[1]!), macdStatus: status(cells[2]!), decision: decision === 'same as alcor' ? 'same as Alcor' : 'deliberately different', line: i + 1 });
  });
  return rows;
}

/** Everything the table does not account for: an empty list when macd answers as the table says. */
export function judge(answers: Map<string, { alcor: Omit<Observed, 'body'>; macd: Omit<Observed, 'body'> }>, rows: CompatRow[]): string[] {
  const problems: string[] = [];
  const rowOf = new Map<string, CompatRow>();
  for (const r of rows) {
    for (const id of r.steps) {
      if (!answers.has(id)) problems.push(`docs/alcor-compat.md line ${r.line}: no step "${id}" in the sequence`);
      if (rowOf.has(id)) problems.push(`docs/alcor-compat.md line ${r.line}: step "${id}" is in two rows`);
      rowOf.set(id, r);
    }
  }
  for (const [id, { alcor, macd }] of answers) {
    const diff = difference(alcor, macd);
    const row = rowOf.get(id);
    if (diff && row?.decision !== 'deliberately different') problems.push(`${id}: ${diff}, and docs/alcor-compat.md ${row ? `line ${row.line} says "same as Alcor"` : 'does not list it'}`);
    else if (diff && row && (row.alcorStatus !== alcor.status || row.macdStatus !== macd.status)) {
      problems.push(`${id}: answers ${alcor.status} (Alcor) and ${macd.status} (macd), docs/alcor-compat.md line ${row.line} says ${row.alcorStatus} and ${row.macdStatus}`);
    } else if (!diff && row?.decision === 'deliberately different') problems.push(`${id}: no difference any more, but docs/alcor-compat.md line ${row.line} lists one`);
    else if (!diff && row && row.alcorStatus !== alcor.status) problems.push(`${id}: answers ${alcor.status}, docs/alcor-compat.md line ${row.line} says ${row.alcorStatus}`);
  }
  return problems;
}
