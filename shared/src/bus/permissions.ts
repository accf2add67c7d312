/**
 * What each identity may do on the bus, derived from the model and its
 * number of denoiser shards, never from a message. The coordinator may call
 * the entry stages (text encoder, denoise.0, VAE decoder) and discovery, use
 * its own two JetStream buckets (job records and videos, `jetstream.ts`) and
 * no other, and receive on its own inbox. A stage worker may receive its own subject and
 * its own discovery subjects, publish to its next hop only (shard i → shard
 * i+1, VAE → video encoder), pull chunks from the one identity that sends it
 * frames, and answer the calls it was sent (`allow_responses`: the reply
 * subject of a message it received, a bounded number of times, for a bounded
 * time: its heartbeats and its answer). Pure.
 */
import { serviceNameFor, stageSubject, type StageRole } from '../subjects.ts';
import { callReplySubjects, chunkSubjects, COORDINATOR_IDENTITY, inboxPrefix, LAUNCHER_IDENTITY, stageIdentity, upstreamIdentity } from './identity.ts';
import { jobStoreSubjects } from './jetstream.ts';

export interface ResponsePermission {
  /** Messages an identity may send to one reply subject it received. */
  readonly max: number;
  /** For how long after receiving it, ms. */
  readonly expiresMs: number;
}

export interface Permissions {
  readonly publish: readonly string[];
  readonly subscribe: readonly string[];
  /** Absent: the identity answers nothing. */
  readonly responses?: ResponsePermission;
}

export interface Deployment {
  readonly model: string;
  readonly shards: number;
  /**
   * The coordinator's bound on one stage call (SPOOL_STAGE_TIMEOUT_MS, 60 s by
   * default): a worker may answer a call it received for this long, plus a margin.
   */
  readonly callTimeoutMs?: number;
}

export const DEFAULT_CALL_TIMEOUT_MS = 60_000;
/** How long past the call timeout a late answer is still let through (it is dropped by the caller anyway). */
const RESPONSE_MARGIN_MS = 30_000;

/**
 * A worker answers a call with heartbeats and its result, for as long as the
 * coordinator waits for it (its stage call timeout). The server keeps one entry
 * per reply subject a stage received until it expires, so the expiry follows
 * the call timeout: an hour-long expiry kept an hour of calls in nats-server's
 * memory and made every delivery to a busy stage scan them.
 */
export function stageResponses(d: Pick<Deployment, 'callTimeoutMs'>): ResponsePermission {
  return Object.freeze({ max: 100_000, expiresMs: (d.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS) + RESPONSE_MARGIN_MS });
}
/** The coordinator answers only chunk pulls of the frames it sends. */
export const COORDINATOR_RESPONSES: ResponsePermission = Object.freeze({ max: 1, expiresMs: 10 * 60_000 });

/** Discovery subjects a worker's micro service listens on: `$SRV.PING`, `$SRV.INFO.<name>`, `$SRV.STATS.<name>.<id>`. */
function discoverySubjects(service: string): string[] {
  return ['$SRV.*', `$SRV.*.${service}`, `$SRV.*.${service}.*`];
}

/** Stage roles in request order, with the denoiser expanded into its shards. */
interface StagePlace {
  readonly role: StageRole;
  readonly shard?: number;
}

function places(shards: number): StagePlace[] {
  return [
    { role: 'text-encoder' },
    ...Array.from({ length: shards }, (_, shard): StagePlace => ({ role: 'denoiser', shard })),
    { role: 'vae-decoder' },
    { role: 'video-encoder' },
  ];
}

export function permissionsFor(identity: string, d: Deployment): Permissions {
  const { model, shards } = d;
  if (!Number.isInteger(shards) || shards < 1) throw new RangeError(`a deployment needs at least one denoiser shard (got ${shards})`);
  const inbox = (id: string): string => inboxPrefix(model, id);
  const chunksOf = (id: string): string => `${chunkSubjects(inbox(id))}.*`;
  const lastShard = stageIdentity('denoiser', shards - 1);

  if (identity === COORDINATOR_IDENTITY) {
    return {
      publish: [
        stageSubject(model, 'text-encoder'),
        stageSubject(model, 'denoiser', 0),
        stageSubject(model, 'vae-decoder'),
        // replies of the stages that answer the coordinator may come in chunks
        chunksOf(stageIdentity('text-encoder')),
        chunksOf(lastShard),
        chunksOf(stageIdentity('video-encoder')),
        '$SRV.>',
        // its job records and videos; their replies and deliveries come to its inbox
        ...jobStoreSubjects(model),
      ],
      subscribe: [`${inbox(identity)}.>`],
      responses: COORDINATOR_RESPONSES,
    };
  }
  if (identity === LAUNCHER_IDENTITY) {
    return { publish: ['$SRV.>'], subscribe: [`${inbox(identity)}.>`] };
  }

  const all = places(shards);
  const at = all.findIndex((p) => stageIdentity(p.role, p.shard) === identity);
  if (at < 0) throw new RangeError(`"${identity}" is not an identity of a ${shards}-shard deployment`);
  const self = all[at];
  // Who sends this stage its frames: the coordinator for the entry stages, the previous hop otherwise.
  const upstream = upstreamIdentity(self.role, self.shard);
  // Where this stage forwards: the next shard, or the VAE's video encoder; the others answer the caller.
  const next =
    self.role === 'denoiser' && (self.shard ?? 0) < shards - 1
      ? stageSubject(model, 'denoiser', (self.shard ?? 0) + 1)
      : self.role === 'vae-decoder'
        ? stageSubject(model, 'video-encoder')
        : undefined;
  return {
    publish: [...(next ? [next] : []), chunksOf(upstream)],
    subscribe: [stageSubject(model, self.role, self.shard), `${inbox(identity)}.>`, ...discoverySubjects(serviceNameFor(self.role, self.shard))],
    responses: stageResponses(d),
  };
}

/** Subjects on which replies to the coordinator's stage calls arrive (for tests and docs). */
export function coordinatorCallReplies(model: string): string {
  return `${callReplySubjects(inboxPrefix(model, COORDINATOR_IDENTITY))}.*`;
}
