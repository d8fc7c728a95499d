// Compiles the ICMP echo helper of `dhcpd` (src/dhcpd/ping/icmp-probe.c) with
// gcc. `npm run build:icmp-helper` writes libexec/alcor-icmp-probe, where the
// server looks by default (the image puts it there too); tests build it into
// a cache directory keyed by the source, so an edit rebuilds it.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';

const root = join(import.meta.dirname, '..');
export const icmpHelperSource = join(root, 'src/dhcpd/ping/icmp-probe.c');

/** Compiles the helper to `out` (static: no shared libraries, as the image needs). */
export function compileIcmpHelper(out: string, opts: { static?: boolean } = {}): string {
  mkdirSync(dirname(out), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  execFileSync('gcc', ['-O2', '-Wall', '-Wextra', '-Werror', ...(opts.static ? ['-static', '-s'] : []), '-o', tmp, icmpHelperSource], { stdio: ['ignore', 'inherit', 'inherit'] });
  renameSync(tmp, out);
  return out;
}

/** The helper built from the current source, in node_modules/.cache (built when missing). */
export function cachedIcmpHelper(): string {
  const hash = createHash('sha256').update(readFileSync(icmpHelperSource)).digest('hex').slice(0, 16);
  const out = join(root, 'node_modules/.cache/alcor-icmp-probe', hash, 'alcor-icmp-probe');
  return existsSync(out) ? out : compileIcmpHelper(out);
}

if (import.meta.main) {
  const out = compileIcmpHelper(join(root, 'libexec/alcor-icmp-probe'), { static: process.argv.includes('--static') });
  process.stdout.write(`wrote ${out}\n`);
}
