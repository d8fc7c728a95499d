import { KubeConfig } from '@kubernetes/client-node';

/**
 * Loads the Kubernetes client configuration the way kubectl and
 * controller-runtime do: an explicit file, else $KUBECONFIG, else the
 * in-cluster service account, else ~/.kube/config.
 */
export function loadKubeConfig(file?: string): KubeConfig {
  const kc = new KubeConfig();
  if (file) kc.loadFromFile(file);
  else if (process.env['KUBECONFIG']) kc.loadFromDefault();
  else if (process.env['KUBERNETES_SERVICE_HOST']) kc.loadFromCluster();
  else kc.loadFromDefault();
  return kc;
}
