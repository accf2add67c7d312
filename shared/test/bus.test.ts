import { describe, expect, it } from 'vitest';
import {
  authorizationBlock,
  busIdentities,
  createBusCredentials,
  inboxPrefix,
  jobsBucket,
  jobStoreSubjects,
  permissionsFor,
  stageIdentity,
  upstreamIdentity,
  videosBucket,
} from '../src/index.ts';

const d = { model: 'cogvideox-mini', shards: 3 };

describe('bus identities', () => {
  it('has one identity per role and shard, with its own inbox prefix', () => {
    expect(busIdentities(2)).toEqual(['coordinator', 'launcher', 'text-encoder', 'denoise-0', 'denoise-1', 'vae-decoder', 'video-encoder']);
    expect(stageIdentity('denoiser', 3)).toBe('denoise-3');
    expect(inboxPrefix('cogvideox-mini', 'denoise-3')).toBe('_spool.in.cogvideox-mini.denoise-3');
    expect(() => inboxPrefix('cogvideox-mini', 'denoise.3')).toThrow(/subject token/);
  });

  it('names the one identity that sends each stage its frames', () => {
    expect(upstreamIdentity('text-encoder')).toBe('coordinator');
    expect(upstreamIdentity('denoiser', 0)).toBe('coordinator');
    expect(upstreamIdentity('denoiser', 2)).toBe('denoise-1');
    expect(upstreamIdentity('vae-decoder')).toBe('coordinator');
    expect(upstreamIdentity('video-encoder')).toBe('vae-decoder');
  });
});

describe('permissions', () => {
  it('lets the coordinator call only the entry stages and discovery, and receive on its own inbox', () => {
    const p = permissionsFor('coordinator', d);
    expect(p.publish).toEqual([
      'spool.cogvideox-mini.text-encoder',
      'spool.cogvideox-mini.denoise.0',
      'spool.cogvideox-mini.vae-decoder',
      '_spool.in.cogvideox-mini.text-encoder.chunks.*',
      '_spool.in.cogvideox-mini.denoise-2.chunks.*',
      '_spool.in.cogvideox-mini.video-encoder.chunks.*',
      '$SRV.>',
      ...jobStoreSubjects('cogvideox-mini'),
    ]);
    expect(p.subscribe).toEqual(['_spool.in.cogvideox-mini.coordinator.>']);
  });

  it("lets the coordinator alone use JetStream, and only its own model's two buckets", () => {
    expect(jobsBucket('cogvideox-mini')).toBe('spool-jobs-cogvideox-mini');
    expect(videosBucket('cogvideox-mini')).toBe('spool-videos-cogvideox-mini');
    expect(jobStoreSubjects('cogvideox-mini')).toEqual([
      '$JS.API.STREAM.INFO.KV_spool-jobs-cogvideox-mini',
      '$JS.API.STREAM.CREATE.KV_spool-jobs-cogvideox-mini',
      '$JS.API.STREAM.UPDATE.KV_spool-jobs-cogvideox-mini',
      '$JS.API.STREAM.INFO.OBJ_spool-videos-cogvideox-mini',
      '$JS.API.STREAM.CREATE.OBJ_spool-videos-cogvideox-mini',
      '$JS.API.STREAM.UPDATE.OBJ_spool-videos-cogvideox-mini',
      '$KV.spool-jobs-cogvideox-mini.>',
      '$O.spool-videos-cogvideox-mini.>',
      '$JS.API.DIRECT.GET.KV_spool-jobs-cogvideox-mini.>',
      '$JS.API.STREAM.MSG.GET.OBJ_spool-videos-cogvideox-mini',
      '$JS.API.STREAM.PURGE.OBJ_spool-videos-cogvideox-mini',
      '$JS.API.CONSUMER.CREATE.OBJ_spool-videos-cogvideox-mini.>',
      '$JS.FC.OBJ_spool-videos-cogvideox-mini.>',
    ]);
    // No wildcard reaches past the two buckets: every subject names one of them.
    for (const s of jobStoreSubjects('cogvideox-mini')) expect(s).toMatch(/spool-(jobs|videos)-cogvideox-mini(\.|$)/);
    for (const identity of busIdentities(3).filter((i) => i !== 'coordinator')) {
      const p = permissionsFor(identity, d);
      expect([...p.publish, ...p.subscribe].filter((s) => s.startsWith('$JS') || s.startsWith('$KV') || s.startsWith('$O.'))).toEqual([]);
    }
    expect(() => jobsBucket('Bad.Model')).toThrow(/not a valid bucket name part/);
  });

  it('lets each shard publish to its next hop only, and pull chunks from the one that sends it frames', () => {
    expect(permissionsFor('denoise-0', d).publish).toEqual(['spool.cogvideox-mini.denoise.1', '_spool.in.cogvideox-mini.coordinator.chunks.*']);
    expect(permissionsFor('denoise-1', d).publish).toEqual(['spool.cogvideox-mini.denoise.2', '_spool.in.cogvideox-mini.denoise-0.chunks.*']);
    // The last shard answers the caller: no next hop.
    expect(permissionsFor('denoise-2', d).publish).toEqual(['_spool.in.cogvideox-mini.denoise-1.chunks.*']);
    expect(permissionsFor('denoise-1', d).subscribe).toEqual([
      'spool.cogvideox-mini.denoise.1',
      '_spool.in.cogvideox-mini.denoise-1.>',
      '$SRV.*',
      '$SRV.*.spool-denoise-1',
      '$SRV.*.spool-denoise-1.*',
    ]);
    expect(permissionsFor('denoise-1', d).responses).toBeDefined();
  });

  it('chains the VAE to the video encoder, and gives the launcher discovery alone', () => {
    expect(permissionsFor('vae-decoder', d).publish).toEqual(['spool.cogvideox-mini.video-encoder', '_spool.in.cogvideox-mini.coordinator.chunks.*']);
    expect(permissionsFor('video-encoder', d).publish).toEqual(['_spool.in.cogvideox-mini.vae-decoder.chunks.*']);
    expect(permissionsFor('launcher', d)).toEqual({ publish: ['$SRV.>'], subscribe: ['_spool.in.cogvideox-mini.launcher.>'] });
  });

  it("lets a stage answer a call only as long as the coordinator waits for it", () => {
    expect(permissionsFor('denoise-1', d).responses).toEqual({ max: 100_000, expiresMs: 90_000 });
    expect(permissionsFor('denoise-1', { ...d, callTimeoutMs: 600_000 }).responses?.expiresMs).toBe(630_000);
    expect(authorizationBlock([{ identity: 'vae-decoder', publicKey: 'U' + 'A'.repeat(55) }], d)).toContain('allow_responses: { max: 100000, expires: "90s" }');
  });

  it('knows no identity outside the deployment', () => {
    expect(() => permissionsFor('denoise-3', d)).toThrow(/not an identity of a 3-shard deployment/);
    expect(() => permissionsFor('admin', d)).toThrow(/not an identity/);
  });
});

describe('the server configuration', () => {
  it('names users by public key only: no seed is ever written into it', () => {
    const creds = createBusCredentials(busIdentities(1), { model: 'm', shards: 1 });
    for (const k of creds.keys) {
      expect(creds.authorization).toContain(`nkey: ${k.publicKey}`);
      expect(creds.authorization).not.toContain(k.seed);
      expect(k.seed.startsWith('SU')).toBe(true);
    }
    expect(() => authorizationBlock([{ identity: 'coordinator', publicKey: 'not-a-key' }], { model: 'm', shards: 1 })).toThrow(/not a user public nkey/);
  });
});
