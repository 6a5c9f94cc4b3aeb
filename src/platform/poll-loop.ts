/**
 * A background loop over a unit of work that reports how much it did: while passes find work the next one runs at
 * once, otherwise after `pollMs`; a failing pass is logged and retried after a longer pause. Used by the webhook
 * inbox and the outbox, which both claim rows with SKIP LOCKED and so may run on every instance.
 */
export class PollLoop {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;
  private stopped = true;

  constructor(
    private readonly pass: () => Promise<number>,
    private readonly onError: (err: unknown) => void,
    private readonly pollMs: number,
  ) {}

  /** Starts the loop (first pass right away). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  /** Runs a pass soon if the loop is idle (new work was just stored). */
  notify(): void {
    if (this.stopped || this.running) return;
    this.schedule(0);
  }

  /** Stops the loop and waits for the pass in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => {});
  }

  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), ms);
  }

  private async tick(): Promise<void> {
    this.timer = undefined;
    if (this.stopped) return;
    let next = this.pollMs;
    try {
      this.running = this.pass();
      if ((await this.running) > 0) next = 0;
    } catch (err) {
      this.onError(err);
      next = this.pollMs * 4;
    } finally {
      this.running = undefined;
    }
    if (!this.stopped) this.schedule(next);
  }
}
