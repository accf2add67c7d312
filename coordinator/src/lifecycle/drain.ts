/**
 * The coordinator's stop: from the first SIGTERM or SIGINT it is draining.
 * It keeps listening, so a new request gets a clear 503 with Retry-After
 * instead of a refused connection, and `/health` turns 503; every request it
 * had admitted (running or queued) runs to its end. Further signals change
 * nothing. Plain state, no timers: `main.ts` waits for the requests.
 */

export class Drain {
  private since: number | undefined;

  constructor(
    /** Pause suggested to a client turned away while draining, s. */
    readonly retryAfterS = 5,
    private readonly now: () => number = () => Date.now(),
  ) {}

  get draining(): boolean {
    return this.since !== undefined;
  }

  /** Starts draining; false when it had started already. */
  begin(): boolean {
    if (this.since !== undefined) return false;
    this.since = this.now();
    return true;
  }

  /** Seconds since draining began (0 before). */
  elapsedS(): number {
    return this.since === undefined ? 0 : Math.round((this.now() - this.since) / 1000);
  }
}
