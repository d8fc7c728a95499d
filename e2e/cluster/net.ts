import { createServer } from 'node:net';
import { request } from 'node:https';
import type { ChildProcess } from 'node:child_process';

export interface TlsClient {
  ca: string;
  cert: string;
  key: string;
}

/** A free TCP port on loopback (bound then released: good enough for tests). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface JsonResponse {
  status: number;
  text: string;
  json: unknown;
}

/** One HTTPS request with the admin client certificate. */
export function httpsJson(tls: TlsClient, method: string, url: string, body?: unknown, contentType = 'application/json'): Promise<JsonResponse> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const req = request(
      url,
      {
        method,
        ca: tls.ca,
        cert: tls.cert,
        key: tls.key,
        headers: { accept: 'application/json', ...(payload ? { 'content-type': contentType } : {}) },
        timeout: 10_000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          let json: unknown = undefined;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, text, json });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: timed out`)));
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

/**
 * Polls `check` until it returns true. Fails early when `proc` exits, and
 * with `diagnostics()` (a log tail) in the message on time-out.
 */
export async function waitFor(
  what: string,
  timeoutMs: number,
  proc: ChildProcess | undefined,
  diagnostics: () => string,
  check: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  while (Date.now() < deadline) {
    if (proc && (proc.exitCode !== null || proc.signalCode !== null)) {
      throw new Error(`waiting for ${what}: process exited (${proc.exitCode ?? proc.signalCode})\n${diagnostics()}`);
    }
    try {
      if (await check()) return;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what} ${lastError}\n${diagnostics()}`);
}
