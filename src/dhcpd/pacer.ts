// Smooths reply bursts. A lease-log flush that stalls (fdatasync can take tens
// of milliseconds) releases hundreds of ACKs at once; sent back to back they
// overflow the receive buffer of a relay or client and are lost. A token
// bucket lets up to `burst` replies out at once and the rest at `ratePerSecond`.

export class Pacer<T> {
  private readonly ratePerMs: number;
  private readonly burst: number;
  private readonly send: (item: T) => void;
  private tokens: number;
  private last = performance.now();
  // A FIFO as an array and a head index: shift() moves every element, which
  // made draining a backlog of thousands of replies quadratic.
  private queue: T[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | undefined;
  private emptied: Array<() => void> = [];

  constructor(ratePerSecond: number, burst: number, send: (item: T) => void) {
    this.ratePerMs = ratePerSecond / 1000;
    this.burst = burst;
    this.tokens = burst;
    this.send = send;
  }

  private refill(): void {
    const now = performance.now();
    const earned = (now - this.last) * this.ratePerMs;
    // Idle time banks at most one burst; but a drain timer that fired late
    // (timers are coarse under load) may send what the rate allowed meanwhile,
    // or the pacer itself would become the bottleneck.
    this.tokens = Math.min(Math.max(this.burst, earned), this.tokens + earned);
    this.last = now;
  }

  submit(item: T): void {
    if (this.head === this.queue.length) {
      this.refill();
      if (this.tokens >= 1) {
        this.tokens--;
        this.send(item);
        return;
      }
    }
    this.queue.push(item);
    this.schedule();
  }

  private schedule(): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.drain();
    }, 1);
  }

  private drain(): void {
    this.refill();
    while (this.head < this.queue.length && this.tokens >= 1) {
      this.tokens--;
      this.send(this.queue[this.head++] as T);
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
      for (const done of this.emptied.splice(0)) done();
      return;
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.schedule();
  }

  /** Resolves once every item submitted so far has been sent (at the pace). */
  empty(): Promise<void> {
    if (this.backlog() === 0) return Promise.resolve();
    return new Promise((resolve) => this.emptied.push(resolve));
  }

  backlog(): number {
    return this.queue.length - this.head;
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.queue = [];
    this.head = 0;
    for (const done of this.emptied.splice(0)) done();
  }
}
