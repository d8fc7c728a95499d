// The metadata of an allocated MAC (Alcor's mac_state minus the address).

export interface MacMeta {
  projectId: string | null;
  vpcId: string | null;
  portId: string;
  state: string;
}

/** Log form: [port, project, vpc, state]. */
export type MetaTuple = [string, string | null, string | null, string];

export function toTuple(m: MacMeta): MetaTuple {
  return [m.portId, m.projectId, m.vpcId, m.state];
}

export function fromTuple(t: MetaTuple): MacMeta {
  return { portId: t[0], projectId: t[1], vpcId: t[2], state: t[3] };
}
