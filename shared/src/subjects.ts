/** NATS subjects: `spool.<model>.<stage>[.<shard>]`. */

export const STAGE_ROLES = ['text-encoder', 'denoiser', 'vae-decoder', 'video-encoder'] as const;
export type StageRole = (typeof STAGE_ROLES)[number];

/** The subject token of each role (`denoise` reads better in a subject than `denoiser`). */
const ROLE_TOKEN: Readonly<Record<StageRole, string>> = {
  'text-encoder': 'text-encoder',
  denoiser: 'denoise',
  'vae-decoder': 'vae-decoder',
  'video-encoder': 'video-encoder',
};

export function isStageRole(value: unknown): value is StageRole {
  return typeof value === 'string' && (STAGE_ROLES as readonly string[]).includes(value);
}

export function stageSubject(model: string, role: StageRole, shard?: number): string {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(model)) throw new RangeError(`model name "${model}" is not a valid subject token`);
  if (role === 'denoiser') {
    if (shard === undefined || !Number.isInteger(shard) || shard < 0) {
      throw new RangeError('a denoiser subject needs a shard index');
    }
    return `spool.${model}.${ROLE_TOKEN[role]}.${shard}`;
  }
  return `spool.${model}.${ROLE_TOKEN[role]}`;
}

/** The queue group every replica of one subject joins. */
export function queueGroup(subject: string): string {
  return `q.${subject}`;
}

/** Human name of a stage, as used in errors, spans and service names: `denoise.1`, `vae-decoder`. */
export function stageLabel(role: StageRole, shard?: number): string {
  return role === 'denoiser' ? `denoise.${shard ?? 0}` : role;
}

/** OpenTelemetry service name of a worker: `spool-denoise-1`, `spool-text-encoder`. */
export function serviceNameFor(role: StageRole, shard?: number): string {
  return role === 'denoiser' ? `spool-denoise-${shard ?? 0}` : `spool-${role}`;
}
