// `npm run demo:down`: stops the demo's operator and its local cluster.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultClusterDir } from '../e2e/cluster/state.ts';

const dir = defaultClusterDir();
const pidFile = join(dir, 'operator.pid');
if (existsSync(pidFile)) {
  try {
    process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGTERM');
    process.stdout.write('[demo] operator stopped\n');
  } catch {
    // already gone
  }
}
execFileSync(process.execPath, [join(import.meta.dirname, '..', 'e2e/cluster/down.ts')], { stdio: 'inherit' });
