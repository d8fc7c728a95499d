import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { httpsJson, type TlsClient } from './net.ts';

// kind ships a local-path provisioner and a default StorageClass; so does the
// local cluster: a StorageClass `standard` (default) and a loop that gives
// every pending claim of that class a hostPath PersistentVolume bound to it.
// Enough for StatefulSets with volumeClaimTemplates to schedule on kwok nodes.

export const STORAGE_CLASS = 'standard';
const PROVISIONER = 'alcor.dev/e2e-local-path';

interface Pv {
  metadata: { name: string; annotations?: Record<string, string> };
  status?: { phase?: string };
}

interface Pvc {
  metadata: { name: string; namespace: string; uid: string };
  spec: { storageClassName?: string; resources?: { requests?: { storage?: string } }; accessModes?: string[]; volumeName?: string };
  status?: { phase?: string };
}

export async function startLocalPathProvisioner(server: string, tls: TlsClient, dir: string): Promise<() => void> {
  const sc = {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: STORAGE_CLASS, annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
    provisioner: PROVISIONER,
    reclaimPolicy: 'Delete',
    volumeBindingMode: 'Immediate',
  };
  const res = await httpsJson(tls, 'POST', `${server}/apis/storage.k8s.io/v1/storageclasses`, sc);
  if (res.status !== 201 && res.status !== 409) throw new Error(`creating StorageClass: ${res.status} ${res.text}`);
  const made = new Set<string>();
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      const list = await httpsJson(tls, 'GET', `${server}/api/v1/persistentvolumeclaims`);
      const items = (list.json as { items?: Pvc[] } | undefined)?.items ?? [];
      for (const pvc of items) {
        if (pvc.status?.phase !== 'Pending' || pvc.spec.volumeName || (pvc.spec.storageClassName ?? STORAGE_CLASS) !== STORAGE_CLASS) continue;
        if (made.has(pvc.metadata.uid)) continue;
        const name = `pvc-${pvc.metadata.uid}`;
        const path = join(dir, name);
        mkdirSync(path, { recursive: true });
        // Real pods run as non-root users (65532): like a fresh volume, writable by them.
        chmodSync(path, 0o777);
        const pv = {
          apiVersion: 'v1',
          kind: 'PersistentVolume',
          metadata: { name, annotations: { 'pv.kubernetes.io/provisioned-by': PROVISIONER } },
          spec: {
            capacity: { storage: pvc.spec.resources?.requests?.storage ?? '1Gi' },
            accessModes: pvc.spec.accessModes ?? ['ReadWriteOnce'],
            persistentVolumeReclaimPolicy: 'Delete',
            storageClassName: STORAGE_CLASS,
            hostPath: { path, type: 'DirectoryOrCreate' },
            claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: pvc.metadata.namespace, name: pvc.metadata.name, uid: pvc.metadata.uid },
          },
        };
        const created = await httpsJson(tls, 'POST', `${server}/api/v1/persistentvolumes`, pv);
        if (created.status === 201 || created.status === 409) made.add(pvc.metadata.uid);
      }
      // Reclaim policy Delete, as a real provisioner keeps it: a volume whose
      // claim is gone is deleted with its directory. Released volumes left
      // behind pile up in the PV controller's resyncs (at thousands, claims
      // waited minutes to bind).
      const volumes = await httpsJson(tls, 'GET', `${server}/api/v1/persistentvolumes`);
      for (const pv of (volumes.json as { items?: Pv[] } | undefined)?.items ?? []) {
        if (pv.status?.phase !== 'Released' || pv.metadata.annotations?.['pv.kubernetes.io/provisioned-by'] !== PROVISIONER) continue;
        const deleted = await httpsJson(tls, 'DELETE', `${server}/api/v1/persistentvolumes/${pv.metadata.name}`);
        if (deleted.status === 200 || deleted.status === 404) rmSync(join(dir, pv.metadata.name), { recursive: true, force: true });
      }
    } catch {
      // The API server may be restarting (fault tests); try again next tick.
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), 500);
  timer.unref();
  return () => clearInterval(timer);
}
