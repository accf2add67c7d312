/** Discovery over NATS for the topology: no service answering means no live workers, not a failure. */
import { NoRespondersError, RequestError, type NatsConnection } from '@nats-io/nats-core';
import { discoverWorkers, type WorkerInfo } from '@spool/shared';

export function natsDiscovery(nc: NatsConnection, maxWaitMs = 500): () => Promise<WorkerInfo[]> {
  return async () => {
    try {
      return await discoverWorkers(nc, maxWaitMs);
    } catch (err) {
      if (isNoResponders(err)) return [];
      throw err;
    }
  };
}

function isNoResponders(err: unknown): boolean {
  if (err instanceof NoRespondersError) return true;
  if (err instanceof RequestError && (err.isNoResponders() || err.cause instanceof NoRespondersError)) return true;
  return err instanceof Error && /no responders/i.test(err.message);
}
