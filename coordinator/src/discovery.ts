/** Discovery over NATS for the topology. */
import type { NatsConnection } from '@nats-io/nats-core';
import { discoverWorkers, type WorkerInfo } from '@spool/shared';

export function natsDiscovery(nc: NatsConnection, maxWaitMs = 500): () => Promise<WorkerInfo[]> {
  return () => discoverWorkers(nc, maxWaitMs);
}
