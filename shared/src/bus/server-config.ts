/**
 * The `authorization` block of nats-server's configuration for a deployment:
 * one user per identity, known by its public nkey only (the server never
 * holds a secret), with that identity's permissions. Pure text rendering;
 * nats-server 2.9 reads it.
 */
import { permissionsFor, type Deployment, type Permissions } from './permissions.ts';

export interface IdentityKey {
  readonly identity: string;
  /** The public nkey, `U…`. */
  readonly publicKey: string;
}

const quote = (s: string): string => JSON.stringify(s);
const list = (items: readonly string[]): string => `[${items.map(quote).join(', ')}]`;

function renderPermissions(p: Permissions): string {
  const lines = [`publish: { allow: ${list(p.publish)} }`, `subscribe: { allow: ${list(p.subscribe)} }`];
  if (p.responses) lines.push(`allow_responses: { max: ${p.responses.max}, expires: "${Math.round(p.responses.expiresMs / 1000)}s" }`);
  return lines.join('\n        ');
}

export function authorizationBlock(keys: readonly IdentityKey[], d: Deployment): string {
  const users = keys.map((k) => {
    if (!/^U[A-Z2-7]{55}$/.test(k.publicKey)) throw new RangeError(`${k.identity}: ${k.publicKey} is not a user public nkey`);
    return [
      `    # ${k.identity}`,
      '    {',
      `      nkey: ${k.publicKey}`,
      '      permissions: {',
      `        ${renderPermissions(permissionsFor(k.identity, d))}`,
      '      }',
      '    }',
    ].join('\n');
  });
  return [
    `# spool bus for model ${d.model} with ${d.shards} denoiser shard(s): one user per identity, by public nkey.`,
    'authorization {',
    '  timeout: 5',
    '  users: [',
    ...users,
    '  ]',
    '}',
    '',
  ].join('\n');
}
