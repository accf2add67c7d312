/**
 * The start command as a user runs it: `node infra/src/main.ts` brings up
 * nats-server, the workers and the coordinator, prints a curl line and a CLI line that work,
 * and SIGTERM leaves nothing running; killed outright, it leaves no process
 * and not its run's folder (bus keys, JetStream's store of the jobs).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../src/net.ts';
import { REPO_ROOT } from '../src/stack.ts';
import { probe } from './helpers/media.ts';
import { alive, commandOf, descendants } from './helpers/processes.ts';

const execFileAsync = promisify(execFile);

describe('npm start', () => {
  let child: ChildProcess | undefined;
  const dir = mkdtempSync(path.join(tmpdir(), 'spool-launch-'));

  afterAll(async () => {
    // When the test failed half-way, stop the launcher as a user would so its
    // children go with it; anything still left after that is killed outright.
    if (child?.pid && alive(child.pid)) {
      const left = descendants(child.pid);
      child.kill('SIGTERM');
      const until = Date.now() + 30_000;
      while (alive(child.pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
      for (const pid of [child.pid, ...left].filter(alive)) process.kill(pid, 'SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts every process, answers the printed curl line, restarts a worker that dies, and stops them all on SIGTERM', async () => {
    const port = await freePort();
    const token = 'launcher-test-token-123456';
    const metricsToken = 'launcher-metrics-token-7e2a9c';
    child = spawn(process.execPath, ['--import', 'tsx', 'infra/src/main.ts'], {
      cwd: REPO_ROOT,
      env: { ...process.env, SPOOL_PORT: String(port), SPOOL_HOST: '127.0.0.1', SPOOL_API_TOKENS: token, SPOOL_METRICS_TOKEN: metricsToken, SPOOL_LOG_DIR: dir, NATS_URL: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (output += b.toString()));
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));

    const deadline = Date.now() + 90_000;
    while (!output.includes('spool is ready')) {
      if (child.exitCode !== null) throw new Error(`the launcher exited early:\n${output}`);
      if (Date.now() > deadline) throw new Error(`not ready in time:\n${output}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    // The start line says the layout it runs: infra/layout.json over cogvideox-mini's six blocks.
    expect(output).toContain('from infra/layout.json: 2 denoiser shards (0:3, 3:6), 1 replica each; 1 text-encoder, 1 vae-decoder, 1 video-encoder; 5 workers on cpu');
    expect(output).toContain(`export VALID_TOKEN=${token}`);
    expect(output).toContain(`http://localhost:${port}/generate`);

    const health = await fetch(`http://127.0.0.1:${port}/health`);
    expect(await health.json()).toEqual({ status: 'healthy' });
    // The printed docs: the page, and the document with the served model's limits.
    expect(output).toContain(`http://localhost:${port}/docs`);
    expect((await fetch(`http://127.0.0.1:${port}/docs`)).headers.get('content-type')).toBe('text/html; charset=utf-8');
    const doc = (await (await fetch(`http://127.0.0.1:${port}/openapi.json`)).json()) as { openapi: string; info: { title: string } };
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.title).toBe('spool: cogvideox-mini');
    const res = await fetch(`http://127.0.0.1:${port}/generate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'a yellow square moving down on a purple background', num_frames: 8, num_inference_steps: 2 }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('video/mp4');
    await res.arrayBuffer();

    // The printed CLI line, pasted in the repository after the export above it: a job, followed and downloaded.
    const cliLine = /^ {2}(SPOOL_TOKEN=\$VALID_TOKEN npx spool generate .*)$/m.exec(output)?.[1];
    expect(cliLine).toContain(`--url http://localhost:${port}`);
    const video = path.join(dir, 'snow.mp4');
    const cli = await execFileAsync('bash', ['-c', `export VALID_TOKEN=${token}\n${cliLine!.replace('-o snow.mp4', `-o ${video}`)}`], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 });
    expect(cli.stdout.trim()).toBe(video);
    expect(await probe(video)).toMatchObject({ codec: 'h264', frames: 49 });
    expect(output).toContain(`The playground: http://localhost:${port}/`);

    // GET /metrics takes SPOOL_METRICS_TOKEN, which reaches the coordinator and no worker.
    expect(output).toContain(`-H "Authorization: Bearer $SPOOL_METRICS_TOKEN" http://localhost:${port}/metrics`);
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(401);
    const scrape = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } });
    expect(scrape.status).toBe(200);
    // The POST /generate above and the CLI's job.
    expect(await scrape.text()).toContain('spool_generation_duration_seconds_count{outcome="completed"} 2');
    const holders = descendants(child.pid!).filter((pid) => /(stages|coordinator)\/src\/main\.ts/.test(commandOf(pid)));
    const seen = holders.map((pid) => `${commandOf(pid).includes('coordinator') ? 'coordinator' : 'worker'} ${readFileSync(`/proc/${pid}/environ`, 'utf8').includes(metricsToken)}`);
    expect(seen.filter((x) => x.startsWith('worker'))).toEqual(Array(5).fill('worker false'));
    expect(seen.filter((x) => x.startsWith('coordinator'))).toEqual(['coordinator true']);

    // A worker that dies is started again, and /health comes back.
    const shard0 = descendants(child.pid!).find((pid) => commandOf(pid).includes('--shard 0'));
    expect(shard0).toBeDefined();
    process.kill(shard0!, 'SIGKILL');
    const healthy = async (): Promise<boolean> => (await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined))?.status === 200;
    const until = Date.now() + 60_000;
    const replaced = (): boolean => descendants(child!.pid!).some((pid) => pid !== shard0 && commandOf(pid).includes('--shard 0'));
    while (alive(shard0!) || !replaced() || !output.includes('ready  role=denoiser shard=0', output.indexOf('starting it again')) || !(await healthy())) {
      if (Date.now() > until) throw new Error(`denoise.0 did not come back:\n${output}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(output).toMatch(/denoise\.0 .*exited \(SIGKILL\); starting it again/);

    // nats-server, five workers and the coordinator (plus any ffmpeg that is running).
    const started = descendants(child.pid!);
    expect(started.length).toBeGreaterThanOrEqual(7);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output).toContain('spool: stopped.');
    // Exited children are reaped by init once the launcher is gone; give that a moment.
    const reapedBy = Date.now() + 10_000;
    while (started.some(alive) && Date.now() < reapedBy) await new Promise((r) => setTimeout(r, 100));
    expect(started.filter(alive).map((pid) => `${pid} ${commandOf(pid).trim()}`)).toEqual([]);
  });

  it("leaves no worker, coordinator or nats-server, and not its run's folder, behind when the launcher itself is killed outright", async () => {
    const port = await freePort();
    const launcher = spawn(process.execPath, ['--import', 'tsx', 'infra/src/main.ts'], {
      cwd: REPO_ROOT,
      env: { ...process.env, SPOOL_PORT: String(port), SPOOL_HOST: '127.0.0.1', SPOOL_API_TOKENS: 'launcher-test-token-abcdef', SPOOL_LOG_DIR: dir, NATS_URL: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    launcher.stdout!.on('data', (b: Buffer) => (output += b.toString()));
    launcher.stderr!.on('data', (b: Buffer) => (output += b.toString()));
    const deadline = Date.now() + 90_000;
    while (!output.includes('spool is ready')) {
      if (launcher.exitCode !== null || Date.now() > deadline) {
        launcher.kill('SIGTERM');
        throw new Error(`the launcher did not become ready:\n${output}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    const all = descendants(launcher.pid!);
    const spool = all.filter((pid) => /stages\/src\/main\.ts|coordinator\/src\/main\.ts|nats-server -c/.test(commandOf(pid)));
    // five workers, the coordinator, nats-server and its guard
    expect(spool.length).toBeGreaterThanOrEqual(8);
    const server = spool.filter((pid) => /^\S*nats-server -c/.test(commandOf(pid).trim()));
    expect(server).toHaveLength(1);
    // The run's folder holds JetStream's store: the server's configuration names it.
    const confFile = /-c (\S+)/.exec(commandOf(server[0]))![1];
    const conf = readFileSync(confFile, 'utf8');
    const runDir = path.dirname(JSON.parse(/store_dir: (".*")/.exec(conf)![1]) as string);
    expect(path.basename(runDir)).toMatch(/^spool-run-/);
    expect(existsSync(path.join(runDir, 'bus', 'coordinator.nk'))).toBe(true);
    launcher.kill('SIGKILL');
    // Each child sees its stdin close, drains and exits; the guard stops nats-server.
    const until = Date.now() + 30_000;
    while (spool.some(alive) && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
    const left = spool.filter(alive);
    for (const pid of all.filter(alive)) process.kill(pid, 'SIGKILL');
    expect(left.map((pid) => `${pid} ${commandOf(pid).trim()}`)).toEqual([]);
    // nats-server's guard deleted the run's folder once the server had stopped, and the server's configuration folder.
    expect(existsSync(runDir)).toBe(false);
    expect(existsSync(path.dirname(confFile))).toBe(false);
  });
});
