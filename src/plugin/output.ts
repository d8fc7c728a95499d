// What kubectl-alcor prints: kubectl's plain tables (upper-case headers,
// columns padded with three spaces), or the objects as JSON or YAML (-o).
// Listings stream: each page is printed as it arrives, never all at once.

export type OutputFormat = 'table' | 'json' | 'yaml';

export const OUTPUT_FORMATS: readonly OutputFormat[] = ['table', 'json', 'yaml'];

export interface Out {
  write(text: string): void;
}

export const stdout: Out = { write: (t) => void process.stdout.write(t) };

/** Column widths: each as wide as its widest cell. */
export function widths(header: readonly string[], rows: readonly (readonly string[])[]): number[] {
  return header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
}

/** Rows padded to the widths, three spaces apart (a longer cell pushes the rest of its row). */
export function rowsText(rows: readonly (readonly string[])[], w: readonly number[]): string {
  return rows
    .map(
      (cells) =>
        cells
          .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(w[i] ?? 0)))
          .join('   ')
          .trimEnd() + '\n',
    )
    .join('');
}

/** Rows as kubectl prints them: upper-case header, each column as wide as its widest cell. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const w = widths(header, rows);
  return rowsText([header, ...rows], w);
}

/** "[#####...............]  25%": how full, for a terminal (ASCII, so every font shows it). */
export function bar(used: number, capacity: number, width = 20): string {
  if (capacity <= 0) return `[${'.'.repeat(width)}]    -`;
  const ratio = Math.min(1, used / capacity);
  const filled = Math.round(ratio * width);
  const pct = ratio * 100;
  // Never show 100 % before the last address is gone, nor 0 % once one is used.
  const shown = used > 0 && pct < 1 ? '<1' : used < capacity && pct > 99 ? '>99' : String(Math.round(pct));
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${shown.padStart(3)}%`;
}

/** "in 11h58m", "3m ago": a time relative to now, as kubectl shows ages. */
export function relative(iso: string, now = Date.now()): string {
  const ms = Date.parse(iso) - now;
  const s = Math.abs(Math.round(ms / 1000));
  const text = s < 120 ? `${s}s` : s < 7200 ? `${Math.floor(s / 60)}m` : s < 172_800 ? `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m` : `${Math.floor(s / 86_400)}d`;
  return ms >= 0 ? `in ${text}` : `${text} ago`;
}

/** A JSON or YAML document for -o json|yaml. */
export async function document(format: 'json' | 'yaml', value: unknown): Promise<string> {
  if (format === 'json') return JSON.stringify(value, null, 2) + '\n';
  const { stringify } = await import('yaml');
  return stringify(value, { lineWidth: 0 });
}

/**
 * Prints a list that arrives in pages: a table (the header once), a JSON
 * List whose items are written as they come, or YAML documents.
 */
export class ListPrinter<T> {
  private readonly format: OutputFormat;
  private readonly out: Out;
  private readonly header: readonly string[];
  private readonly row: (item: T) => string[];
  private count = 0;

  constructor(o: { format: OutputFormat; out?: Out; header: readonly string[]; row: (item: T) => string[] }) {
    this.format = o.format;
    this.out = o.out ?? stdout;
    this.header = o.header;
    this.row = o.row;
  }

  private columns: number[] | undefined;

  async page(items: readonly T[]): Promise<void> {
    if (items.length === 0) return;
    if (this.format === 'table') {
      const rows = items.map(this.row);
      // The first page sets the widths, as kubectl's first chunk does: later pages line up under it.
      if (!this.columns) {
        this.columns = widths(this.header, rows);
        this.out.write(rowsText([this.header], this.columns));
      }
      this.out.write(rowsText(rows, this.columns));
    } else if (this.format === 'json') {
      let text = this.count === 0 ? '{\n  "apiVersion": "v1",\n  "kind": "List",\n  "items": [\n' : ',\n';
      text += items.map((i) => JSON.stringify(i, null, 2).replace(/^/gm, '    ')).join(',\n');
      this.out.write(text);
    } else {
      const yaml = (await document('yaml', items)).replace(/^(?=.)/gm, '  ');
      this.out.write((this.count === 0 ? 'apiVersion: v1\nkind: List\nitems:\n' : '') + yaml);
    }
    this.count += items.length;
  }

  /** Closes the list; `none` is what a table prints when nothing came. */
  end(none: string): void {
    if (this.format === 'json') this.out.write(this.count === 0 ? '{\n  "apiVersion": "v1",\n  "kind": "List",\n  "items": []\n}\n' : '\n  ]\n}\n');
    else if (this.format === 'yaml' && this.count === 0) this.out.write('apiVersion: v1\nkind: List\nitems: []\n');
    else if (this.format === 'table' && this.count === 0) process.stderr.write(`${none}\n`);
  }

  get printed(): number {
    return this.count;
  }
}
