// Exec credential plugins (client.authentication.k8s.io ExecCredential), run
// as kubectl runs them: the kubeconfig's command with its args and env plus
// KUBERNETES_EXEC_INFO, its answer's token or client certificate used until
// its expirationTimestamp. What EKS (aws eks get-token), GKE
// (gke-gcloud-auth-plugin) and kubelogin kubeconfigs use, without loading
// @kubernetes/client-node for it.

import { execFile } from 'node:child_process';

export interface ExecConfig {
  command?: string;
  args?: string[];
  env?: Array<{ name: string; value: string }> | null;
  apiVersion?: string;
  [k: string]: unknown;
}

export interface Credential {
  token?: string;
  clientCertificateData?: string;
  clientKeyData?: string;
}

/** Refreshed this long before the plugin's expiry, so a request never carries an expired token. */
const MARGIN_MS = 10_000;

/** The credential of an exec plugin, run on first use and again after the expiry it gave. */
export function execCredential(exec: ExecConfig): () => Promise<Credential> {
  let cached: { value: Credential; until: number } | undefined;
  let running: Promise<Credential> | undefined;
  const apiVersion = exec.apiVersion ?? 'client.authentication.k8s.io/v1';
  const once = async (): Promise<Credential> => {
    if (!exec.command) throw new Error('kubeconfig: an exec user without a command');
    const env: NodeJS.ProcessEnv = { ...process.env, KUBERNETES_EXEC_INFO: JSON.stringify({ apiVersion, kind: 'ExecCredential', spec: { interactive: false } }) };
    for (const e of exec.env ?? []) env[e.name] = e.value;
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(exec.command!, exec.args ?? [], { env, timeout: 60_000, maxBuffer: 1024 * 1024 }, (err, out, errText) =>
        err ? reject(new Error(`kubeconfig exec plugin ${exec.command} failed: ${String(errText).trim() || err.message}`)) : resolve(String(out)),
      ),
    );
    let status: Credential & { expirationTimestamp?: string };
    try {
      status = (JSON.parse(stdout) as { status?: Credential & { expirationTimestamp?: string } }).status ?? {};
    } catch {
      throw new Error(`kubeconfig exec plugin ${exec.command} did not answer an ExecCredential (JSON)`);
    }
    if (!status.token && !(status.clientCertificateData && status.clientKeyData)) throw new Error(`kubeconfig exec plugin ${exec.command} gave neither a token nor a client certificate`);
    const expires = status.expirationTimestamp ? Date.parse(status.expirationTimestamp) : Infinity;
    const value: Credential = {
      ...(status.token ? { token: status.token } : {}),
      ...(status.clientCertificateData ? { clientCertificateData: status.clientCertificateData, clientKeyData: status.clientKeyData! } : {}),
    };
    cached = { value, until: expires - MARGIN_MS };
    return value;
  };
  return async () => {
    if (cached && Date.now() < cached.until) return cached.value;
    running ??= once().finally(() => (running = undefined));
    return running;
  };
}
