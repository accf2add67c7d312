/**
 * CPU, memory and GPU load for GET /info, sampled in the background with
 * systeminformation and cached, so a request never waits on a slow probe
 * for more than a moment.
 */
import si from 'systeminformation';

export interface SystemUsage {
  readonly cpu_usage: string;
  readonly memory_usage: string;
  readonly gpu_usage: string;
}

export interface SystemInfoSource {
  usage(): Promise<SystemUsage>;
}

const UNKNOWN: SystemUsage = Object.freeze({ cpu_usage: 'n/a', memory_usage: 'n/a', gpu_usage: 'n/a' });

const percent = (v: number | undefined | null): string =>
  typeof v === 'number' && Number.isFinite(v) ? `${Math.round(Math.min(100, Math.max(0, v)))}%` : 'n/a';

export async function sampleSystem(): Promise<SystemUsage> {
  const [load, mem, gpu] = await Promise.all([
    si.currentLoad().catch(() => undefined),
    si.mem().catch(() => undefined),
    si.graphics().catch(() => undefined),
  ]);
  const gpus = (gpu?.controllers ?? []).map((c) => c.utilizationGpu).filter((u): u is number => typeof u === 'number');
  return {
    cpu_usage: percent(load?.currentLoad),
    memory_usage: percent(mem && mem.total > 0 ? (100 * mem.active) / mem.total : undefined),
    gpu_usage: gpus.length > 0 ? percent(gpus.reduce((a, b) => a + b, 0) / gpus.length) : 'n/a',
  };
}

export interface SamplerOptions {
  /** Age after which a request triggers a new sample. */
  readonly maxAgeMs?: number;
  /** How long a request waits for a sample before answering with what it has. */
  readonly waitMs?: number;
  readonly sample?: () => Promise<SystemUsage>;
}

export class CachedSystemInfo implements SystemInfoSource {
  private last?: { at: number; usage: SystemUsage };
  private running?: Promise<SystemUsage>;

  constructor(private readonly opts: SamplerOptions = {}) {}

  async usage(): Promise<SystemUsage> {
    const maxAge = this.opts.maxAgeMs ?? 5_000;
    if (this.last && Date.now() - this.last.at < maxAge) return this.last.usage;
    const fresh = this.refresh();
    const waited = await Promise.race([fresh, delay(this.opts.waitMs ?? 200)]);
    return waited ?? this.last?.usage ?? UNKNOWN;
  }

  private refresh(): Promise<SystemUsage> {
    this.running ??= (this.opts.sample ?? sampleSystem)()
      .catch(() => UNKNOWN)
      .then((usage) => {
        this.last = { at: Date.now(), usage };
        return usage;
      })
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }
}

function delay(ms: number): Promise<undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), ms);
    timer.unref();
  });
}
