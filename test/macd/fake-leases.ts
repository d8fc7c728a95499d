import { ALLOCATED_ANNOTATION, ALLOCATED_BY_RANGE_ANNOTATION, ENDPOINT_ANNOTATION } from '../../src/api/leases.ts';
import { poolLeases, type BlockLease, type LeaseApi, type PoolLeases } from '../../src/macd/leases.ts';

/** An in-memory Lease API with the API server's create semantics (409 on an existing name). */
export class FakeLeases implements LeaseApi {
  readonly items = new Map<string, BlockLease>();
  /** Other Leases of the pool, as their annotations (e.g. of a newer format): listed as the Kubernetes one reads them. */
  readonly raw = new Map<string, { holder: string; annotations: Record<string, string> }>();
  annotations: { name: string; annotations: Record<string, string> }[] = [];
  /** Report texts by replica, in the order written. */
  readonly reports = new Map<string, string[]>();
  async list(): Promise<PoolLeases> {
    await Promise.resolve();
    const raw = poolLeases([...this.raw].map(([name, l]) => ({ name, ...l })));
    return { blocks: [...[...this.items.values()].map((l) => ({ ...l, byRange: { ...l.byRange } })), ...raw.blocks], unreadable: raw.unreadable };
  }
  async create(l: BlockLease): Promise<'created' | 'exists'> {
    await Promise.resolve();
    if (this.items.has(l.name) || this.raw.has(l.name)) return 'exists';
    this.items.set(l.name, { ...l, byRange: { ...l.byRange } });
    return 'created';
  }
  async annotate(name: string, annotations: Record<string, string>): Promise<void> {
    await Promise.resolve();
    const raw = this.raw.get(name);
    if (raw) {
      this.annotations.push({ name, annotations });
      raw.annotations = { ...raw.annotations, ...annotations };
      return;
    }
    const l = this.items.get(name);
    if (!l) throw new Error(`no lease ${name}`);
    this.annotations.push({ name, annotations });
    if (annotations[ALLOCATED_ANNOTATION] !== undefined) l.allocated = Number(annotations[ALLOCATED_ANNOTATION]);
    if (annotations[ALLOCATED_BY_RANGE_ANNOTATION] !== undefined) l.byRange = JSON.parse(annotations[ALLOCATED_BY_RANGE_ANNOTATION]) as Record<string, number>;
    if (annotations[ENDPOINT_ANNOTATION] !== undefined) l.endpoint = annotations[ENDPOINT_ANNOTATION];
  }
  async putReport(replica: string, report: string): Promise<void> {
    await Promise.resolve();
    this.reports.set(replica, [...(this.reports.get(replica) ?? []), report]);
  }
}
