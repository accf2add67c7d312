/**
 * Reads a deployment layout from parsed JSON: shapes, types, counts and
 * device names, with no model at hand (`resolve.ts` checks the blocks against
 * the model). Pure: JSON in, a frozen `Layout` out, or a `ConfigError` whose
 * message names the file, the JSON path and how to fix it.
 *
 *   {
 *     "text-encoder": { "replicas": 1, "device": "cpu", "threads": 1 },
 *     "denoiser": [ { "blocks": "0:3", "device": "cuda:0" }, { "blocks": "3:6", "replicas": 2, "device": ["cuda:1", "cuda:2"] } ],
 *     "vae-decoder": { "device": "cuda:1" },
 *     "video-encoder": { "replicas": 1 }
 *   }
 *
 * `replicas` defaults to 1, `device` to `cpu`, `threads` to 1.
 */
import { ConfigError, deepFreeze } from '@spool/shared';
import { deviceLabel, parseBlocks, parseDevice } from '@spool/stages';
import type { DeviceChoice, Layout, ModelStageSpec, ShardSpec, VideoEncoderSpec } from './types.ts';

const TOP_KEYS = ['description', 'text-encoder', 'denoiser', 'vae-decoder', 'video-encoder'] as const;
const MODEL_STAGE_KEYS = ['replicas', 'device', 'threads'] as const;
const SHARD_KEYS = ['blocks', 'replicas', 'device', 'threads'] as const;
const MAX_REPLICAS = 64;
const MAX_THREADS = 256;

const EXAMPLE_STAGE = '{ "replicas": 1, "device": "cpu", "threads": 1 }';

type Json = Record<string, unknown>;

/** Validates `json` (the parsed file); `source` names the file in messages. */
export function parseLayout(json: unknown, source: string): Layout {
  const fail = (path: string, message: string): never => {
    throw new ConfigError(`${source}: ${path ? `${path} ` : ''}${message}`);
  };
  if (!isObject(json)) {
    return fail('', `a layout must be a JSON object with the keys ${TOP_KEYS.slice(1).join(', ')} (see infra/layout.json)`);
  }
  checkKeys(json, TOP_KEYS, '', fail);
  for (const key of TOP_KEYS.slice(1)) {
    if (json[key] === undefined) {
      const example = key === 'denoiser' ? '[{}, {}] (two shards, blocks split evenly)' : key === 'video-encoder' ? '{ "replicas": 1 }' : EXAMPLE_STAGE;
      fail(key, `is missing: every stage needs at least one worker; add e.g. "${key}": ${example}`);
    }
  }
  if (json.description !== undefined && typeof json.description !== 'string') fail('description', 'must be a string (a note for readers)');

  const shards = json.denoiser;
  if (!Array.isArray(shards) || shards.length === 0) {
    fail('denoiser', 'must be a non-empty list of shards, e.g. [{ "blocks": "0:3" }, { "blocks": "3:6" }], or [{}, {}] to split the blocks evenly');
  }
  const denoiser = (shards as unknown[]).map((s, i) => shardSpec(s, `denoiser[${i}]`, fail));
  const withBlocks = denoiser.findIndex((s) => s.blocks !== undefined);
  const without = denoiser.findIndex((s) => s.blocks === undefined);
  if (withBlocks >= 0 && without >= 0) {
    fail(
      `denoiser[${without}]`,
      `has no "blocks" but denoiser[${withBlocks}] has: give every shard its range, or none to split the model's blocks evenly`,
    );
  }

  return deepFreeze({
    ...(typeof json.description === 'string' ? { description: json.description } : {}),
    'text-encoder': modelStageSpec(json['text-encoder'], 'text-encoder', fail),
    denoiser,
    'vae-decoder': modelStageSpec(json['vae-decoder'], 'vae-decoder', fail),
    'video-encoder': videoEncoderSpec(json['video-encoder'], fail),
  } satisfies Layout);
}

type Fail = (path: string, message: string) => never;

function modelStageSpec(value: unknown, path: string, fail: Fail): ModelStageSpec {
  if (!isObject(value)) return fail(path, `must be an object such as ${EXAMPLE_STAGE}`);
  checkKeys(value, MODEL_STAGE_KEYS, path, fail);
  return common(value, path, fail);
}

