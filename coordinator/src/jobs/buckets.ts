/**
 * The job store's two buckets on JetStream: made when missing, and brought
 * to the configured limits when they exist with others (a restart with a new
 * SPOOL_JOBS_MAX_MB, say). Both are file streams with one replica that
 * refuse a write past their byte limit (discard-new) and drop what is older
 * than the age limit. The KV keeps one value per key (no history).
 */
import { nanos } from '@nats-io/nats-core';
import { DiscardPolicy, StorageType, type JetStreamClient, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { Objm, type ObjectStore } from '@nats-io/obj';
import { jobsBucket, kvStream, objectStream, videosBucket } from '@spool/shared';
import type { JobStoreLimits } from './limits.ts';
import { storeError } from './store-errors.ts';

/** The largest record accepted, bytes: a record with a 2,000-character prompt is under 10 KB. */
export const MAX_RECORD_BYTES = 64 * 1024;

export interface StoreLog {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface OpenBuckets {
  readonly jsm: JetStreamManager;
  readonly records: KV;
  readonly videos: ObjectStore;
  readonly names: { readonly records: string; readonly videos: string };
}

export async function openBuckets(js: JetStreamClient, model: string, limits: JobStoreLimits, log: StoreLog): Promise<OpenBuckets> {
  const names = { records: jobsBucket(model), videos: videosBucket(model) };
  const jsm = await js.jetstreamManager(false);
  let records: KV;
  try {
    records = await new Kvm(js).create(names.records, {
      description: `spool job records of ${model}`,
      history: 1,
      ttl: limits.maxAgeMs,
      max_bytes: limits.recordsMaxBytes,
      maxValueSize: MAX_RECORD_BYTES,
      storage: StorageType.File,
      replicas: 1,
    });
    await ensureLimits(jsm, kvStream(names.records), {
      max_bytes: limits.recordsMaxBytes,
      max_age: nanos(limits.maxAgeMs),
      max_msgs_per_subject: 1,
      max_msg_size: MAX_RECORD_BYTES,
      discard: DiscardPolicy.New,
      allow_direct: true,
    }, log);
  } catch (err) {
    throw storeError(err, `opening the job records bucket ${names.records}`);
  }
  let videos: ObjectStore;
  try {
    videos = await new Objm(js).create(names.videos, {
      description: `spool videos of ${model}`,
      ttl: nanos(limits.maxAgeMs),
      max_bytes: limits.videosMaxBytes,
      storage: StorageType.File,
      replicas: 1,
    });
    await ensureLimits(jsm, objectStream(names.videos), { max_bytes: limits.videosMaxBytes, max_age: nanos(limits.maxAgeMs), discard: DiscardPolicy.New }, log);
  } catch (err) {
    throw storeError(err, `opening the videos bucket ${names.videos}`);
  }
  return { jsm, records, videos, names };
}

type Limits = Partial<Pick<StreamConfig, 'max_bytes' | 'max_age' | 'max_msgs_per_subject' | 'max_msg_size' | 'discard' | 'allow_direct'>>;

/** Updates a stream whose limits differ from `want`; lowering `max_bytes` below what it holds drops its oldest messages. */
async function ensureLimits(jsm: JetStreamManager, stream: string, want: Limits, log: StoreLog): Promise<void> {
  const { config } = await jsm.streams.info(stream);
  const have = config as unknown as Record<string, unknown>;
  const changed = Object.entries(want).filter(([k, v]) => have[k] !== v);
  if (changed.length === 0) return;
  const next: StreamConfig = { ...config, ...want };
  // The duplicate window may not outlast the age limit.
  if (next.max_age > 0 && (next.duplicate_window ?? 0) > next.max_age) next.duplicate_window = next.max_age;
  await jsm.streams.update(stream, next);
  log.info({ stream, changed: Object.fromEntries(changed.map(([k, v]) => [k, { from: have[k], to: v }])) }, `job store: ${stream} brought to the configured limits`);
}
