// A fixed-size bitmap over Uint32 words: 16,777,216 bits are 2 MiB.
// Searching skips full words 32 bits at a time.

export class Bitmap {
  readonly size: number;
  readonly words: Uint32Array;

  constructor(size: number, words?: Uint32Array) {
    this.size = size;
    const n = Math.ceil(size / 32);
    if (words && words.length !== n) throw new Error(`bitmap of ${size} bits needs ${n} words, got ${words.length}`);
    this.words = words ?? new Uint32Array(n);
  }

  get(i: number): boolean {
    return (this.words[i >>> 5]! & (1 << (i & 31))) !== 0;
  }

  set(i: number): void {
    this.words[i >>> 5]! |= 1 << (i & 31);
  }

  clear(i: number): void {
    this.words[i >>> 5]! &= ~(1 << (i & 31));
  }

  /** First clear bit in [from, to), or -1. */
  nextClear(from: number, to: number): number {
    if (from >= to) return -1;
    const words = this.words;
    let w = from >>> 5;
    const lastWord = (to - 1) >>> 5;
    // Treat bits below `from` in the first word as set.
    let word = words[w]! | ((1 << (from & 31)) - 1);
    for (;;) {
      if (word !== -1 && word !== 0xffffffff) {
        const inv = ~word;
        const bit = 31 - Math.clz32(inv & -inv);
        const i = w * 32 + bit;
        return i < to ? i : -1;
      }
      if (w === lastWord) return -1;
      w++;
      word = words[w]!;
    }
  }

  /** Number of set bits in [from, to). */
  count(from = 0, to = this.size): number {
    let n = 0;
    let i = from;
    while (i < to && (i & 31) !== 0) {
      if (this.get(i)) n++;
      i++;
    }
    for (; i + 32 <= to; i += 32) n += popcount(this.words[i >>> 5]!);
    for (; i < to; i++) if (this.get(i)) n++;
    return n;
  }
}

function popcount(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}
