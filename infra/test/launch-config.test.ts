/** `npm start`'s settings: the layout file and the shorthands that override it. */
import path from 'node:path';
import { ConfigError } from '@spool/shared';
import { describe, expect, it } from 'vitest';
import { loadLaunchConfig } from '../src/config.ts';

const ROOT = '/repo';

describe('loadLaunchConfig', () => {
  it('reads infra/layout.json with no shorthands by default', () => {
    const c = loadLaunchConfig({}, ROOT);
    expect(c.layoutFile).toBe(path.join(ROOT, 'infra/layout.json'));
    expect(c.shorthands).toEqual({});
    expect(Object.isFrozen(c.shorthands)).toBe(true);
    expect(c.metricsToken).toBeUndefined();
    expect(loadLaunchConfig({ SPOOL_METRICS_TOKEN: ' scrape-me ' }, ROOT).metricsToken).toBe('scrape-me');
  });

  it('takes SPOOL_LAYOUT relative to the repository, and every shorthand', () => {
    const c = loadLaunchConfig(
      { SPOOL_LAYOUT: 'infra/layouts/two-gpu.json', SPOOL_REPLICAS: '2', SPOOL_SHARDS: '3', SPOOL_DEVICE: 'CUDA:1', SPOOL_ORT_THREADS: '4' },
      ROOT,
    );
    expect(c.layoutFile).toBe(path.join(ROOT, 'infra/layouts/two-gpu.json'));
    expect(c.shorthands).toEqual({ replicas: 2, shards: 3, device: 'cuda:1', threads: 4 });
    expect(loadLaunchConfig({ SPOOL_LAYOUT: '/etc/spool/layout.json' }, ROOT).layoutFile).toBe('/etc/spool/layout.json');
  });

  it.each([
    [{ SPOOL_REPLICAS: '0' }, 'SPOOL_REPLICAS="0" must be an integer from 1 to 64'],
    [{ SPOOL_SHARDS: 'two' }, 'SPOOL_SHARDS="two" must be an integer from 1 to 64'],
    [{ SPOOL_ORT_THREADS: '0' }, 'SPOOL_ORT_THREADS="0" must be an integer from 1 to 256'],
    [{ SPOOL_DEVICE: 'gpu0' }, 'SPOOL_DEVICE="gpu0" must be cpu or cuda:N (e.g. cuda:0): the device of every model worker'],
  ])('refuses %j saying what it takes', (env, message) => {
    expect(() => loadLaunchConfig(env, ROOT)).toThrow(ConfigError);
    expect(() => loadLaunchConfig(env, ROOT)).toThrow(message);
  });
});
