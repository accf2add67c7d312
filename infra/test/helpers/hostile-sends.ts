/**
 * Sending hostile messages to a real worker, as the identity allowed to send
 * to it: through the binding's own StageCaller where the bytes are any the
 * binding can carry, raw (an announce header over an empty payload) where
 * they are what the binding would never send. Each send resolves with the
 * error the worker answered with, or an Error saying that it did not.
 */
import { headers as natsHeaders, nuid, type NatsConnection } from '@nats-io/nats-core';
import {
  CALL_HEADER,
  callReplySubjects,
  CHUNK_HEADER,
  chunkSubjects,
  errorFromHeaders,
  HEARTBEAT,
  inboxPrefixOf,
  tensor,
  type DType,
  type Meta,
  type StageCaller,
  type Tensor,
  type TensorData,
  type WireMessage,
} from '@spool/shared';

const ARRAYS = { float32: Float32Array, int64: BigInt64Array, int32: Int32Array, uint8: Uint8Array } as const;
export function zeros<D extends DType>(dtype: D, shape: number[]): Tensor<D> {
  const n = shape.reduce((a, b) => a * b, 1);
  return tensor(dtype, shape, new ARRAYS[dtype](n) as TensorData<D>);
}

/** A worker subject and the identity that may send to it. */
export interface Target {
  readonly stage: string;
  readonly subject: string;
  readonly sender: string;
  /** Who the worker names as its sender in errors. */
  readonly upstream: string;
  /** A message the stage accepts. */
  readonly good: () => WireMessage;
}

/** What one hostile message sends; resolves with the error it was answered with. */
export type Send = (t: Target, as: Sender) => Promise<unknown>;

export interface Sender {
  readonly nc: NatsConnection;
  readonly caller: StageCaller;
  /** Every hostile message is answered within this, ms, or the send resolves with an Error saying so. */
  readonly boundMs: number;
}

/** Sends through the binding's own caller; the error it fails with, or a note that it was answered. */
export const call = (message: WireMessage | Uint8Array): Send => (t, { caller, boundMs }) =>
  caller.call(t.subject, message, { stage: t.stage, timeoutMs: boundMs }).then(
    () => new Error(`${t.stage} answered a hostile message as if it were fine`),
    (err: unknown) => err,
  );

/** Sends `message` with tensors or meta replaced. */
export const variant = (change: (m: WireMessage) => WireMessage): Send => (t, s) => call(change(t.good()))(t, s);
export const withTensors = (over: Record<string, Tensor | undefined>): Send =>
  variant((m) => ({ meta: m.meta, tensors: Object.fromEntries(Object.entries({ ...m.tensors, ...over }).filter(([, v]) => v !== undefined)) as Record<string, Tensor> }));
export const withMeta = (meta: Meta): Send => variant((m) => ({ meta, tensors: m.tensors }));

/**
 * A message the binding would never send: an empty payload announced as a
 * chunked frame by `announce(fetchPrefix)`, sent raw. Waits past the
 * worker's heartbeats for its answer, which must be an error.
 */
export const announced = (announce: (fetchPrefix: string) => string): Send => async (t, { nc, boundMs }) => {
  const inbox = `${callReplySubjects(inboxPrefixOf(nc))}.${nuid.next()}`;
  const sub = nc.subscribe(inbox);
  const timer = setTimeout(() => sub.unsubscribe(), boundMs);
  const h = natsHeaders();
  h.set(CHUNK_HEADER, announce(chunkSubjects(inboxPrefixOf(nc))));
  nc.publish(t.subject, new Uint8Array(0), { reply: inbox, headers: h });
  try {
    for await (const m of sub) {
      if (m.headers?.get(CALL_HEADER) === HEARTBEAT) continue;
      return errorFromHeaders((k) => (m.headers?.has(k) ? m.headers.get(k) : undefined)) ?? new Error(`${t.stage} answered an announce without an error`);
    }
    return new Error(`${t.stage} did not answer within ${boundMs} ms`);
  } finally {
    clearTimeout(timer);
    sub.unsubscribe();
  }
};

/** Serves a fetch subject under the sender's own chunk prefix with `answer` (or never answers) while `send` runs. */
export const servingChunks = (answer: 'never' | ((index: number) => Uint8Array), total: number, chunk: number): Send => async (t, s) => {
  const fetch = `${chunkSubjects(inboxPrefixOf(s.nc))}.${nuid.next()}`;
  let pulls = 0;
  const sub = s.nc.subscribe(fetch, {
    callback: (_err, m) => {
      pulls++;
      if (answer !== 'never') m.respond(answer(Number(m.string())));
    },
  });
  await s.nc.flush();
  try {
    const err = await announced(() => `${total}/${chunk}/${fetch}`)(t, s);
    // The worker really tried to pull: the error is about the chunks, not the announce.
    return pulls > 0 ? err : new Error(`${t.stage} answered without pulling a chunk: ${(err as Error).message}`);
  } finally {
    sub.unsubscribe();
  }
};

/** A frame's bytes up to the end of its envelope, plus `keep` bytes of its tensor area. */
export function cutAfterEnvelope(frame: Uint8Array, keep: number): Uint8Array {
  const envelope = new DataView(frame.buffer, frame.byteOffset).getUint32(4, true);
  return frame.slice(0, Math.ceil((8 + envelope) / 8) * 8 + keep);
}
