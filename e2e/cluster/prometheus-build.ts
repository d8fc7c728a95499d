// prometheus and promtool, built from Go modules by build-prometheus.sh and
// cached by version (the first build takes a few minutes).
import { execFile } from 'node:child_process';
import { join } from 'node:path';

/** Directory holding `prometheus` and `promtool`: $PROMETHEUS_BIN_DIR, else the cached build. */
export function prometheusBinDir(): Promise<string> {
  const fromEnv = process.env['PROMETHEUS_BIN_DIR'];
  if (fromEnv) return Promise.resolve(fromEnv);
  return new Promise((resolve, reject) =>
    execFile('bash', [join(import.meta.dirname, 'build-prometheus.sh')], { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
      err ? reject(new Error(`e2e/cluster/build-prometheus.sh failed: ${stderr}`)) : resolve(stdout.trim().split('\n').at(-1) ?? ''),
    ),
  );
}
