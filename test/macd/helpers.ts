import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/process/log.ts';
import { startMacd, type Macd } from '../../src/macd/server.ts';

export const quietLog = createLogger('macd-test', 'silent');

export function tempDir(prefix = 'macd-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function startTestMacd(opts: { dataDir?: string; configFile?: string; snapshotBytes?: number } = {}): Promise<Macd & { url: string; dataDir: string }> {
  const dataDir = opts.dataDir ?? tempDir();
  const m = await startMacd({ host: '127.0.0.1', port: 0, dataDir, configFile: opts.configFile, log: quietLog, snapshotBytes: opts.snapshotBytes });
  return Object.assign(m, { url: `http://127.0.0.1:${m.port}`, dataDir });
}

export async function call(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(base + path, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}
