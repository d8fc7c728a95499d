// Smooths reply bursts. A lease-log flush that stalls (fdatasync can take tens
// of milliseconds) releases hundreds of ACKs at once; sent back to back they
// overflow the receive buffer of a relay or client and are lost. A token
// bucket lets up to `burst` replies out at once and the rest at `ratePerSecond`.

export class Pacer {
  private readonly ratePerMs: number;
  private readonly burst: number;
  private tokens: number;
  private last = performance.now();
  private readonly queue: Array<() => void> = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(ratePerSecond: number, burst: number) {
    this.ratePerMs = ratePerSecond / 1000;
    this.burst = burst;
    this.tokens = burst;
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

  submit(send: () => void): void {
    if (this.queue.length === 0) {
      this.refill();
      if (this.tokens >= 1) {
        this.tokens--;
        send();
        return;
      }
    }
    this.queue.push(send);
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
    while (this.queue.length > 0 && this.tokens >= 1) {
      this.tokens--;
      (this.queue.shift() as () => void)();
    }
    if (this.queue.length > 0) this.schedule();
  }

  backlog(): number {
    return this.queue.length;
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
  }
}
