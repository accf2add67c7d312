/** Where a worker runs its model: the CPU or one CUDA device. */
import { ConfigError } from '@spool/shared';

export type Device = { readonly kind: 'cpu' } | { readonly kind: 'cuda'; readonly index: number };

export function parseDevice(text: string): Device {
  const t = text.trim().toLowerCase();
  if (t === 'cpu') return { kind: 'cpu' };
  const m = /^cuda:(\d+)$/.exec(t);
  if (m) return { kind: 'cuda', index: Number(m[1]) };
  throw new ConfigError(`--device ${JSON.stringify(text)} must be cpu or cuda:N (e.g. cuda:0)`);
}

export function deviceLabel(d: Device): string {
  return d.kind === 'cpu' ? 'cpu' : `cuda:${d.index}`;
}
