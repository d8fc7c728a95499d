// Parsed examples with the identity a stored object would have.

import { DataPlaneManager, DhcpSubnet, MacPool } from '../../src/api/index.ts';
import { loadExample, type Obj } from '../api/invalid-cases.ts';

export const UID = '3f0c5e2a-7d1b-4c8e-9a6f-0b1d2c3e4f50';
export const NAMESPACE = 'tenant-a';

function stored(o: Obj): Obj {
  return { ...o, metadata: { ...o.metadata, namespace: NAMESPACE, uid: UID, generation: 1 } };
}

export function macPoolExample(change: (spec: Obj) => Obj = (s) => s): MacPool {
  const o = stored(loadExample('macpool.yaml'));
  return MacPool.parse({ ...o, spec: change(o.spec) });
}

export function dhcpSubnetExample(change: (spec: Obj) => Obj = (s) => s): DhcpSubnet {
  const o = stored(loadExample('dhcpsubnet.yaml'));
  return DhcpSubnet.parse({ ...o, spec: change(o.spec) });
}

export function dpmExample(change: (spec: Obj) => Obj = (s) => s): DataPlaneManager {
  const o = stored(loadExample('dataplanemanager.yaml'));
  return DataPlaneManager.parse({ ...o, spec: change(o.spec) });
}

/** examples/macpool-alcor.yaml: a MacPool with engine alcor. */
export function alcorEngineExample(change: (spec: Obj) => Obj = (s) => s): MacPool {
  const o = stored(loadExample('macpool-alcor.yaml'));
  return MacPool.parse({ ...o, spec: change(o.spec) });
}

/** The nodeLocal variant of the DhcpSubnet example. */
export function nodeLocalExample(): DhcpSubnet {
  return dhcpSubnetExample((s) => ({ ...s, server: { mode: 'nodeLocal', interface: 'eth1', nodeSelector: { 'alcor.dev/dhcp': 'true' } } }));
}
