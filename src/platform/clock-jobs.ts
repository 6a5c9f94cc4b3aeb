/**
 * Clock jobs: thin, idempotent service calls that the passing of time triggers (issue the balloon invoice
 * two weeks before it is due, …). main.ts runs them every few minutes; offline, POST /api/dev/advance-time
 * runs them after moving the clock. Each job must be safe to run twice and on several instances at once
 * (keyed effects, rows claimed or unique), since nothing here coordinates instances.
 */
import type { ServiceDeps } from './deps.ts';

/** One job: a name for the log and a service call. */
export interface ClockJob {
  name: string;
  run(deps: ServiceDeps): Promise<unknown>;
}

/** Runs the jobs on an interval (start/stop) or on demand (runDue). */
export class ClockJobs {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly deps: ServiceDeps,
    private readonly jobs: readonly ClockJob[],
    private readonly intervalMs = 5 * 60_000,
  ) {}

  /** Runs every job once, in order; a failing job is logged and does not stop the others. */
  async runDue(): Promise<void> {
    // A pass already under way (the timer's) is waited for rather than run twice in parallel.
    if (this.running) await this.running.catch(() => {});
    this.running = (async () => {
      for (const job of this.jobs) {
        try {
          await job.run(this.deps);
        } catch (err) {
          this.deps.log.error({ err, job: job.name }, 'clock job failed; it runs again on the next pass');
        }
      }
    })();
    try {
      await this.running;
    } finally {
      this.running = undefined;
    }
  }

  /** Starts the interval (the first pass right away). */
  start(): void {
    if (this.timer) return;
    const tick = () => void this.runDue();
    this.timer = setInterval(tick, this.intervalMs);
    this.timer.unref();
    tick();
  }

  /** Stops the interval and waits for a pass in progress. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => {});
  }
}
