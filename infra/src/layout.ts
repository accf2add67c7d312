/**
 * The processes of a one-machine stack: one worker per stage, the denoiser
 * split into shards of consecutive blocks, and the coordinator. Pure data.
 */
import { stageLabel, type StageRole } from '@spool/shared';
import type { ChildSpec } from './supervisor.ts';

export interface LayoutOptions {
  readonly shards: number;
  readonly device: string;
  readonly natsUrl: string;
  readonly modelDir: string;
  /** Variables every process gets (tracing, log level, threads). */
  readonly env: Readonly<Record<string, string>>;
  readonly coordinatorEnv: Readonly<Record<string, string>>;
}

export interface WorkerSlot {
  readonly role: StageRole;
  readonly shard?: number;
  readonly label: string;
}

export function workerSlots(shards: number): WorkerSlot[] {
  const slot = (role: StageRole, shard?: number): WorkerSlot => ({ role, shard, label: stageLabel(role, shard) });
  return [
    slot('text-encoder'),
    ...Array.from({ length: shards }, (_, i) => slot('denoiser', i)),
    slot('vae-decoder'),
    slot('video-encoder'),
  ];
}

export function workerSpec(slot: WorkerSlot, opts: LayoutOptions): ChildSpec {
  const args = ['--role', slot.role, '--device', opts.device, '--model-dir', opts.modelDir];
  if (slot.role === 'denoiser') args.push('--shard', String(slot.shard), '--shards', String(opts.shards));
  return {
    label: slot.label,
    script: 'stages/src/main.ts',
    args,
    env: { ...opts.env, NATS_URL: opts.natsUrl, SPOOL_MODEL_DIR: opts.modelDir },
  };
}

export function coordinatorSpec(opts: LayoutOptions): ChildSpec {
  return {
    label: 'coordinator',
    script: 'coordinator/src/main.ts',
    args: [],
    env: {
      ...opts.env,
      ...opts.coordinatorEnv,
      NATS_URL: opts.natsUrl,
      SPOOL_MODEL_DIR: opts.modelDir,
      SPOOL_SHARDS: String(opts.shards),
    },
  };
}
