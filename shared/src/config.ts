/**
 * Helpers for each package's `loadConfig(env)`: typed reads of environment
 * variables that fail with a message naming the variable and what it accepts.
 */

export type Env = Readonly<Record<string, string | undefined>>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export function readString(env: Env, name: string, fallback: string): string {
  const v = env[name];
  return v === undefined || v.trim() === '' ? fallback : v.trim();
}

export function readOptionalString(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

export function readInt(env: Env, name: string, fallback: number, range: { min?: number; max?: number } = {}): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const v = Number(raw);
  const { min = -Infinity, max = Infinity } = range;
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new ConfigError(`${name}=${JSON.stringify(raw)} must be an integer${describeRange(min, max)}`);
  }
  return v;
}

export function readNumber(env: Env, name: string, fallback: number, range: { min?: number; max?: number } = {}): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const v = Number(raw);
  const { min = -Infinity, max = Infinity } = range;
  if (!Number.isFinite(v) || v < min || v > max) {
    throw new ConfigError(`${name}=${JSON.stringify(raw)} must be a number${describeRange(min, max)}`);
  }
  return v;
}

export function readEnum<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const v = raw.trim() as T;
  if (!allowed.includes(v)) throw new ConfigError(`${name}=${JSON.stringify(raw)} must be one of: ${allowed.join(', ')}`);
  return v;
}

export function readList(env: Env, name: string): string[] {
  const raw = env[name];
  if (!raw) return [];
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function describeRange(min: number, max: number): string {
  if (min > -Infinity && max < Infinity) return ` from ${min} to ${max}`;
  if (min > -Infinity) return ` ≥ ${min}`;
  if (max < Infinity) return ` ≤ ${max}`;
  return '';
}

export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  }
  return value;
}
