import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { hasComponent, loadModelPackage, ManifestError, MODELS_DIR, sha256File, timeEmbedDim } from '../src/index.ts';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** The tiny package's manifest, changed by `edit`, in a directory of its own. */
function packageWith(edit: (m: Record<string, any>) => void): string {
  const m = JSON.parse(readFileSync(path.join(MODELS_DIR, 'cogvideox-tiny', 'manifest.json'), 'utf8'));
  edit(m);
  const dir = mkdtempSync(path.join(tmpdir(), 'spool-manifest-'));
  dirs.push(dir);
  writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(m));
  return dir;
}

describe('model manifests', () => {
  it('hashes a file in pieces as a whole-file sha256 would', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'spool-sha-'));
    dirs.push(dir);
    const bytes = Buffer.alloc(40 * 1024 * 1024 + 7, 0x5a);
    bytes[123_456_78 % bytes.length] = 1;
    writeFileSync(path.join(dir, 'big.bin'), bytes);
    expect(sha256File(path.join(dir, 'big.bin'))).toBe(createHash('sha256').update(bytes).digest('hex'));
  });

  it('loads every package the repository ships', () => {
    for (const name of ['cogvideox-tiny', 'cogvideox-mini']) {
      expect(loadModelPackage(path.join(MODELS_DIR, name)).manifest.name).toBe(name);
    }
  });

  it('accepts a frame noise correlation in [0, 1) and names the field otherwise', () => {
    expect(loadModelPackage(packageWith((m) => (m.scheduler.frame_noise_correlation = 0.5))).manifest.scheduler.frame_noise_correlation).toBe(0.5);
    for (const bad of [1, -0.2, '0.5']) {
      expect(() => loadModelPackage(packageWith((m) => (m.scheduler.frame_noise_correlation = bad)))).toThrow(
        /scheduler\.frame_noise_correlation must be a number in \[0, 1\)/,
      );
    }
  });

  it('accepts a guidance rescale in [0, 1] and names the field otherwise', () => {
    expect(loadModelPackage(packageWith((m) => (m.defaults.guidance_rescale = 0.7))).manifest.defaults.guidance_rescale).toBe(0.7);
    expect(loadModelPackage(packageWith((m) => delete m.defaults.guidance_rescale)).manifest.defaults.guidance_rescale).toBe(0);
    for (const bad of [1.5, -0.1, '0.7']) {
      expect(() => loadModelPackage(packageWith((m) => (m.defaults.guidance_rescale = bad)))).toThrow(/defaults\.guidance_rescale must be a number in \[0, 1\]/);
    }
  });

  it('reads defaults.use_dynamic_cfg as a boolean, absent meaning false, and names the field otherwise', () => {
    expect(loadModelPackage(packageWith((m) => (m.defaults.use_dynamic_cfg = true))).manifest.defaults.use_dynamic_cfg).toBe(true);
    expect(loadModelPackage(path.join(MODELS_DIR, 'cogvideox-tiny')).manifest.defaults.use_dynamic_cfg ?? false).toBe(false);
    for (const bad of ['true', 1, null]) {
      expect(() => loadModelPackage(packageWith((m) => (m.defaults.use_dynamic_cfg = bad)))).toThrow(/defaults\.use_dynamic_cfg must be true or false/);
    }
  });

  it('refuses betas and timestep spacings the samplers do not compute', () => {
    expect(() => loadModelPackage(packageWith((m) => (m.scheduler.beta_schedule = 'linear')))).toThrow(/scheduler\.beta_schedule must be scaled_linear/);
    expect(() => loadModelPackage(packageWith((m) => (m.scheduler.timestep_spacing = 'leading')))).toThrow(/scheduler\.timestep_spacing trailing/);
  });

  it('reads what a real CogVideoX needs, and what parts a package holds', () => {
    const m = loadModelPackage(
      packageWith((j) => {
        j.scheduler.type = 'cogvideox-dpm';
        j.transformer.time_embed_dim = 32;
        j.transformer.rotary = { type: '3d', head_dim: 16, theta: 10000, base_height: 4, base_width: 4 };
        j.vae.chunked = { next: 'vae/next.onnx', frame_batch: 2 };
        j.components = ['transformer'];
      }),
    ).manifest;
    expect(timeEmbedDim(m)).toBe(32);
    expect(hasComponent(m, 'transformer')).toBe(true);
    expect(hasComponent(m, 'vae')).toBe(false);
    const tiny = loadModelPackage(path.join(MODELS_DIR, 'cogvideox-tiny')).manifest;
    expect(timeEmbedDim(tiny)).toBe(tiny.transformer.hidden_size);
    expect(hasComponent(tiny, 'vae')).toBe(true);
  });

  it('refuses schedulers and geometry it cannot run, saying which', () => {
    const cases: [(m: Record<string, any>) => void, RegExp][] = [
      [(m) => (m.scheduler.type = 'euler'), /scheduler\.type euler is not supported/],
      [(m) => (m.scheduler.prediction_type = 'epsilon'), /only v_prediction/],
      [(m) => (m.defaults.num_frames = m.limits.max_frames + 1), /defaults\.num_frames is outside the limits/],
      [(m) => (m.video.width = m.latent.spatial_compression * 3 + 1), /multiple of the spatial compression/],
      [(m) => (m.transformer.time_embed_dim = 0), /transformer\.time_embed_dim must be a positive integer/],
      [(m) => (m.transformer.rotary = { type: '2d', head_dim: 16, theta: 10000, base_height: 4, base_width: 4 }), /transformer\.rotary must be/],
      [(m) => (m.vae.chunked = { next: 'vae/next.onnx', frame_batch: 0 }), /vae\.chunked must be/],
      [(m) => (m.components = ['transformer', 'unet']), /components must list some of text_encoder, transformer, vae/],
    ];
    for (const [edit, message] of cases) {
      const dir = packageWith(edit);
      expect(() => loadModelPackage(dir)).toThrow(ManifestError);
      expect(() => loadModelPackage(dir)).toThrow(message);
    }
  });
});
