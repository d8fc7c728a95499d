import { homedir } from 'node:os';
import { join } from 'node:path';

/** Where `npm run cluster:up` keeps its cluster: one per user, found again by cluster:down. */
export function defaultClusterDir(): string {
  const cache = process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache');
  return join(cache, 'alcor-operator', 'cluster');
}
