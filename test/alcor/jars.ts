// Where Alcor's prebuilt jars are looked for. This repository never builds
// Alcor (its code stays out of the project): a user builds the MAC manager,
// the DPM and lib's common jar from Alcor's source by hand and puts them in
// $ALCOR_JARS, else ~/.cache/alcor-operator/alcor/jars/. When they are not
// there, every suite that needs them skips with the one line `missingReason`
// returns.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const ALCOR_JARS_ENV = 'ALCOR_JARS';

/** The commit of futurewei-cloud/alcor whose services this project is checked against. */
export const ALCOR_COMMIT = '21f11b5c';

/** ${XDG_CACHE_HOME:-~/.cache}/alcor-operator */
export function projectCacheDir(): string {
  return join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'alcor-operator');
}

export function alcorJarsDir(): string {
  return process.env[ALCOR_JARS_ENV] || join(projectCacheDir(), 'alcor', 'jars');
}

export interface AlcorJars {
  /** services/mac_manager/target/macmanager-0.1.0-SNAPSHOT.jar */
  macManager: string;
  /** services/data_plane_manager/target/dataplanemanager-0.1.0-SNAPSHOT.jar */
  dpm: string;
  /** lib/target/common-0.1.0-SNAPSHOT.jar: on Ignite's classpath, as in Alcor's lib/ignite.Dockerfile. */
  common: string;
}

const wanted: [keyof AlcorJars, string][] = [
  ['macManager', 'macmanager-'],
  ['dpm', 'dataplanemanager-'],
  ['common', 'common-'],
];

/** The three jars, or undefined when one is missing. */
export function findAlcorJars(dir = alcorJarsDir()): AlcorJars | undefined {
  if (!existsSync(dir)) return undefined;
  const names = readdirSync(dir).filter((n) => n.endsWith('.jar')).sort();
  const found: Partial<AlcorJars> = {};
  for (const [key, prefix] of wanted) {
    const name = names.find((n) => n.startsWith(prefix));
    if (name) found[key] = join(dir, name);
  }
  return found.macManager && found.dpm && found.common ? (found as AlcorJars) : undefined;
}

/** Major version of `java` on PATH, or undefined when there is none. */
export function javaMajorVersion(): number | undefined {
  try {
    // java -version writes to stderr.
    const m = /version "(\d+)(?:\.(\d+))?/.exec(execFileSync('sh', ['-c', 'java -version 2>&1'], { encoding: 'utf8' }));
    if (!m) return undefined;
    return m[1] === '1' ? Number(m[2]) : Number(m[1]);
  } catch {
    return undefined;
  }
}