function shardSpec(value: unknown, path: string, fail: Fail): ShardSpec {
  if (!isObject(value)) return fail(path, 'must be an object such as { "blocks": "0:3", "replicas": 1, "device": "cpu", "threads": 1 }, or {}');
  checkKeys(value, SHARD_KEYS, path, fail);
  const spec = common(value, path, fail);
  if (value.blocks === undefined) return spec;
  if (typeof value.blocks !== 'string') return fail(`${path}.blocks`, `must be a string "a:b" (first block, one past the last), e.g. "0:3" (got ${JSON.stringify(value.blocks)})`);
  try {
    return { ...spec, blocks: parseBlocks(value.blocks) };
  } catch (err) {
    // parseBlocks speaks of the worker's --blocks flag; here it is a JSON field.
    return fail(`${path}.blocks`, (err as Error).message.replace(/--blocks /g, ''));
  }
}

function videoEncoderSpec(value: unknown, fail: Fail): VideoEncoderSpec {
  const path = 'video-encoder';
  if (!isObject(value)) return fail(path, 'must be an object such as { "replicas": 1 }');
  for (const key of ['device', 'threads']) {
    if (key in value) fail(`${path}.${key}`, `is not a setting of the video encoder (it runs ffmpeg on the CPU); remove "${key}"`);
  }
  checkKeys(value, ['replicas'], path, fail);
  return { replicas: replicasOf(value, path, fail) };
}

function common(value: Json, path: string, fail: Fail): ModelStageSpec {
  const replicas = replicasOf(value, path, fail);
  const threads = value.threads ?? 1;
  if (!Number.isInteger(threads) || (threads as number) < 1 || (threads as number) > MAX_THREADS) {
    fail(`${path}.threads`, `must be an integer from 1 to ${MAX_THREADS}, the onnxruntime threads of each worker (got ${JSON.stringify(value.threads)})`);
  }
  return { replicas, device: deviceOf(value.device, replicas, `${path}.device`, fail), threads: threads as number };
}

function replicasOf(value: Json, path: string, fail: Fail): number {
  const replicas = value.replicas ?? 1;
  if (!Number.isInteger(replicas) || (replicas as number) < 1 || (replicas as number) > MAX_REPLICAS) {
    fail(`${path}.replicas`, `must be an integer from 1 to ${MAX_REPLICAS}, how many workers serve it (got ${JSON.stringify(value.replicas)})`);
  }
  return replicas as number;
}

function deviceOf(value: unknown, replicas: number, path: string, fail: Fail): DeviceChoice {
  if (value === undefined) return 'cpu';
  if (Array.isArray(value)) {
    if (value.length !== replicas) {
      fail(
        path,
        `lists ${value.length} device${value.length === 1 ? '' : 's'} but replicas is ${replicas}: give one device per replica, or a single device such as "cuda:0" for all of them`,
      );
    }
    return value.map((d, i) => oneDevice(d, `${path}[${i}]`, fail));
  }
  return oneDevice(value, path, fail);
}

function oneDevice(value: unknown, path: string, fail: Fail): string {
  const hint = 'must be "cpu" or "cuda:N" (e.g. "cuda:0"), or a list with one such device per replica';
  if (typeof value !== 'string') return fail(path, `${hint} (got ${JSON.stringify(value)})`);
  try {
    return deviceLabel(parseDevice(value));
  } catch {
    return fail(path, `${hint} (got ${JSON.stringify(value)})`);
  }
}

/** Refuses keys that are not settings, so that a typo is not silently ignored. */
function checkKeys(value: Json, allowed: readonly string[], path: string, fail: Fail): void {
  for (const key of Object.keys(value)) {
    if (allowed.includes(key)) continue;
    const near = closest(key, allowed);
    const owner = path ? `${path} takes` : 'the top level takes';
    fail(path ? `${path}.${key}` : key, `is not a layout setting${near ? ` (did you mean "${near}"?)` : ''}; ${owner} ${allowed.join(', ')}`);
  }
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The allowed key within two edits of a typo, if one is. */
function closest(word: string, options: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const o of options) {
    const d = editDistance(word.toLowerCase(), o);
    if (d < bestDistance) [best, bestDistance] = [o, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length];
}
