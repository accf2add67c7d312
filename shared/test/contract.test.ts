import { describe, expect, it } from 'vitest';
import {
  errorFromHeaders,
  errorToHeaders,
  planFrames,
  readInt,
  serviceNameFor,
  SpoolError,
  stageLabel,
  stageSubject,
  wireError,
} from '../src/index.ts';

describe('subjects', () => {
  it('names subjects, labels and services per role and shard', () => {
    expect(stageSubject('cogvideox-mini', 'denoiser', 1)).toBe('spool.cogvideox-mini.denoise.1');
    expect(stageSubject('cogvideox-mini', 'text-encoder')).toBe('spool.cogvideox-mini.text-encoder');
    expect(stageLabel('denoiser', 1)).toBe('denoise.1');
    expect(serviceNameFor('denoiser', 0)).toBe('spool-denoise-0');
    expect(serviceNameFor('vae-decoder')).toBe('spool-vae-decoder');
    expect(() => stageSubject('cogvideox-mini', 'denoiser')).toThrow(/shard/);
    expect(() => stageSubject('Bad Name', 'vae-decoder')).toThrow(/subject token/);
  });
});

describe('errors over headers', () => {
  it('rebuilds the same typed error on the other side', () => {
    const sent = wireError('SPOOL_ERR_MODEL', 'onnxruntime failed:\nshape mismatch', { stage: 'denoise.1' });
    const hdrs = errorToHeaders(sent);
    const got = errorFromHeaders((k) => hdrs[k]);
    expect(got).toBeInstanceOf(SpoolError);
    expect(got?.code).toBe('SPOOL_ERR_MODEL');
    expect(got?.status).toBe(502);
    expect(got?.stage).toBe('denoise.1');
    expect(got?.message).toBe('onnxruntime failed: shape mismatch');
  });

  it('returns undefined when the headers carry no error', () => {
    expect(errorFromHeaders(() => undefined)).toBeUndefined();
  });
});

describe('frame plan', () => {
  it('generates the smallest 4k+1 count at or above the request', () => {
    expect(planFrames(49, 4)).toEqual({ requested: 49, generated: 49, latentFrames: 13 });
    expect(planFrames(8, 4)).toEqual({ requested: 8, generated: 9, latentFrames: 3 });
    expect(planFrames(100, 4)).toEqual({ requested: 100, generated: 101, latentFrames: 26 });
    expect(planFrames(1, 4)).toEqual({ requested: 1, generated: 1, latentFrames: 1 });
  });
});

describe('config readers', () => {
  it('say which variable is wrong and what it accepts', () => {
    expect(readInt({ X: '5' }, 'X', 1, { min: 1, max: 9 })).toBe(5);
    expect(readInt({}, 'X', 3)).toBe(3);
    expect(() => readInt({ X: 'ten' }, 'X', 1, { min: 1, max: 9 })).toThrow('X="ten" must be an integer from 1 to 9');
  });
});
