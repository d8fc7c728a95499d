// Alcor's real services on this machine, from prebuilt jars (test/alcor/jars.ts)
// and Ignite 2.10 from Maven Central: start Ignite, boot the MAC manager and
// the DPM each with an application.properties exactly as the operator renders
// it, wait for /actuator/health UP, measure boot time and RSS, stop them all.
// Used by `npm run test:alcor`, and meant for side-by-side runs (macd against
// Alcor's MAC manager) and benchmarks.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../e2e/cluster/net.ts';
import { igniteAvailable, startIgnite, type IgniteNode } from './ignite.ts';
import { ALCOR_COMMIT, ALCOR_JARS_ENV, alcorJarsDir, findAlcorJars, javaMajorVersion, type AlcorJars } from './jars.ts';
import { startSpringService, type SpringService } from './service.ts';

export type { SpringService } from './service.ts';
export type { IgniteNode } from './ignite.ts';

/**
 * The only changes a local run makes to a rendered file, as command-line
 * overrides: loopback ports (in a pod they are the pod's own), and Ignite's
 * address as Alcor resolves it. In Kubernetes, Alcor looks up the Endpoints of
 * ignite.kubeServiceName and connects to port 10800 of each pod; here Ignite
 * runs on loopback, which Alcor reaches only with ignite.host=localhost and
 * ignite.port.
 */
export async function localOverrides(service: 'macmanager' | 'dpm', ignite: IgniteNode): Promise<Record<string, string | number>> {
  const igniteAddress = { 'ignite.host': 'localhost', 'ignite.port': ignite.thinClientPort };
  if (service === 'macmanager') return igniteAddress;
  return { ...igniteAddress, 'dataplane.grpc.port': await freePort(), 'dataplane.grpc.topic-port': await freePort() };
}

export interface AlcorStack {
  jars: AlcorJars;
  ignite: IgniteNode;
  workDir: string;
  /** Boots one service with the given rendered application.properties; stopped by stop(). */
  boot(service: 'macmanager' | 'dpm', properties: string, name?: string): Promise<SpringService>;
  stop(): Promise<void>;
}

/** Starts Ignite and returns a stack that boots services on it. Throws with missingReason() when the jars are absent. */
export async function startAlcorStack(o: { log?: (line: string) => void; igniteHeap?: string } = {}): Promise<AlcorStack> {
  const reason = missingReason();
  if (reason) throw new Error(reason);
  const jars = findAlcorJars()!;
  const workDir = mkdtempSync(join(tmpdir(), 'alcor-real-'));
  const ignite = await startIgnite({ workDir: join(workDir, 'ignite'), commonJar: jars.common, ...(o.igniteHeap ? { heap: o.igniteHeap } : {}), ...(o.log ? { log: o.log } : {}) });
  const services: SpringService[] = [];
  return {
    jars,
    ignite,
    workDir,
    async boot(service, properties, name = service) {
      const s = await startSpringService({
        name,
        jar: service === 'macmanager' ? jars.macManager : jars.dpm,
        properties,
        overrides: await localOverrides(service, ignite),
        workDir: join(workDir, name),
      });
      services.push(s);
      return s;
    },
    async stop() {
      await Promise.all(services.map((s) => s.stop()));
      await ignite.stop();
      if (!process.env['ALCOR_KEEP_LOGS']) rmSync(workDir, { recursive: true, force: true });
    },
  };
}

/**
 * One line saying what is missing to run Alcor's real services here, or
 * undefined when everything is present.
 */
export function missingReason(): string | undefined {
  const dir = alcorJarsDir();
  if (!findAlcorJars(dir)) {
    return (
      `Alcor's jars not found: put macmanager-*.jar, dataplanemanager-*.jar and common-*.jar, built from futurewei-cloud/alcor ` +
      `${ALCOR_COMMIT} (see docs/alcor.md), in ${dir} or set ${ALCOR_JARS_ENV}`
    );
  }
  const java = javaMajorVersion();
  if (java === undefined || java < 17) return `JDK 17 or newer not found on PATH (java -version): Alcor's services and Ignite need it`;
  if (!igniteAvailable()) return `Apache Ignite's jars are not cached and Maven (mvn) is missing to fetch them from Maven Central`;
  return undefined;
}

export const MiB = 1024 * 1024;
