import { DataPlaneManager } from '../api/index.ts';
import { renderDataPlaneManager } from '../render/index.ts';
import { DataPlaneManagerType } from './resources.ts';
import type { KindDefinition } from './reconcile.ts';

// DataPlaneManager: Alcor's DPM Deployment, its properties and Service; status
// counts come from the Deployment.

export const dataPlaneManagerKind: KindDefinition<DataPlaneManager> = {
  type: DataPlaneManagerType,
  schema: DataPlaneManager,
  render: renderDataPlaneManager,
  statusFields(_dpm, _ctx, children) {
    const deployment = [...children.values()].find((c) => c.kind === 'Deployment');
    if (!deployment) return { replicas: 0, readyReplicas: 0 };
    const status = (deployment['status'] ?? {}) as { replicas?: number; readyReplicas?: number };
    return { replicas: status.replicas ?? 0, readyReplicas: status.readyReplicas ?? 0 };
  },
};
