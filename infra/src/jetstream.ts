/**
 * JetStream on spool's own nats-server: where it keeps its streams and how
 * much it may hold. The store folder is given from outside the server's
 * start, so a server started again after a crash (same port, same
 * configuration) finds every stream where it left them. Only the
 * coordinator's job buckets live there; their size limits are reserved
 * against `max_file_store` when they are made, so the file limit is derived
 * from the coordinator's job settings.
 */
import type { JobStoreLimits } from '@spool/coordinator';

export interface JetStreamStore {
  /** The folder of the server's streams; it must outlive the server process. */
  readonly storeDir: string;
  /** Memory streams at most (spool's buckets are on file), bytes. */
  readonly maxMemoryBytes: number;
  /** File streams at most, bytes. */
  readonly maxFileBytes: number;
}

/** Memory the server may give memory streams: spool makes none, so a little. */
export const JETSTREAM_MEMORY_BYTES = 64 * 1024 * 1024;
/** Room kept above the buckets' reservations, so that making them never fails on rounding. */
export const JETSTREAM_HEADROOM_BYTES = 64 * 1024 * 1024;

/** The store of a launcher's own server, sized for the coordinator's two buckets. */
export function jetStreamFor(storeDir: string, limits: Pick<JobStoreLimits, 'recordsMaxBytes' | 'videosMaxBytes'>): JetStreamStore {
  return {
    storeDir,
    maxMemoryBytes: JETSTREAM_MEMORY_BYTES,
    maxFileBytes: limits.recordsMaxBytes + limits.videosMaxBytes + JETSTREAM_HEADROOM_BYTES,
  };
}

/** The `jetstream` block of nats-server's configuration. */
export function jetStreamBlock(js: JetStreamStore): string {
  for (const [name, v] of [
    ['maxMemoryBytes', js.maxMemoryBytes],
    ['maxFileBytes', js.maxFileBytes],
  ] as const) {
    if (!Number.isSafeInteger(v) || v <= 0) throw new RangeError(`JetStream ${name} must be a positive whole number of bytes (got ${v})`);
  }
  if (js.storeDir.trim() === '') throw new RangeError('JetStream needs a store folder');
  return [
    '# JetStream: the coordinator\'s job records and finished videos.',
    'jetstream {',
    `  store_dir: ${JSON.stringify(js.storeDir)}`,
    `  max_memory_store: ${js.maxMemoryBytes}`,
    `  max_file_store: ${js.maxFileBytes}`,
    '}',
    '',
  ].join('\n');
}
