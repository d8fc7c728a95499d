// What this process last wrote to each object, so that a pass reading a cache
// that has not caught up with that write yet (the watch event is on its way)
// does not write the same thing again. A write is remembered with the
// resourceVersion the object had before it: while the cache still shows that
// version, the object is taken to hold what we wrote. Any other version (ours
// arrived, or someone else's) ends the memory, and the cache speaks again.

interface Write {
  /** resourceVersion the cache showed when we wrote (undefined: the object did not exist). */
  over: string | undefined;
  /** What we wrote (a hash or a stable text). */
  content: string;
  at: number;
}

/** A cache catches up within moments; a memory older than this (an object deleted since) is dropped. */
const FORGET_AFTER_MS = 60_000;

export class LastWrites {
  private readonly writes = new Map<string, Write>();
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  /** What we wrote to `key`, when the cache, at `cachedVersion`, has not seen it yet; undefined otherwise. */
  unseen(key: string, cachedVersion: string | undefined): string | undefined {
    const w = this.writes.get(key);
    if (!w) return undefined;
    if (w.over === cachedVersion) return w.content;
    this.writes.delete(key);
    return undefined;
  }

  record(key: string, over: string | undefined, content: string): void {
    const at = this.now();
    // Maps keep insertion order: the oldest first. Re-inserting keeps that true.
    this.writes.delete(key);
    this.writes.set(key, { over, content, at });
    for (const [k, w] of this.writes) {
      if (at - w.at < FORGET_AFTER_MS) break;
      this.writes.delete(k);
    }
  }

  forget(key: string): void {
    this.writes.delete(key);
  }
}
