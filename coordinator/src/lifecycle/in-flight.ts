/** The requests running now, so shutdown can wait for them or abort them. */

export class InFlight {
  private readonly controllers = new Set<AbortController>();
  private readonly idle: Array<() => void> = [];

  get size(): number {
    return this.controllers.size;
  }

  add(ac: AbortController): () => void {
    this.controllers.add(ac);
    return () => {
      this.controllers.delete(ac);
      if (this.controllers.size === 0) this.idle.splice(0).forEach((resolve) => resolve());
    };
  }

  abortAll(reason: unknown): void {
    for (const ac of this.controllers) ac.abort(reason);
  }

  /** Resolves when nothing is running, or after `ms`; true when it drained. */
  waitIdle(ms: number): Promise<boolean> {
    if (this.controllers.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      timer.unref();
      this.idle.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
}
