/**
 * The API token of a local stack when SPOOL_API_TOKENS is unset: generated
 * once and kept in `.spool/token` (git-ignored), so the printed curl line keeps
 * working across restarts.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export function localToken(root: string): { token: string; file: string; created: boolean } {
  const file = path.join(root, '.spool', 'token');
  if (existsSync(file)) {
    const token = readFileSync(file, 'utf8').trim();
    if (/^[A-Za-z0-9_-]{16,}$/.test(token)) return { token, file, created: false };
  }
  mkdirSync(path.dirname(file), { recursive: true });
  const token = `spool_${randomBytes(24).toString('base64url')}`;
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return { token, file, created: true };
}
