// The duplicate check the netns tests and bench:dhcpd run on a lease log:
// replays its records and reports every address bound to a second client
// while the first still held it.

import { readFile } from 'node:fs/promises';

export interface BoundLeases {
  /** Address -> client, as the log leaves them. */
  byIp: Map<string, string>;
  /** "ip: client and other client", one per address given twice. */
  conflicts: string[];
  /** Bind records read. */
  binds: number;
}

export async function boundLeases(path: string): Promise<BoundLeases> {
  const byIp = new Map<string, string>();
  const conflicts: string[] = [];
  let binds = 0;
  const lines = (await readFile(path, 'utf8')).split('\n').filter(Boolean);
  for (const [i, line] of lines.entries()) {
    let r: { o: string; ip: string; c: string };
    try {
      r = JSON.parse(line) as typeof r;
    } catch (err) {
      // A torn last line (killed mid-write) is what the server skips too; anywhere else it is a bug.
      if (i === lines.length - 1) break;
      throw err;
    }
    if (r.o !== 'b') {
      byIp.delete(r.ip);
      continue;
    }
    binds++;
    const prev = byIp.get(r.ip);
    if (prev !== undefined && prev !== r.c) conflicts.push(`${r.ip}: ${prev} and ${r.c}`);
    byIp.set(r.ip, r.c);
  }
  return { byIp, conflicts, binds };
}
