/**
 * What a span tells about the messages of a stage call: how many rows (the
 * batch size: two CFG branches per request) and how many tensor bytes went
 * in and came out. Read from the decoded messages alone: pure, no NATS.
 */
import type { WireMessage } from './codec.ts';

/** The bytes of every tensor a message carries (the frame's envelope and padding aside). */
export function tensorBytes(message: WireMessage): number {
  let n = 0;
  for (const t of Object.values(message.tensors)) n += t.data.byteLength;
  return n;
}

/**
 * The rows a call handled: the leading dimension of the request's first
 * tensor, or of the reply's when the request carries none (a text encoder
 * gets prompts in meta and answers one row per prompt). Undefined when
 * neither has a tensor with a dimension.
 */
export function batchRows(request: WireMessage, reply?: WireMessage): number | undefined {
  return leadingDim(request) ?? (reply ? leadingDim(reply) : undefined);
}

function leadingDim(message: WireMessage): number | undefined {
  for (const t of Object.values(message.tensors)) if (t.shape.length > 0) return t.shape[0];
  return undefined;
}
