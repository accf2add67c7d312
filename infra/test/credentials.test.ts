/**
 * `npm run credentials`: its pure parts (arguments, which process gets which
 * key, what counts as a set already there, the report), then the command
 * itself, run as a user runs it.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { nkeys } from '@nats-io/nats-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, readSeedFile } from '@spool/shared';
import { credentialsReport, existingSet, keyAssignments, parseCredentialsArgs, refusal } from '../src/credentials.ts';
import { parseLayout } from '../src/layout/parse.ts';
import { resolveLayout } from '../src/layout/resolve.ts';
import { REPO_ROOT } from '../src/stack.ts';

const mini = { name: 'cogvideox-mini', blockCount: 6 };
const resolve = (json: unknown) => resolveLayout(parseLayout(json, 'test.json'), mini, 'test.json');

describe('parseCredentialsArgs', () => {
  it('takes --layout, --out, an optional --model and --force', () => {
    expect(parseCredentialsArgs(['--layout', 'l.json', '--out', 'keys'])).toEqual({ layout: 'l.json', out: 'keys', force: false });
    expect(parseCredentialsArgs(['--layout', 'l.json', '--model', 'models/m', '--out', 'keys', '--force'])).toEqual({ layout: 'l.json', model: 'models/m', out: 'keys', force: true });
  });

  it.each([
    [['--out', 'keys'], '--layout is required'],
    [['--layout', 'l.json'], '--out is required'],
    [['--layout', 'l.json', '--out', 'keys', '--shards', '3'], "Unknown option '--shards'"],
    [['--layout', 'l.json', '--out', 'keys', 'extra'], 'extra'],
  ])('refuses %j, with the usage', (argv, message) => {
    expect(() => parseCredentialsArgs(argv)).toThrow(ConfigError);
    expect(() => parseCredentialsArgs(argv)).toThrow(message);
    expect(() => parseCredentialsArgs(argv)).toThrow('usage: npm run credentials -- --layout FILE [--model DIR] --out DIR [--force]');
  });
});

describe('keyAssignments', () => {
  it('names every identity of the layout once, with the compose services that share it', () => {
    const layout = resolve({
      'text-encoder': {},
      denoiser: [{ blocks: '0:2' }, { blocks: '2:6', replicas: 2 }],
      'vae-decoder': { replicas: 3 },
      'video-encoder': {},
    });
    const a = keyAssignments(layout);
    expect(a.map((k) => k.file)).toEqual(['coordinator.nk', 'launcher.nk', 'text-encoder.nk', 'denoise-0.nk', 'denoise-1.nk', 'vae-decoder.nk', 'video-encoder.nk']);
    const services = Object.fromEntries(a.map((k) => [k.identity, k.services]));
    expect(services).toEqual({
      coordinator: ['coordinator'],
      launcher: [],
      'text-encoder': ['text-encoder'],
      'denoise-0': ['denoise-0'],
      'denoise-1': ['denoise-1-r0', 'denoise-1-r1'],
      'vae-decoder': ['vae-decoder-r0', 'vae-decoder-r1', 'vae-decoder-r2'],
      'video-encoder': ['video-encoder'],
    });
    expect(a.find((k) => k.identity === 'denoise-1')?.role).toBe('denoiser shard 1, blocks 2:6, all 2 replicas');
  });
});

describe('existingSet', () => {
  it('counts auth.conf and key files, leaves anything else alone, and reports folders in their place', () => {
    expect(existingSet([{ name: 'README.md', isFile: true }])).toEqual({ files: [], notFiles: [] });
    expect(
      existingSet([
        { name: 'README.md', isFile: true },
        { name: 'denoise-0.nk', isFile: true },
        { name: 'auth.conf', isFile: true },
        { name: 'coordinator.nk', isFile: false },
      ]),
    ).toEqual({ files: ['auth.conf', 'denoise-0.nk'], notFiles: ['coordinator.nk'] });
  });

  it('says how to replace a set', () => {
    const text = refusal('infra/secrets', { files: ['auth.conf', 'coordinator.nk', 'launcher.nk'], notFiles: [] });
    expect(text).toContain('infra/secrets already holds a bus key set (auth.conf and 2 key files)');
    expect(text).toContain('--force');
  });
});

describe('credentialsReport', () => {
  it('lists every file and where it goes', () => {
    const layout = resolve({ 'text-encoder': {}, denoiser: [{}, { replicas: 2 }], 'vae-decoder': {}, 'video-encoder': {} });
    const text = credentialsReport({ model: 'cogvideox-mini', layout, out: 'infra/secrets', replaced: [] });
    expect(text).toContain('a new bus key set for cogvideox-mini with 2 denoiser shards (test.json), written to infra/secrets');
    expect(text).toMatch(/auth\.conf\s+the NATS server only/);
    expect(text).toMatch(/denoise-1\.nk\s+denoiser shard 1, blocks 3:6, all 2 replicas; compose: denoise-1-r0, denoise-1-r1/);
    expect(text).toMatch(/launcher\.nk\s+npm start with NATS_URL/);
    expect(text).toContain('SPOOL_NATS_KEY_FILE');
    expect(text).not.toContain('replaces');
    expect(credentialsReport({ model: 'cogvideox-mini', layout, out: 'k', replaced: ['auth.conf', 'a.nk'] })).toContain('It replaces the set that was there (2 files deleted)');
  });
});

describe('npm run credentials', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'spool-credentials-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // The npm script installs what is missing first, and says so on stderr; have that done before.
  beforeAll(() => void spawnSync('bash', ['infra/bin/bootstrap.sh'], { cwd: REPO_ROOT, stdio: 'ignore', timeout: 300_000 }));

  const run = (args: string[], viaNpm = false): { status: number | null; stdout: string; stderr: string } => {
    const [cmd, argv] = viaNpm
      ? ['npm', ['run', '--silent', 'credentials', '--', ...args]]
      : [process.execPath, ['--import', 'tsx', 'infra/src/credentials-main.ts', ...args]];
    const r = spawnSync(cmd, argv, { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const snapshot = (d: string): Record<string, string> => Object.fromEntries(readdirSync(d).map((f) => [f, readFileSync(path.join(d, f), 'utf8')]));
  const mode = (p: string): number => statSync(p).mode & 0o777;
  const threeShards = path.join(dir, 'three-shards.json');
  writeFileSync(threeShards, JSON.stringify({ 'text-encoder': {}, denoiser: [{}, {}, {}], 'vae-decoder': {}, 'video-encoder': {} }));

  it('writes a key per identity (0600) and auth.conf into a new 0700 folder, and says where each goes', () => {
    const out = path.join(dir, 'two-gpu');
    const r = run(['--layout', 'infra/layouts/two-gpu.json', '--out', out], true);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const identities = ['coordinator', 'launcher', 'text-encoder', 'denoise-0', 'denoise-1', 'vae-decoder', 'video-encoder'];
    expect(readdirSync(out).sort()).toEqual(['auth.conf', ...identities.map((id) => `${id}.nk`)].sort());
    expect(mode(out)).toBe(0o700);
    const auth = readFileSync(path.join(out, 'auth.conf'), 'utf8');
    expect(auth).toContain('# spool bus for model cogvideox-mini with 2 denoiser shard(s)');
    for (const id of identities) {
      const file = path.join(out, `${id}.nk`);
      expect(mode(file)).toBe(0o600);
      // The server knows each identity by the public key of exactly that seed.
      const publicKey = nkeys.fromSeed(new TextEncoder().encode(readSeedFile(file))).getPublicKey();
      expect(auth).toContain(`# ${id}\n    {\n      nkey: ${publicKey}`);
      expect(r.stdout).toContain(`${id}.nk`);
    }
    expect(mode(path.join(out, 'auth.conf'))).toBe(0o600);
    expect(r.stdout).toContain('compose: denoise-1');
  });

  it('refuses to overwrite a set without --force, and leaves it as it was', () => {
    const out = path.join(dir, 'two-gpu');
    const before = snapshot(out);
    const r = run(['--layout', 'infra/layouts/two-gpu.json', '--out', out]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${out} already holds a bus key set (auth.conf and 7 key files)`);
    expect(r.stderr).toContain('--force');
    expect(snapshot(out)).toEqual(before);
  });

  it('replaces a set with --force: new keys, stale ones gone, modes restored, other files kept', () => {
    const out = path.join(dir, 'replace');
    mkdirSync(out);
    writeFileSync(path.join(out, 'README.md'), 'keep me\n');
    expect(run(['--layout', threeShards, '--out', out]).status).toBe(0);
    expect(readdirSync(out)).toContain('denoise-2.nk');
    const before = snapshot(out);
    chmodSync(path.join(out, 'coordinator.nk'), 0o644);

    const r = run(['--layout', 'infra/layout.json', '--out', out, '--force']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('It replaces the set that was there (9 files deleted)');
    const after = snapshot(out);
    expect(Object.keys(after)).not.toContain('denoise-2.nk');
    expect(after['README.md']).toBe('keep me\n');
    expect(after['coordinator.nk']).not.toBe(before['coordinator.nk']);
    expect(after['auth.conf']).toContain('with 2 denoiser shard(s)');
    expect(mode(path.join(out, 'coordinator.nk'))).toBe(0o600);
  });

  it('says what to do about a folder where a key file belongs', () => {
    const out = path.join(dir, 'docker-made');
    mkdirSync(path.join(out, 'auth.conf'), { recursive: true });
    const r = run(['--layout', 'infra/layout.json', '--out', out, '--force']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('holds auth.conf/, a folder where a key file belongs');
    expect(r.stderr).toContain(`rm -r ${path.join(out, 'auth.conf')}`);
  });

  it('checks the layout against the model before it writes anything', () => {
    const bad = path.join(dir, 'bad-layout.json');
    writeFileSync(bad, JSON.stringify({ 'text-encoder': {}, denoiser: [{ blocks: '0:2' }, { blocks: '2:5' }], 'vae-decoder': {}, 'video-encoder': {} }));
    const out = path.join(dir, 'never');
    const r = run(['--layout', bad, '--out', out]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('denoiser[1].blocks "2:5" must end at block 6');
    expect(() => statSync(out)).toThrow();
    const noModel = run(['--layout', 'infra/layout.json', '--model', path.join(dir, 'no-model'), '--out', out]);
    expect(noModel.status).toBe(2);
    expect(() => statSync(out)).toThrow();
  });
});
