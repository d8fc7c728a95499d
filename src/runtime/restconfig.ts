import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import type { RequestOptions } from 'node:https';
import { parse, stringify } from 'yaml';
import { execCredential, type ExecConfig } from './exec-credential.ts';

// Where the API server is and how to authenticate, read the way kubectl and
// controller-runtime do: --kubeconfig, else $KUBECONFIG (a list of files,
// merged as kubectl merges them), else the in-cluster service account, else
// ~/.kube/config. The one kubeconfig loader, of the operator, macd and dhcpd.
// Certificates, bearer tokens and exec credential plugins are handled here;
// only a kubeconfig whose user needs a (deprecated) auth-provider loads
// @kubernetes/client-node (about 90 MiB of RSS and over a second of start a
// process otherwise doesn't pay).

export interface RestConfig {
  server: string;
  /** The namespace of the context used (kubeconfig), or of the pod (in cluster); undefined when neither says. */
  namespace?: string;
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
    exec?: ExecConfig;
    'auth-provider'?: unknown;
  };
}
interface KubeconfigFile {
  'current-context'?: string;
  contexts?: { name: string; context: { cluster: string; user: string; namespace?: string } }[];
  clusters?: NamedCluster[];
  users?: NamedUser[];
}

export interface LoadOptions {
  /** A context of the kubeconfig other than its current-context (kubectl's --context). */
  context?: string;
}

export async function loadRestConfig(file?: string, opts: LoadOptions = {}): Promise<RestConfig> {
  if (file) return fromKubeconfig(readKubeconfig([file]), opts.context);
  const env = process.env['KUBECONFIG'];
  if (env) return fromKubeconfig(readKubeconfig(env.split(delimiter), { skipMissing: true }), opts.context);
  if (process.env['KUBERNETES_SERVICE_HOST'] && opts.context === undefined) return inCluster();
  return fromKubeconfig(readKubeconfig([join(homedir(), '.kube', 'config')]), opts.context);
}

/** A kubeconfig merged from one or more files, its relative paths made absolute. */
export interface Kubeconfig extends KubeconfigFile {
  /** The files it was read from (for messages). */
  sources: string[];
}

/**
 * Reads kubeconfig files and merges them the way kubectl merges a $KUBECONFIG
 * list: the first file to set current-context wins, and so does the first to
 * define a context, cluster or user of a given name; a path inside a file is
 * relative to that file. With `skipMissing`, files that don't exist are
 * skipped (an error only when none does), as kubectl does for the list.
 */
export function readKubeconfig(paths: string[], opts: { skipMissing?: boolean } = {}): Kubeconfig {
  const merged: Kubeconfig = { sources: [], contexts: [], clusters: [], users: [] };
  const wanted = [...new Set(paths.filter((p) => p !== ''))];
  for (const path of wanted) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      if (opts.skipMissing && (err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    const doc = (parse(text) ?? {}) as KubeconfigFile;
    const base = dirname(resolve(path));
    const abs = (p: string | undefined): string | undefined => (p === undefined || p === '' || isAbsolute(p) ? p : join(base, p));
    merged.sources.push(path);
    merged['current-context'] ||= doc['current-context'];
    const add = <T extends { name: string }>(into: T[], items: T[] | undefined, fix: (item: T) => T): void => {
      for (const item of items ?? []) if (!into.some((x) => x.name === item.name)) into.push(fix(item));
    };
    add(merged.contexts!, doc.contexts, (c) => c);
    add(merged.clusters!, doc.clusters, (c) => ({ ...c, cluster: { ...c.cluster, 'certificate-authority': abs(c.cluster['certificate-authority']) } }));
    add(merged.users!, doc.users, (u) => ({
      ...u,
      user: {
        ...u.user,
        'client-certificate': abs(u.user['client-certificate']),
        'client-key': abs(u.user['client-key']),
        tokenFile: abs(u.user.tokenFile),
        // kubectl resolves an exec command only when it is a path, not a name looked up in $PATH.
        ...(u.user.exec?.command?.includes('/') ? { exec: { ...u.user.exec, command: abs(u.user.exec.command) } } : {}),
      },
    }));
  }
  if (merged.sources.length === 0) throw new Error(`kubeconfig: none of ${wanted.join(', ') || '(no paths)'} exists`);
  return merged;
}

function inCluster(): RestConfig {
  const host = process.env['KUBERNETES_SERVICE_HOST']!;
  const port = process.env['KUBERNETES_SERVICE_PORT'] ?? '443';
  const ca = readFileSync(join(SA_DIR, 'ca.crt'));
  let namespace: string | undefined;
  try {
    namespace = readFileSync(join(SA_DIR, 'namespace'), 'utf8').trim();
  } catch {
    // Not mounted: callers fall back to their default.
  }
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    ...(namespace ? { namespace } : {}),
    async applyTo(opts) {
      opts.ca = ca;
      // Projected tokens rotate: read the file on every request, as client-go does (it caches for a minute).
      setHeader(opts, 'authorization', `Bearer ${readFileSync(join(SA_DIR, 'token'), 'utf8').trim()}`);
    },
  };
}

