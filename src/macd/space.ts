// Which MACs are allocated: one bit per address over the whole 48-bit MAC
// space, in pages of 65,536 addresses (8 KiB) created on first use. Ranges
// are views over it, so a MAC inside two overlapping ranges has one bit and
// can never be handed out twice. A filled 16M range costs 2 MiB; a small
// range elsewhere costs only the pages it touches. Each page counts its set
// bits, so full pages are skipped in O(1) and counts over large spans are
// sums of page counts.

export const PAGE_SIZE = 65_536;
/** Uint32 words per page. */
export const PAGE_WORDS = PAGE_SIZE / 32;
const WORDS = PAGE_WORDS;

export interface Page {
  readonly words: Uint32Array;
  count: number;
}

export class AddressSpace {
  private readonly pages = new Map<number, Page>();
  /** Allocated MACs in the whole space. */
  allocated = 0;

  has(mac: number): boolean {
    const pi = Math.floor(mac / PAGE_SIZE);
    const p = this.pages.get(pi);
    if (!p) return false;
    const off = mac - pi * PAGE_SIZE;
    return (p.words[off >>> 5]! & (1 << (off & 31))) !== 0;
  }

  /** Marks a MAC allocated; the caller checked it was free. */
  set(mac: number): void {
    const pi = Math.floor(mac / PAGE_SIZE);
    let p = this.pages.get(pi);
    if (!p) this.pages.set(pi, (p = { words: new Uint32Array(WORDS), count: 0 }));
    const off = mac - pi * PAGE_SIZE;
    p.words[off >>> 5]! |= 1 << (off & 31);
    p.count++;
    this.allocated++;
  }

  /** Marks a MAC free; the caller checked it was allocated. */
  clear(mac: number): void {
    const pi = Math.floor(mac / PAGE_SIZE);
    const p = this.pages.get(pi)!;
    const off = mac - pi * PAGE_SIZE;
    p.words[off >>> 5]! &= ~(1 << (off & 31));
    p.count--;
    this.allocated--;
  }

  /** The first free MAC in [from, to] (inclusive), or -1. Missing pages are all free; full pages are skipped whole. */
  nextClear(from: number, to: number): number {
    let a = from;
    while (a <= to) {
      const pi = Math.floor(a / PAGE_SIZE);
      const base = pi * PAGE_SIZE;
      const p = this.pages.get(pi);
      if (!p) return a;
      if (p.count < PAGE_SIZE) {
        const r = nextClearIn(p.words, a - base, Math.min(to, base + PAGE_SIZE - 1) - base);
        if (r >= 0) return base + r;
      }
      a = base + PAGE_SIZE;
    }
    return -1;
  }

  /** Allocated MACs in [from, to] (inclusive). */
  count(from: number, to: number): number {
    let n = 0;
    let a = from;
    while (a <= to) {
      const pi = Math.floor(a / PAGE_SIZE);
      const base = pi * PAGE_SIZE;
      const end = Math.min(to, base + PAGE_SIZE - 1);
      const p = this.pages.get(pi);
      if (p && p.count > 0) n += a === base && end === base + PAGE_SIZE - 1 ? p.count : countIn(p.words, a - base, end - base);
      a = base + PAGE_SIZE;
    }
    return n;
  }

  /** Calls `fn` for every allocated MAC in [from, to], ascending. */
  forEach(from: number, to: number, fn: (mac: number) => void): void {
    for (let mac = this.nextSet(from, to); mac >= 0; mac = mac < to ? this.nextSet(mac + 1, to) : -1) fn(mac);
  }

  private nextSet(from: number, to: number): number {
    let a = from;
    while (a <= to) {
      const pi = Math.floor(a / PAGE_SIZE);
      const base = pi * PAGE_SIZE;
      const p = this.pages.get(pi);
      if (p && p.count > 0) {
        const hi = Math.min(to, base + PAGE_SIZE - 1) - base;
        for (let off = a - base; off <= hi; ) {
          const w = p.words[off >>> 5]! >>> (off & 31);
          if (w === 0) off = (off | 31) + 1;
          else {
            const r = off + (31 - Math.clz32(w & -w));
            return r <= hi ? base + r : -1;
          }
        }
      }
      a = base + PAGE_SIZE;
    }
    return -1;
  }

  /** Non-empty pages as [page index, words] (for a snapshot; copy the words if they must not change). */
  pagesInUse(): [number, Uint32Array][] {
    const out: [number, Uint32Array][] = [];
    for (const [i, p] of this.pages) if (p.count > 0) out.push([i, p.words]);
    return out.sort((a, b) => a[0] - b[0]);
  }

  /** Loads a page (snapshot restore); its count is recomputed. */
  loadPage(index: number, words: Uint32Array): void {
    if (words.length !== WORDS) throw new Error(`a page has ${WORDS} words, got ${words.length}`);
    const old = this.pages.get(index);
    if (old) this.allocated -= old.count;
    const count = countIn(words, 0, PAGE_SIZE - 1);
    this.pages.set(index, { words, count });
    this.allocated += count;
  }
}

/** First clear bit in [from, to] of a page (inclusive offsets), or -1. */
function nextClearIn(words: Uint32Array, from: number, to: number): number {
  let w = from >>> 5;
  const last = to >>> 5;
  // Bits below `from` in the first word count as set.
  let word = words[w]! | ((1 << (from & 31)) - 1);
  for (;;) {
    if (word !== -1 && word !== 0xffffffff) {
      const inv = ~word;
      const i = w * 32 + (31 - Math.clz32(inv & -inv));
      return i <= to ? i : -1;
    }
    if (w === last) return -1;
    word = words[++w]!;
  }
}

/** Set bits in [from, to] of a page (inclusive offsets). */
function countIn(words: Uint32Array, from: number, to: number): number {
  let n = 0;
  let i = from;
  for (; i <= to && (i & 31) !== 0; i++) if ((words[i >>> 5]! & (1 << (i & 31))) !== 0) n++;
  for (; i + 31 <= to; i += 32) n += popcount(words[i >>> 5]!);
  for (; i <= to; i++) if ((words[i >>> 5]! & (1 << (i & 31))) !== 0) n++;
  return n;
}

function popcount(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}
