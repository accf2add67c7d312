/**
 * Connecting to NATS with the options every spool process uses: its bus
 * identity (nkey and inbox prefix), reconnecting for ever with a bounded,
 * jittered backoff, and a watch on the connection that says, while it is
 * down, since when and why.
 */
import { nkeyAuthenticator, type NatsConnection, type Status } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import type { NatsTls } from './tls.ts';

export interface BusAuth {
  readonly identity: string;
  /** Where this identity's replies and chunk fetches live (`inboxPrefix()` of the bus module). */
  readonly inboxPrefix: string;
  /** The identity's nkey seed (`SU…`); absent on a bus without authorization. */
  readonly seed?: string;
}

export interface ConnectOptions {
  /** Comma-separated server URLs. */
  readonly servers: string;
  /** Client name shown by the server's monitoring. */
  readonly name: string;
  readonly auth?: BusAuth;
  /** TLS settings for a `tls://` server (see `readNatsTls`). */
  readonly tls?: NatsTls;
  /** Keep trying when the server is not up yet at start (the default), instead of failing at once. */
  readonly waitOnFirstConnect?: boolean;
}

/** Reconnect delays double from the first to the cap, plus up to 20 % jitter. */
export const RECONNECT_DELAY_MS = Object.freeze({ first: 250, cap: 2_000 });

export interface ConnectionWatch {
  readonly servers: string;
  readonly connected: boolean;
  /** Why the connection is down, in one sentence; undefined while it is up. */
  problem(): string | undefined;
  stop(): void;
}

/** Connects; the returned connection carries a watch (see `connectionWatch`). */
export async function connectNats(opts: ConnectOptions): Promise<NatsConnection> {
  let attempt = 0;
  const nc = await connect({
    servers: opts.servers.split(',').map((s) => s.trim()),
    name: opts.name,
    maxReconnectAttempts: -1,
    waitOnFirstConnect: opts.waitOnFirstConnect ?? true,
    reconnectDelayHandler: () => {
      const base = Math.min(RECONNECT_DELAY_MS.cap, RECONNECT_DELAY_MS.first * 2 ** attempt++);
      return Math.round(base * (1 + 0.2 * Math.random()));
    },
    // A half-open connection (a frozen server) is noticed within about 30 s.
    pingInterval: 10_000,
    maxPingOut: 3,
    ...(opts.auth ? { inboxPrefix: opts.auth.inboxPrefix } : {}),
    ...(opts.tls ? { tls: { ...opts.tls } } : {}),
    ...(opts.auth?.seed ? { authenticator: nkeyAuthenticator(new TextEncoder().encode(opts.auth.seed)) } : {}),
  });
  watches.set(nc, watch(nc, opts.servers, () => (attempt = 0)));
  return nc;
}

const watches = new WeakMap<NatsConnection, ConnectionWatch>();

/** The watch of a connection made by `connectNats`. */
export function connectionWatch(nc: NatsConnection): ConnectionWatch | undefined {
  return watches.get(nc);
}

function watch(nc: NatsConnection, servers: string, onReconnect: () => void): ConnectionWatch {
  let connected = true;
  let downSince = 0;
  let lastError: string | undefined;
  let stopped = false;
  void (async () => {
    for await (const s of nc.status() as AsyncIterable<Status>) {
      if (stopped) break;
      switch (s.type) {
        case 'disconnect':
          if (connected) downSince = Date.now();
          connected = false;
          break;
        case 'reconnect':
          connected = true;
          lastError = undefined;
          onReconnect();
          break;
        case 'error':
          lastError = s.error.message;
          break;
        case 'close':
          connected = false;
          downSince ||= Date.now();
          lastError ??= 'the connection was closed';
          break;
        default:
          break;
      }
    }
  })().catch(() => undefined);
  return {
    servers,
    get connected() {
      return connected && !nc.isClosed();
    },
    problem() {
      if (connected && !nc.isClosed()) return undefined;
      const since = downSince ? ` for ${Math.max(0, Math.round((Date.now() - downSince) / 1000))} s` : '';
      const why = lastError ? `; last error: ${lastError}` : '';
      if (nc.isClosed()) return `the connection to NATS at ${servers} is closed${why}`;
      return `not connected to NATS at ${servers}${since}, reconnecting${why}`;
    },
    stop() {
      stopped = true;
    },
  };
}

/** The inbox prefix a connection was made with (`_INBOX` without one). */
export function inboxPrefixOf(nc: NatsConnection): string {
  return (nc as unknown as { options?: { inboxPrefix?: string } }).options?.inboxPrefix || '_INBOX';
}
