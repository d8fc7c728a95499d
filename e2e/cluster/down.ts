// `npm run cluster:down`: stops the cluster started by `npm run cluster:up`.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultClusterDir } from './state.ts';

const pidFile = join(defaultClusterDir(), 'up.pid');
if (!existsSync(pidFile)) {
  process.stdout.write('no local cluster is running\n');
  process.exit(0);
}
const pid = Number(readFileSync(pidFile, 'utf8'));
try {
  process.kill(pid, 'SIGTERM');
} catch {
  process.stdout.write(`cluster process ${pid} was already gone\n`);
  process.exit(0);
}
const deadline = Date.now() + 30_000;
while (Date.now() < deadline) {
  try {
    process.kill(pid, 0);
  } catch {
    process.stdout.write('local cluster stopped\n');
    process.exit(0);
  }
  await new Promise((r) => setTimeout(r, 100));
}
process.stderr.write(`cluster process ${pid} did not stop within 30s\n`);
process.exit(1);
