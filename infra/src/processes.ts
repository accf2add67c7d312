/**
 * The processes of a local stack as child specs: one per worker of a
 * resolved layout, each started with every flag of its place in the layout,
 * and the coordinator. Pure data.
 */
import { formatRange } from '@spool/stages';
import type { WorkerProcess } from './layout/types.ts';
import type { ChildSpec } from './supervisor.ts';

export interface ProcessOptions {
  readonly natsUrl: string;
  readonly modelDir: string;
  /** Variables every process gets (tracing, log level). */
  readonly env: Readonly<Record<string, string>>;
  readonly coordinatorEnv: Readonly<Record<string, string>>;
}

/** The worker program's flags for one worker of the layout (the model directory aside). */
export function workerArgs(w: WorkerProcess): string[] {
  const args = ['--role', w.role];
  if (w.role === 'denoiser') args.push('--shard', String(w.shard), '--shards', String(w.shards), '--blocks', formatRange(w.blocks!));
  args.push('--device', w.device);
  if (w.threads !== undefined) args.push('--threads', String(w.threads));
  return args;
}

export function workerSpec(w: WorkerProcess, opts: ProcessOptions): ChildSpec {
  return {
    label: w.label,
    script: 'stages/src/main.ts',
    args: [...workerArgs(w), '--model-dir', opts.modelDir],
    env: { ...opts.env, NATS_URL: opts.natsUrl, SPOOL_MODEL_DIR: opts.modelDir },
  };
}

export function coordinatorSpec(opts: ProcessOptions): ChildSpec {
  return {
    label: 'coordinator',
    script: 'coordinator/src/main.ts',
    args: [],
    env: { ...opts.env, ...opts.coordinatorEnv, NATS_URL: opts.natsUrl, SPOOL_MODEL_DIR: opts.modelDir },
  };
}
