/** The source of "now" for everything that depends on time; injected so tests can move it. */
export interface Clock {
  /** Current instant in epoch milliseconds. */
  now(): number;
}

/** Wall-clock time, optionally shifted by an offset (the offline clock moves by growing the offset). */
export class SystemClock implements Clock {
  constructor(private offsetMs = 0) {}
  now(): number {
    return Date.now() + this.offsetMs;
  }
  /** Moves this clock forward; never backwards. */
  advance(ms: number): void {
    if (ms < 0) throw new RangeError('the clock only moves forward');
    this.offsetMs += ms;
  }
  /** Sets the offset so that now() equals the given instant (used to follow the emulator's clock). */
  syncTo(epochMs: number): void {
    this.offsetMs = epochMs - Date.now();
  }
}

/** A clock that stands still until told to move; for tests. */
export class ManualClock implements Clock {
  constructor(private current: number) {}
  now(): number {
    return this.current;
  }
  set(epochMs: number): void {
    this.current = epochMs;
  }
  advance(ms: number): void {
    if (ms < 0) throw new RangeError('the clock only moves forward');
    this.current += ms;
  }
}
