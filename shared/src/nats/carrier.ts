/** W3C trace context in NATS headers: the propagator's getter and setter. */
import { context, propagation, type Context } from '@opentelemetry/api';
import { headers as natsHeaders, type MsgHdrs } from '@nats-io/nats-core';

const getter = {
  keys: (carrier: MsgHdrs | undefined): string[] => (carrier ? [...carrier.keys()] : []),
  get: (carrier: MsgHdrs | undefined, key: string): string | undefined => {
    if (!carrier?.has(key)) return undefined;
    return carrier.get(key);
  },
};

const setter = {
  set: (carrier: MsgHdrs, key: string, value: string): void => carrier.set(key, value),
};

/** Headers carrying the active (or given) context. */
export function injectContext(ctx: Context = context.active(), into: MsgHdrs = natsHeaders()): MsgHdrs {
  propagation.inject(ctx, into, setter);
  return into;
}

export function extractContext(hdrs: MsgHdrs | undefined): Context {
  return propagation.extract(context.active(), hdrs, getter);
}
