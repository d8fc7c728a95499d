import { API_VERSION, formatIssues } from './common.ts';
import { DataPlaneManager } from './dataplanemanager.ts';
import { DhcpReservation } from './dhcpreservation.ts';
import { DhcpSubnet } from './dhcpsubnet.ts';
import { MacPool } from './macpool.ts';

// Parsing an object of unknown kind (a YAML document, a watch event) into one
// of ours, with an error that names the object and the field.

export type AlcorResource =
  | { kind: 'MacPool'; resource: MacPool }
  | { kind: 'DhcpSubnet'; resource: DhcpSubnet }
  | { kind: 'DataPlaneManager'; resource: DataPlaneManager }
  | { kind: 'DhcpReservation'; resource: DhcpReservation };

export class InvalidResourceError extends Error {
  override name = 'InvalidResourceError';
}

function describe(o: Record<string, unknown>): string {
  const meta = o.metadata as { name?: unknown } | undefined;
  const name = typeof meta?.name === 'string' ? ` "${meta.name}"` : '';
  return `${typeof o.kind === 'string' ? o.kind : 'object'}${name}`;
}

export function parseResource(value: unknown): AlcorResource {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidResourceError('not an object');
  }
  const o = value as Record<string, unknown>;
  if (o.apiVersion !== API_VERSION) {
    throw new InvalidResourceError(`${describe(o)}: apiVersion must be ${API_VERSION}, got ${JSON.stringify(o.apiVersion)}`);
  }
  const fail = (issues: Parameters<typeof formatIssues>[0]): never => {
    throw new InvalidResourceError(`${describe(o)} is invalid:\n${formatIssues(issues)}`);
  };
  switch (o.kind) {
    case 'MacPool': {
      const r = MacPool.safeParse(o);
      return r.success ? { kind: 'MacPool', resource: r.data } : fail(r.error);
    }
    case 'DhcpSubnet': {
      const r = DhcpSubnet.safeParse(o);
      return r.success ? { kind: 'DhcpSubnet', resource: r.data } : fail(r.error);
    }
    case 'DataPlaneManager': {
      const r = DataPlaneManager.safeParse(o);
      return r.success ? { kind: 'DataPlaneManager', resource: r.data } : fail(r.error);
    }
    case 'DhcpReservation': {
      const r = DhcpReservation.safeParse(o);
      return r.success ? { kind: 'DhcpReservation', resource: r.data } : fail(r.error);
    }
    default:
      throw new InvalidResourceError(`${describe(o)}: kind must be MacPool, DhcpSubnet, DataPlaneManager or DhcpReservation`);
  }
}
