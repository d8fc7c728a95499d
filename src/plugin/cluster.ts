// kubectl-alcor's way to the cluster: the project's kubeconfig loader and
// REST client (no @kubernetes/client-node: a CLI must start fast), the
// resources it reads, and the servers' APIs through the API server's service
// proxy, whose answers it turns into one-line errors.

import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { DhcpSubnet, MacPool } from '../api/index.ts';
import { readErrorBody } from '../api/http-error.ts';
import { ApiError, KubeClient } from '../runtime/client.ts';
import { loadRestConfig } from '../runtime/restconfig.ts';
import { serviceProxyPath } from '../api/services.ts';

/** A refusal or failure to print as one line (exit code 1). */
export class PluginError extends Error {
  /** Lines printed after the message (an import's conflicts). */
  readonly details: string[];
  constructor(message: string, details: string[] = []) {
    super(message);
    this.details = details;
  }
}

export interface ConnectOptions {
  kubeconfig?: string | undefined;
  context?: string | undefined;
  namespace?: string | undefined;
  allNamespaces?: boolean | undefined;
}

export interface Connection {
  client: KubeClient;
  /** -n, else the context's namespace, else "default". */
  namespace: string;
  /** -A: every namespace. */
  all: boolean;
}

export async function connect(o: ConnectOptions): Promise<Connection> {
  const config = await loadRestConfig(o.kubeconfig, o.context !== undefined ? { context: o.context } : {});
  return { client: new KubeClient(config), namespace: o.namespace ?? config.namespace ?? 'default', all: o.allNamespaces === true };
}

const GROUP_PATH = '/apis/alcor.dev/v1alpha1';

/** Objects of one of our kinds in the connection's namespace, or in all with -A. */
async function listKind<T>(c: Connection, plural: string, all: boolean): Promise<T[]> {
  const path = all ? `${GROUP_PATH}/${plural}` : `${GROUP_PATH}/namespaces/${encodeURIComponent(c.namespace)}/${plural}`;
  try {
    return (await c.client.get<{ items: T[] }>(path)).items;
  } catch (err) {
    throw kubeError(err, plural);
  }
}

export const listPools = (c: Connection, all = c.all): Promise<MacPool[]> => listKind<MacPool>(c, 'macpools', all);
export const listSubnets = (c: Connection, all = c.all): Promise<DhcpSubnet[]> => listKind<DhcpSubnet>(c, 'dhcpsubnets', all);

/** One object, or undefined when it does not exist. */
export async function getObject<T>(c: Connection, plural: string, name: string, namespace = c.namespace): Promise<T | undefined> {
  try {
    return await c.client.getOptional<T>(`${GROUP_PATH}/namespaces/${encodeURIComponent(namespace)}/${plural}/${encodeURIComponent(name)}`);
  } catch (err) {
    throw kubeError(err, plural);
  }
}

/** An API server refusal as one line: its own message ("... is forbidden: User ... cannot list ..."). */
export function kubeError(err: unknown, what: string): PluginError {
  if (err instanceof ApiError) {
    if (err.status === 404 && err.reason === 'NotFound' && /the server could not find the requested resource/.test(err.body)) {
      return new PluginError(`the server does not know ${what} (are the alcor-operator CRDs installed?)`);
    }
    return new PluginError(statusMessage(err.status, err.body) ?? err.message);
  }
  return new PluginError(err instanceof Error ? err.message : String(err));
}

/** The message of a Kubernetes Status body, if the text is one. */
function statusMessage(status: number, text: string): string | undefined {
  try {
    const s = JSON.parse(text) as { kind?: string; message?: string };
    if (s.kind === 'Status' && typeof s.message === 'string') return status === 503 && /no endpoints available/.test(s.message) ? `${s.message} (no ready replica)` : s.message;
  } catch {
    // not JSON
  }
  return undefined;
}

/** Where a server's API is: a Service and the name of its port. */
export interface Target {
  namespace: string;
  service: string;
  port: string;
}

export interface ProxyAnswer {
  status: number;
  body: string;
}

/** One request to a server through the API server's service proxy. */
export async function proxy(c: Connection, t: Target, method: string, path: string, body?: string, contentType?: string): Promise<ProxyAnswer> {
  try {
    return await c.client.raw(method, serviceProxyPath(t.namespace, t.service, t.port, path), body, contentType ?? (body === undefined ? undefined : 'application/json'), 300_000);
  } catch (err) {
    throw new PluginError(`service ${t.namespace}/${t.service}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** A streamed answer (an export); a refusal is read whole and thrown. */
export async function proxyStream(c: Connection, t: Target, method: string, path: string, body?: Readable | string, contentType?: string): Promise<IncomingMessage> {
  let res: IncomingMessage;
  try {
    res = await c.client.stream(method, serviceProxyPath(t.namespace, t.service, t.port, path), body, contentType);
  } catch (err) {
    throw new PluginError(`service ${t.namespace}/${t.service}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (res.statusCode !== 200) {
    let text = '';
    for await (const chunk of res as AsyncIterable<Buffer>) text += chunk.toString('utf8');
    throw answerError(t, { status: res.statusCode ?? 0, body: text });
  }
  return res;
}

/**
 * A server's refusal (its error shape: the message, and the items it lists)
 * or the API server's (a Status: forbidden, no endpoints, not reachable).
 */
export function answerError(t: Target, a: ProxyAnswer): PluginError {
  const status = statusMessage(a.status, a.body);
  if (status !== undefined) return new PluginError(status);
  const e = readErrorBody(a.body);
  if (e) return new PluginError(e.message, e.details ?? []);
  return new PluginError(`service ${t.namespace}/${t.service} answered HTTP ${a.status}: ${a.body.trim().split('\n')[0]?.slice(0, 200) ?? ''}`);
}

/** The JSON of a 2xx answer, else the refusal thrown. */
export function answerJson<T>(t: Target, a: ProxyAnswer): T {
  if (a.status < 200 || a.status >= 300) throw answerError(t, a);
  try {
    return JSON.parse(a.body) as T;
  } catch {
    throw new PluginError(`service ${t.namespace}/${t.service} answered something that is not JSON: ${a.body.slice(0, 200)}`);
  }
}
