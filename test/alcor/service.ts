// One of Alcor's Spring Boot services (MAC manager, DPM) run from its jar with
// an application.properties file exactly as given (what the operator renders
// into the ConfigMap), plus command-line overrides for what a local run must
// change. Spring Boot ranks command-line arguments above the file, so the file
// stays byte-for-byte the rendered one and the overrides are listed in one
// place, visible to the test that passes them.
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../e2e/cluster/net.ts';
import { startJvm, waitFor, type Jvm } from './jvm.ts';

export interface SpringServiceOptions {
  name: string;
  jar: string;
  /** The application.properties text, unchanged. */
  properties: string;
  /** `--key=value` arguments that take precedence over the file. server.port is added. */
  overrides: Record<string, string | number>;
  workDir: string;
  jvmFlags?: string[];
  bootTimeoutMs?: number;
}

export interface SpringService {
  name: string;
  jvm: Jvm;
  /** http://127.0.0.1:<port> */
  url: string;
  /** Every override passed on the command line, server.port included. */
  overrides: Record<string, string | number>;
  /** From spawn until /actuator/health answered UP. */
  bootMs: number;
  stop(): Promise<void>;
}

/**
 * Spring's start-up failures. The DPM does not exit after one (an Ignite
 * thin-client thread keeps the JVM up, without an HTTP port).
 */
export const START_FAILURE = /APPLICATION FAILED TO START|Could not resolve placeholder '[^']+'|IgniteClient is null/;

/** Starts the jar and waits until GET /actuator/health answers {"status":"UP"}. */
export async function startSpringService(o: SpringServiceOptions): Promise<SpringService> {
  mkdirSync(o.workDir, { recursive: true });
  const file = join(o.workDir, 'application.properties');
  writeFileSync(file, o.properties);
  const port = await freePort();
  const overrides = { 'server.address': '127.0.0.1', 'server.port': port, ...o.overrides };
  const jvm = startJvm({
    jvmFlags: o.jvmFlags ?? [],
    args: ['-jar', o.jar, `--spring.config.location=${file}`, ...Object.entries(overrides).map(([k, v]) => `--${k}=${v}`)],
    // The DPM writes ./timestamp.log: keep it in the work directory.
    cwd: o.workDir,
    logFile: join(o.workDir, `${o.name}.log`),
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(`${o.name} /actuator/health UP`, jvm, () => healthUp(url), o.bootTimeoutMs ?? 180_000, START_FAILURE);
  } catch (err) {
    await jvm.stop();
    throw err;
  }
  return { name: o.name, jvm, url, overrides, bootMs: jvm.elapsedMs(), stop: () => jvm.stop() };
}

/** The body of /actuator/health, e.g. {"status":"UP"}. */
export async function health(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`${url}/actuator/health`, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: await res.text() };
}

async function healthUp(url: string): Promise<true | undefined> {
  const h = await health(url);
  return h.status === 200 && (JSON.parse(h.body) as { status?: string }).status === 'UP' ? true : undefined;
}
