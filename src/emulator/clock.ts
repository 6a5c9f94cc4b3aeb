/**
 * The emulator clock: wall time plus an offset, in unix seconds. It ticks with real time (so objects
 * created a second apart get different `created` values) and jumps forward with `advance`.
 */
export class EmulatorClock {
  constructor(private offsetMs: number) {}

  /** A clock that reads `startTime` (unix seconds) now, or the wall clock when not given. */
  static startingAt(startTime: number | undefined): EmulatorClock {
    return new EmulatorClock(startTime === undefined ? 0 : startTime * 1000 - Date.now());
  }

  /** Current emulator time in unix seconds. */
  now(): number {
    return Math.floor(this.nowMs() / 1000);
  }
  nowMs(): number {
    return Date.now() + this.offsetMs;
  }
  /** Moves the clock so that now() reads at least `seconds` (never backwards). */
  moveTo(seconds: number): void {
    const target = seconds * 1000;
    if (target > this.nowMs()) this.offsetMs = target - Date.now();
  }
  /** The persisted form. */
  get offset(): number {
    return this.offsetMs;
  }
}
