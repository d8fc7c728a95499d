import { Agent as HttpsAgent, request as httpsRequest, type RequestOptions } from 'node:https';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { RestConfig } from './restconfig.ts';

// A small Kubernetes REST client: exactly the requests the operator, macd,
// dhcpd and kubectl-alcor need (get, list, watch, server-side apply, status
// apply, merge patch, delete, create, update, a streamed body), over one
// keep-alive agent, each counted in client-go's `rest_client_requests_total`
// when the caller passes that counter (prom-client is not loaded here: the
// kubectl plugin starts faster without it).

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: OwnerReference[];
    creationTimestamp?: string;
    deletionTimestamp?: string;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectList<T = KubeObject> {
  metadata: { resourceVersion: string; continue?: string };
  items: T[];
}

export class ApiError extends Error {
  readonly status: number;
  readonly reason: string;
  readonly body: string;
  constructor(method: string, path: string, status: number, body: string) {
    let reason = '';
    let message = body;
    try {
      const parsed = JSON.parse(body) as { reason?: string; message?: string };
      reason = parsed.reason ?? '';
      message = parsed.message ?? body;
    } catch {
      // not a Status object
    }
    super(`${method} ${path}: ${status} ${message}`);
    this.status = status;
    this.reason = reason;
    this.body = body;
  }
}

export const FIELD_MANAGER = 'alcor-operator';

const WRITE_VERBS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Counts requests by status code, method and host (rest_client_requests_total, see runtime/metrics.ts). */
export interface RequestCounter {
  inc(labels: { code: string; method: string; host: string }): void;
}

const uncounted: RequestCounter = { inc: () => {} };

/** Observes how long a request waited for the client-side rate limit (rest_client_rate_limiter_duration_seconds). */
export interface RateLimiterObserver {
  observe(labels: { verb: string; host: string }, seconds: number): void;
}

export interface KubeClientOptions {
  requests?: RequestCounter;
  /** Requests per second shared by all callers (client-go's QPS); 0 = unlimited. */
  qps?: number;
  burst?: number;
  rateLimiterWait?: RateLimiterObserver;
}

export class KubeClient {
  readonly server: string;
  /** host:port of the server, as metrics label it. */
  private readonly host: string;
  private readonly config: RestConfig;
  private readonly agent: HttpsAgent | HttpAgent;
  private readonly isHttps: boolean;
  private readonly requests: RequestCounter;
  /** Writes made by this client (tests and benchmarks read it). */
  writes = 0;
  /** Seconds requests spent waiting for the rate limit, summed, and the requests that passed it (benchmarks read them). */
  throttledSeconds = 0;
  requestsMade = 0;
  private readonly rateLimiterWait: RateLimiterObserver | undefined;
  private tokens: number;
  private readonly qps: number;
  private readonly burst: number;
  private lastRefill = Date.now();

  constructor(config: RestConfig, opts: KubeClientOptions = {}) {
    this.config = config;
    this.server = config.server.replace(/\/$/, '');
    this.host = new URL(this.server).host;
    this.isHttps = this.server.startsWith('https:');
    this.agent = this.isHttps ? new HttpsAgent({ keepAlive: true, maxSockets: 64 }) : new HttpAgent({ keepAlive: true, maxSockets: 64 });
    this.requests = opts.requests ?? uncounted;
    this.qps = opts.qps ?? 0;
    this.burst = opts.burst ?? Math.max(1, this.qps * 2);
    this.tokens = this.burst;
    this.rateLimiterWait = opts.rateLimiterWait;
  }

