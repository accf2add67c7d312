/** Discovery over NATS for the topology; while the connection is down, it fails saying why. */
import type { NatsConnection } from '@nats-io/nats-core';
import { connectionWatch, discoverWorkers, type WorkerInfo } from '@spool/shared';

export function natsDiscovery(nc: NatsConnection, maxWaitMs = 500): () => Promise<WorkerInfo[]> {
  return async () => {
    const problem = connectionWatch(nc)?.problem();
    if (problem) throw new Error(problem);
    return discoverWorkers(nc, maxWaitMs);
  };
}
