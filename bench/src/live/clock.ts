/** The run's clock: seconds since its origin, which starts at construction and moves to the start of the load. */
export class Clock {
  private origin = performance.now();

  /** Seconds since the origin (negative for what happened before a `restart`). */
  now(): number {
    return (performance.now() - this.origin) / 1000;
  }

  /** Moves the origin to now. */
  restart(): void {
    this.origin = performance.now();
  }
}

/** Seconds rounded to the millisecond, for reports. */
export const secs = (s: number): number => Math.round(s * 1000) / 1000;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
