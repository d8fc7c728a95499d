import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import type { RequestOptions } from 'node:https';
import { parse } from 'yaml';

// Where the API server is and how to authenticate, read the way kubectl and
// controller-runtime do: --kubeconfig, else $KUBECONFIG, else the in-cluster
// service account, else ~/.kube/config. Certificates and bearer tokens are
// handled here; only a kubeconfig whose user needs an exec or auth-provider
// plugin loads @kubernetes/client-node (about 90 MiB of RSS the operator
// otherwise doesn't pay).

export interface RestConfig {
  server: string;
  /** Adds TLS material and credentials to a request. */
  applyTo(opts: RequestOptions): Promise<void>;
}

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

interface NamedCluster {
  name: string;
  cluster: {
    server: string;
    'certificate-authority'?: string;
    'certificate-authority-data'?: string;
    'insecure-skip-tls-verify'?: boolean;
    'tls-server-name'?: string;
  };
}
interface NamedUser {
  name: string;
  user: {
    'client-certificate'?: string;
    'client-certificate-data'?: string;
    'client-key'?: string;
    'client-key-data'?: string;
    token?: string;
    tokenFile?: string;
    username?: string;
    password?: string;
    exec?: unknown;
    'auth-provider'?: unknown;
  };
}
interface KubeconfigFile {
  'current-context'?: string;
  contexts?: { name: string; context: { cluster: string; user: string } }[];
  clusters?: NamedCluster[];
  users?: NamedUser[];
}

export async function loadRestConfig(file?: string): Promise<RestConfig> {
  if (file) return fromKubeconfig(file);
  const env = process.env['KUBECONFIG'];
  if (env) return fromKubeconfig(env.split(':')[0]!);
  if (process.env['KUBERNETES_SERVICE_HOST']) return inCluster();
  return fromKubeconfig(join(homedir(), '.kube', 'config'));
}

function inCluster(): RestConfig {
  const host = process.env['KUBERNETES_SERVICE_HOST']!;
  const port = process.env['KUBERNETES_SERVICE_PORT'] ?? '443';
  const ca = readFileSync(join(SA_DIR, 'ca.crt'));
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    async applyTo(opts) {
      opts.ca = ca;
      // Projected tokens rotate: read the file on every request, as client-go does (it caches for a minute).
      setHeader(opts, 'authorization', `Bearer ${readFileSync(join(SA_DIR, 'token'), 'utf8').trim()}`);
    },
  };
}

async function fromKubeconfig(path: string): Promise<RestConfig> {
  const doc = parse(readFileSync(path, 'utf8')) as KubeconfigFile;
  const ctxName = doc['current-context'];
  const ctx = doc.contexts?.find((c) => c.name === ctxName)?.context;
  if (!ctx) throw new Error(`kubeconfig ${path}: no current context`);
  const cluster = doc.clusters?.find((c) => c.name === ctx.cluster)?.cluster;
  const user = doc.users?.find((u) => u.name === ctx.user)?.user ?? {};
  if (!cluster) throw new Error(`kubeconfig ${path}: cluster ${ctx.cluster} not found`);
  if (user.exec || user['auth-provider']) return viaClientNode(path, cluster.server);
  const base = dirname(path);
  const fileOrData = (file?: string, data?: string): Buffer | undefined =>
    data ? Buffer.from(data, 'base64') : file ? readFileSync(isAbsolute(file) ? file : join(base, file)) : undefined;
  const ca = fileOrData(cluster['certificate-authority'], cluster['certificate-authority-data']);
  const cert = fileOrData(user['client-certificate'], user['client-certificate-data']);
  const key = fileOrData(user['client-key'], user['client-key-data']);
  const tokenFile = user.tokenFile ? (isAbsolute(user.tokenFile) ? user.tokenFile : join(base, user.tokenFile)) : undefined;
  return {
    server: cluster.server,
    async applyTo(opts) {
      if (ca) opts.ca = ca;
      if (cert) opts.cert = cert;
      if (key) opts.key = key;
      if (cluster['insecure-skip-tls-verify']) opts.rejectUnauthorized = false;
      if (cluster['tls-server-name']) opts.servername = cluster['tls-server-name'];
      const token = user.token ?? (tokenFile ? readFileSync(tokenFile, 'utf8').trim() : undefined);
      if (token) setHeader(opts, 'authorization', `Bearer ${token}`);
      else if (user.username !== undefined) opts.auth = `${user.username}:${user.password ?? ''}`;
    },
  };
}

/** Exec and auth-provider users: let client-node run the plugin. */
async function viaClientNode(path: string, server: string): Promise<RestConfig> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return { server, applyTo: (opts) => kc.applyToHTTPSOptions(opts) };
}

function setHeader(opts: RequestOptions, name: string, value: string): void {
  opts.headers = { ...(opts.headers as Record<string, string> | undefined), [name]: value };
}
