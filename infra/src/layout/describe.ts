/**
 * One line that says what a resolved layout runs, for the launcher's start
 * message: `2 denoiser shards (0:3, 3:6), 1 replica each; 1 text-encoder,
 * 1 vae-decoder, 1 video-encoder; 5 workers on cpu`.
 */
import { formatRange } from '@spool/stages';
import type { ResolvedLayout } from './types.ts';

export function describeLayout(layout: ResolvedLayout): string {
  const { shards, workers } = layout;
  const same = shards.every((s) => s.replicas === shards[0].replicas);
  const ranges = shards.map((s) => formatRange(s.blocks) + (same ? '' : ` ×${s.replicas}`)).join(', ');
  const r = shards[0].replicas;
  const each = same ? `, ${r} replica${r === 1 ? '' : 's'}${shards.length === 1 ? '' : ' each'}` : '';
  const denoiser = `${shards.length} denoiser shard${shards.length === 1 ? '' : 's'} (${ranges})${each}`;
  const others = (['text-encoder', 'vae-decoder', 'video-encoder'] as const).map((role) => `${workers.filter((w) => w.role === role).length} ${role}`);
  const devices = [...new Set(workers.filter((w) => w.role !== 'video-encoder').map((w) => w.device))];
  return `${denoiser}; ${others.join(', ')}; ${workers.length} workers on ${devices.join(', ')}`;
}