  /**
   * client-go style token bucket, so a burst of reconciles can't flood the
   * API server. Each request reserves the next token as it arrives (the
   * bucket may go below zero; x/time/rate's Reserve): requests leave in the
   * order they came, so a status write queued behind a burst waits for that
   * burst only, never for requests that came after it.
   */
  private async throttle(verb: string): Promise<void> {
    if (this.qps <= 0) return;
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.lastRefill) / 1000) * this.qps);
    this.lastRefill = now;
    this.tokens -= 1;
    const waitMs = this.tokens >= 0 ? 0 : (-this.tokens / this.qps) * 1000;
    if (waitMs > 0) await new Promise((r) => setTimeout(r, Math.ceil(waitMs)));
    this.throttledSeconds += waitMs / 1000;
    this.requestsMade++;
    this.rateLimiterWait?.observe({ verb, host: this.host }, waitMs / 1000);
  }

  private async open(method: string, path: string, headers: Record<string, string>, timeoutMs: number): Promise<{ opts: RequestOptions; url: URL }> {
    const url = new URL(this.server + path);
    const opts: RequestOptions = { method, headers: { accept: 'application/json', ...headers }, agent: this.agent, timeout: timeoutMs };
    await this.config.applyTo(opts);
    return { opts, url };
  }

  /** One request; resolves with the status and body (never throws on HTTP status). */
  async raw(method: string, path: string, body?: string, contentType?: string, timeoutMs = 30_000): Promise<{ status: number; body: string }> {
    await this.throttle(method);
    const headers: Record<string, string> = contentType ? { 'content-type': contentType } : {};
    const { opts, url } = await this.open(method, path, headers, timeoutMs);
    if (WRITE_VERBS.has(method)) this.writes++;
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = (this.isHttps ? httpsRequest : httpRequest)(url, opts, (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
      req.on('error', reject);
      if (body !== undefined) req.end(body);
      else req.end();
    }).catch((err: unknown) => {
      this.requests.inc({ code: '<error>', method, host: url.host });
      throw err;
    });
    this.requests.inc({ code: String(res.status), method, host: url.host });
    return res;
  }

  /**
   * One request whose answer is read as a stream (a backup of millions of
   * lines is never held whole); the body may be a stream too. Resolves once
   * the status line arrived, whatever the status.
   */
  async stream(method: string, path: string, body?: string | Buffer | Readable, contentType?: string, timeoutMs = 0): Promise<IncomingMessage> {
    await this.throttle(method);
    const headers: Record<string, string> = contentType ? { 'content-type': contentType } : {};
    const { opts, url } = await this.open(method, path, headers, timeoutMs);
    if (WRITE_VERBS.has(method)) this.writes++;
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = (this.isHttps ? httpsRequest : httpRequest)(url, opts, (res: IncomingMessage) => {
        this.requests.inc({ code: String(res.statusCode ?? 0), method, host: url.host });
        resolve(res);
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
      req.on('error', (err) => {
        this.requests.inc({ code: '<error>', method, host: url.host });
        reject(err);
      });
      if (body === undefined || typeof body === 'string' || Buffer.isBuffer(body)) req.end(body);
      else {
        body.on('error', (err) => req.destroy(err));
        body.pipe(req);
      }
    });
  }

  async json<T>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    const res = await this.raw(method, path, body === undefined ? undefined : JSON.stringify(body), body === undefined ? undefined : contentType);
    if (res.status < 200 || res.status >= 300) throw new ApiError(method, path, res.status, res.body);
    return JSON.parse(res.body) as T;
  }

  get<T = KubeObject>(path: string): Promise<T> {
    return this.json<T>('GET', path);
  }

  /** Returns undefined for 404. */
  async getOptional<T = KubeObject>(path: string): Promise<T | undefined> {
    try {
      return await this.get<T>(path);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  /** Server-side apply with our one field manager; force takes over fields others set. */
  apply<T = KubeObject>(path: string, obj: object): Promise<T> {
    return this.json<T>('PATCH', `${path}?fieldManager=${FIELD_MANAGER}&force=true`, obj, 'application/apply-patch+yaml');
  }

  /** A JSON merge patch (RFC 7386): only the fields it names change. */
  mergePatch<T = KubeObject>(path: string, patch: object): Promise<T> {
    return this.json<T>('PATCH', path, patch, 'application/merge-patch+json');
  }

  create<T = KubeObject>(path: string, obj: object): Promise<T> {
    return this.json<T>('POST', path, obj);
  }

  update<T = KubeObject>(path: string, obj: object): Promise<T> {
    return this.json<T>('PUT', path, obj);
  }

  /**
   * Starts a watch; calls onEvent per line. Resolves when the server ends the
   * stream; rejects on transport errors or a non-200 answer (ApiError, e.g. 410).
   */
  async watch(path: string, onEvent: (event: { type: string; object: KubeObject }) => void, signal?: AbortSignal): Promise<void> {
    await this.throttle('WATCH');
    const { opts, url } = await this.open('GET', path, {}, 0);
    opts.timeout = 0;
    await new Promise<void>((resolve, reject) => {
      const req = (this.isHttps ? httpsRequest : httpRequest)(url, opts, (res: IncomingMessage) => {
        this.requests.inc({ code: String(res.statusCode ?? 0), method: 'WATCH', host: url.host });
        if (res.statusCode !== 200) {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => reject(new ApiError('WATCH', path, res.statusCode ?? 0, body)));
          return;
        }
        let buffered = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffered += chunk;
          let nl: number;
          while ((nl = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, nl);
            buffered = buffered.slice(nl + 1);
            if (!line.trim()) continue;
            try {
              onEvent(JSON.parse(line) as { type: string; object: KubeObject });
            } catch (err) {
              req.destroy(err instanceof Error ? err : new Error(String(err)));
              return;
            }
          }
        });
        res.on('end', () => resolve());
        res.on('error', reject);
        res.on('aborted', () => reject(new Error(`watch ${path} aborted`)));
      });
      req.on('error', reject);
      signal?.addEventListener('abort', () => req.destroy(new Error('watch stopped')), { once: true });
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** A resource type the operator reads or writes. */
export interface ResourceType {
  group: string; // '' for the core group
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

export function apiVersionOf(t: ResourceType): string {
  return t.group ? `${t.group}/${t.version}` : t.version;
}

/** REST path of a collection (namespace undefined: all namespaces) or of one object. */
export function resourcePath(t: ResourceType, namespace?: string, name?: string): string {
  const base = t.group ? `/apis/${t.group}/${t.version}` : `/api/${t.version}`;
  const ns = t.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${base}${ns}/${t.plural}${name ? `/${encodeURIComponent(name)}` : ''}`;
}
