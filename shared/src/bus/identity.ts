/**
 * Who is who on the bus. Every spool process connects as one identity: the
 * coordinator, the launcher (it only watches discovery), or one stage worker
 * identity per role and denoiser shard; replicas of a stage share their
 * identity. Each identity owns an inbox prefix, under which it receives
 * replies (`<prefix>.calls.*` for stage calls) and serves the chunks of large
 * frames (`<prefix>.chunks.*`). Pure functions: no NATS here.
 */
import { STAGE_ROLES, type StageRole } from '../subjects.ts';

export const COORDINATOR_IDENTITY = 'coordinator';
export const LAUNCHER_IDENTITY = 'launcher';

/** `text-encoder`, `denoise-1`, `vae-decoder`, `video-encoder`: a subject token with no dots. */
export function stageIdentity(role: StageRole, shard?: number): string {
  if (role !== 'denoiser') return role;
  if (shard === undefined || !Number.isInteger(shard) || shard < 0) throw new RangeError('a denoiser identity needs a shard index');
  return `denoise-${shard}`;
}

/**
 * The identity that sends a stage its frames, and so the only one whose chunk
 * subjects it pulls from: the coordinator for the entry stages (text encoder,
 * denoiser shard 0, VAE decoder), the previous shard for a later shard, the
 * VAE decoder for the video encoder.
 */
export function upstreamIdentity(role: StageRole, shard?: number): string {
  if (role === 'video-encoder') return stageIdentity('vae-decoder');
  if (role === 'denoiser' && (shard ?? 0) > 0) return stageIdentity('denoiser', (shard ?? 0) - 1);
  return COORDINATOR_IDENTITY;
}

/** Every identity of a deployment whose denoiser has `shards` shards, in request order. */
export function busIdentities(shards: number): string[] {
  if (!Number.isInteger(shards) || shards < 1) throw new RangeError(`a deployment needs at least one denoiser shard (got ${shards})`);
  const stages = STAGE_ROLES.flatMap((role) =>
    role === 'denoiser' ? Array.from({ length: shards }, (_, i) => stageIdentity(role, i)) : [stageIdentity(role)],
  );
  return [COORDINATOR_IDENTITY, LAUNCHER_IDENTITY, ...stages];
}

/** The prefix under which an identity receives replies and serves chunks: `_spool.in.<model>.<identity>`. */
export function inboxPrefix(model: string, identity: string): string {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(model)) throw new RangeError(`model name "${model}" is not a valid subject token`);
  if (!/^[a-z0-9][a-z0-9-]*$/.test(identity)) throw new RangeError(`identity "${identity}" is not a valid subject token`);
  return `_spool.in.${model}.${identity}`;
}

/** Subjects on which a sender serves the chunks of its large frames, one token each. */
export function chunkSubjects(prefix: string): string {
  return `${prefix}.chunks`;
}

/**
 * Whether `subject` is one chunk fetch subject, `<inbox prefix>.chunks.<id>`:
 * of the identity whose inbox prefix is `prefix` when given, of any when not.
 */
export function isChunkSubject(subject: string, prefix?: string): boolean {
  const dot = subject.lastIndexOf('.');
  if (dot < 0 || dot === subject.length - 1) return false;
  const base = subject.slice(0, dot);
  if (prefix !== undefined) return base === chunkSubjects(prefix);
  const owner = base.slice(0, base.lastIndexOf('.'));
  return owner.length > 0 && base === chunkSubjects(owner);
}

/** Subjects on which a caller receives the replies and heartbeats of its stage calls, one token each. */
export function callReplySubjects(prefix: string): string {
  return `${prefix}.calls`;
}
