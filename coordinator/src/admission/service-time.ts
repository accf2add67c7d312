/**
 * How long a request is expected to run once it has a slot, learned from the
 * requests that finished. A request's work is known at admission: its
 * denoising steps times its latent frames ("step-frames"). Run time is
 * modelled as `fixed + perUnit × work`, fitted by least squares over the
 * finished requests with exponentially fading weights (the newest counts
 * most), so it follows the machine as load and models change:
 *
 * - before any request finished: `perUnit` is a documented prior, no fixed part;
 * - while the finished requests' work is (nearly) all the same, a line cannot
 *   be fitted: the weighted ratio of run time to work, through the origin;
 * - otherwise the line; if its fixed part comes out negative the ratio is
 *   used, and if its slope does, the weighted mean run time.
 *
 * Plain numbers in and out; no clock of its own.
 */

/**
 * Milliseconds per step-frame before any request has finished. cogvideox-mini
 * on the 2-core development CPU ran 49 frames (13 latent) × 30 steps in 0.93 s
 * alone, 2.4 ms per step-frame, and about twice that two at a time; 10 ms errs
 * on the long side. The first finished request replaces it.
 */
export const PRIOR_MS_PER_STEP_FRAME = 10;

/** Weight kept by older samples each time a new one arrives: about the last five count. */
export const FADE = 0.8;

/** Below this spread of work (coefficient of variation) a line is not fitted. */
const MIN_WORK_SPREAD = 0.25;

export interface ServiceModel {
  /** Milliseconds every request takes whatever its size (prompt encoding, video encoding, hops). */
  readonly fixedMs: number;
  /** Milliseconds per step-frame. */
  readonly perUnitMs: number;
  /** Finished requests it was learned from; 0 means the prior. */
  readonly samples: number;
}

export class ServiceTime {
  // Weighted sums: Σw, Σw·x, Σw·x², Σw·y, Σw·x·y, x = work, y = run time.
  private s0 = 0;
  private sx = 0;
  private sxx = 0;
  private sy = 0;
  private sxy = 0;
  private n = 0;

  constructor(private readonly priorPerUnitMs = PRIOR_MS_PER_STEP_FRAME) {}

  /** A request of `work` step-frames finished after `ms` with its slot. */
  observe(work: number, ms: number): void {
    if (!(work > 0) || !Number.isFinite(work) || !(ms >= 0) || !Number.isFinite(ms)) return;
    this.s0 = FADE * this.s0 + 1;
    this.sx = FADE * this.sx + work;
    this.sxx = FADE * this.sxx + work * work;
    this.sy = FADE * this.sy + ms;
    this.sxy = FADE * this.sxy + work * ms;
    this.n++;
  }

  /** Expected run time of a request of `work` step-frames, ms. */
  expectMs(work: number): number {
    const m = this.model();
    return m.fixedMs + m.perUnitMs * work;
  }

  model(): ServiceModel {
    const samples = this.n;
    if (samples === 0) return { fixedMs: 0, perUnitMs: this.priorPerUnitMs, samples };
    const meanX = this.sx / this.s0;
    const meanY = this.sy / this.s0;
    const varX = Math.max(0, this.sxx / this.s0 - meanX * meanX);
    const ratio = { fixedMs: 0, perUnitMs: this.sy / this.sx, samples };
    if (varX < (MIN_WORK_SPREAD * meanX) ** 2) return ratio;
    const slope = (this.sxy / this.s0 - meanX * meanY) / varX;
    if (slope <= 0) return { fixedMs: meanY, perUnitMs: 0, samples };
    const fixed = meanY - slope * meanX;
    return fixed < 0 ? ratio : { fixedMs: fixed, perUnitMs: slope, samples };
  }
}
