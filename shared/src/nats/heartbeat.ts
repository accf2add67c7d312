/**
 * Heartbeats of a call: while a worker holds a call (pulling its frame,
 * waiting for a free slot, running the model), it sends an empty message to
 * the call's reply subject every `intervalMs`, naming its stage, so the
 * caller can tell a slow call from a lost one. The first beat goes one
 * interval after the call arrived: calls shorter than that cost nothing.
 */
import { Empty, headers as natsHeaders, type NatsConnection } from '@nats-io/nats-core';

export const CALL_HEADER = 'Spool-Call';
export const HEARTBEAT = 'beat';
export const HOLDER_HEADER = 'Spool-Stage';

/** Default interval; a caller declares a call lost after several missed beats. */
export const DEFAULT_HEARTBEAT_MS = 500;

/** Starts beating to `reply`; the returned function stops (idempotent). */
export function startHeartbeats(nc: NatsConnection, reply: string, stage: string, intervalMs: number): () => void {
  const timer = setInterval(() => {
    if (nc.isClosed()) return;
    const h = natsHeaders();
    h.set(CALL_HEADER, HEARTBEAT);
    h.set(HOLDER_HEADER, stage);
    try {
      nc.publish(reply, Empty, { headers: h });
    } catch {
      // a draining or closed connection: the caller will notice the silence
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
