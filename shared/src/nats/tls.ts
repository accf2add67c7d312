/**
 * TLS to NATS for workers on other hosts: the CA that signed the server's
 * certificate (SPOOL_NATS_TLS_CA), and a client certificate and key when the
 * server verifies clients (SPOOL_NATS_TLS_CERT, SPOOL_NATS_TLS_KEY). With a
 * `tls://` URL and none of these, the system's trusted CAs apply.
 */
import { accessSync, constants } from 'node:fs';
import { ConfigError, readOptionalString, type Env } from '../config.ts';

export interface NatsTls {
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
}

export function readNatsTls(env: Env): NatsTls | undefined {
  const caFile = readOptionalString(env, 'SPOOL_NATS_TLS_CA');
  const certFile = readOptionalString(env, 'SPOOL_NATS_TLS_CERT');
  const keyFile = readOptionalString(env, 'SPOOL_NATS_TLS_KEY');
  if (!caFile && !certFile && !keyFile) return undefined;
  if (Boolean(certFile) !== Boolean(keyFile)) {
    throw new ConfigError('SPOOL_NATS_TLS_CERT and SPOOL_NATS_TLS_KEY go together: set both (a client certificate and its key) or neither');
  }
  for (const [name, file] of [['SPOOL_NATS_TLS_CA', caFile], ['SPOOL_NATS_TLS_CERT', certFile], ['SPOOL_NATS_TLS_KEY', keyFile]] as const) {
    if (!file) continue;
    try {
      accessSync(file, constants.R_OK);
    } catch {
      throw new ConfigError(`${name}=${file}: the file cannot be read`);
    }
  }
  return Object.freeze({ ...(caFile ? { caFile } : {}), ...(certFile ? { certFile, keyFile } : {}) });
}
