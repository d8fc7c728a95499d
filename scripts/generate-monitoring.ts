// Writes the Prometheus rules file, the chart's PrometheusRule template and
// the Grafana dashboard (repository and chart copies) from src/monitoring.
// Run after changing an alert or a panel: `npm run generate:monitoring`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { monitoringFiles } from '../src/monitoring/files.ts';

const root = join(import.meta.dirname, '..');
for (const [path, text] of monitoringFiles()) {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), text);
  process.stdout.write(`wrote ${path}\n`);
}