function fromKubeconfig(kc: Kubeconfig, contextName?: string): RestConfig {
  const where = `kubeconfig ${kc.sources.join(delimiter)}`;
  const ctxName = contextName ?? kc['current-context'];
  const ctx = kc.contexts?.find((c) => c.name === ctxName)?.context;
  if (!ctx) throw new Error(contextName !== undefined ? `${where}: context "${contextName}" not found` : `${where}: no current context`);
  const namespace = ctx.namespace || undefined;
  const cluster = kc.clusters?.find((c) => c.name === ctx.cluster)?.cluster;
  const user = kc.users?.find((u) => u.name === ctx.user)?.user ?? {};
  if (!cluster) throw new Error(`${where}: cluster ${ctx.cluster} not found`);
  if (user['auth-provider']) return { ...viaClientNode(kc, ctxName!, cluster.server), ...(namespace ? { namespace } : {}) };
  const exec = user.exec ? execCredential(user.exec) : undefined;
  const fileOrData = (file?: string, data?: string): Buffer | undefined => (data ? Buffer.from(data, 'base64') : file ? readFileSync(file) : undefined);
  const ca = fileOrData(cluster['certificate-authority'], cluster['certificate-authority-data']);
  const cert = fileOrData(user['client-certificate'], user['client-certificate-data']);
  const key = fileOrData(user['client-key'], user['client-key-data']);
  return {
    server: cluster.server,
    ...(namespace ? { namespace } : {}),
    async applyTo(opts) {
      if (ca) opts.ca = ca;
      if (cert) opts.cert = cert;
      if (key) opts.key = key;
      if (cluster['insecure-skip-tls-verify']) opts.rejectUnauthorized = false;
      if (cluster['tls-server-name']) opts.servername = cluster['tls-server-name'];
      const fromExec = exec ? await exec() : undefined;
      if (fromExec?.clientCertificateData) {
        opts.cert = fromExec.clientCertificateData;
        opts.key = fromExec.clientKeyData;
      }
      const token = fromExec?.token ?? user.token ?? (user.tokenFile ? readFileSync(user.tokenFile, 'utf8').trim() : undefined);
      if (token) setHeader(opts, 'authorization', `Bearer ${token}`);
      else if (user.username !== undefined) opts.auth = `${user.username}:${user.password ?? ''}`;
    },
  };
}

/** auth-provider users (gcp, azure, oidc: deprecated in kubectl): let client-node run the provider, on the same merged config. */
function viaClientNode(config: Kubeconfig, context: string, server: string): RestConfig {
  const { sources: _sources, ...doc } = config;
  const loaded = import('@kubernetes/client-node').then(({ KubeConfig }) => {
    const kc = new KubeConfig();
    kc.loadFromString(stringify({ ...doc, 'current-context': context }));
    return kc;
  });
  return { server, applyTo: async (opts) => (await loaded).applyToHTTPSOptions(opts) };
}

function setHeader(opts: RequestOptions, name: string, value: string): void {
  opts.headers = { ...(opts.headers as Record<string, string> | undefined), [name]: value };
}
