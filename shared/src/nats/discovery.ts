/** Which workers are live: asks every spool micro service for its info. */
import { NoRespondersError, RequestError, type NatsConnection } from '@nats-io/nats-core';
import { Svcm } from '@nats-io/services';
import { isStageRole, type StageRole } from '../subjects.ts';

export interface WorkerInfo {
  readonly id: string;
  readonly service: string;
  readonly model: string;
  readonly role: StageRole;
  readonly shard?: number;
  /** How many shards the denoiser chain of this shard has. */
  readonly shards?: number;
  /** Transformer blocks a denoiser shard holds, as `a:b`. */
  readonly blocks?: string;
  readonly device: string;
  readonly subject: string;
  readonly version: string;
  /** The worker's process id and host, so a supervisor can tell which of its processes answered. */
  readonly pid?: number;
  readonly host?: string;
}

/** Metadata keys every spool worker registers with. */
export const WORKER_METADATA = Object.freeze({
  model: 'spool.model',
  role: 'spool.role',
  shard: 'spool.shard',
  shards: 'spool.shards',
  blocks: 'spool.blocks',
  device: 'spool.device',
  subject: 'spool.subject',
  pid: 'spool.pid',
  host: 'spool.host',
});

export async function discoverWorkers(nc: NatsConnection, maxWaitMs = 1000): Promise<WorkerInfo[]> {
  const client = new Svcm(nc).client({ strategy: 'stall', stall: 200, maxWait: maxWaitMs });
  const out: WorkerInfo[] = [];
  let infos;
  try {
    infos = await client.info();
  } catch (err) {
    // No service registered at all: no live workers, not a failure.
    if (isNoResponders(err)) return [];
    throw err;
  }
  try {
    for await (const info of infos) {
      const m = info.metadata ?? {};
      const role = m[WORKER_METADATA.role];
      if (!isStageRole(role)) continue;
      const shard = m[WORKER_METADATA.shard];
      const shards = m[WORKER_METADATA.shards];
      out.push({
        id: info.id,
        service: info.name,
        model: m[WORKER_METADATA.model] ?? '',
        role,
        shard: shard === undefined || shard === '' ? undefined : Number(shard),
        shards: shards === undefined || shards === '' ? undefined : Number(shards),
        blocks: m[WORKER_METADATA.blocks] || undefined,
        device: m[WORKER_METADATA.device] ?? 'cpu',
        subject: m[WORKER_METADATA.subject] ?? '',
        version: info.version,
        ...(/^[1-9][0-9]*$/.test(m[WORKER_METADATA.pid] ?? '') ? { pid: Number(m[WORKER_METADATA.pid]) } : {}),
        ...(m[WORKER_METADATA.host] ? { host: m[WORKER_METADATA.host] } : {}),
      });
    }
  } catch (err) {
    // The no-responders status can also arrive through the iterator.
    if (!isNoResponders(err)) throw err;
  }
  return out.sort((a, b) => a.service.localeCompare(b.service) || a.id.localeCompare(b.id));
}

function isNoResponders(err: unknown): boolean {
  if (err instanceof NoRespondersError) return true;
  if (err instanceof RequestError && (err.isNoResponders() || err.cause instanceof NoRespondersError)) return true;
  return err instanceof Error && /no responders/i.test(err.message);
}
