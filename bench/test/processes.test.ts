/**
 * The process finder of the chaos and soak runs: roles from real command
 * lines, descendants of a process, replica labels that a restart keeps, and
 * the live checks (a real process tree, RSS, zombies) against /proc.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { alive, commandOf, descendants, ProcessTracker, psTable, roleOf, rssMb, runningThreads, type PsEntry } from '../src/live/processes.ts';

const GUARD = '/bin/sh -c exec 3<&0 "$@" </dev/null & server=$! … exit "$code" spool-nats-guard /usr/sbin/nats-server -c /tmp/spool-nats-rwBrSM/nats.conf';
const worker = (args: string): string => `/usr/bin/node --import tsx stages/src/main.ts ${args} --model-dir /work/models/cogvideox-mini`;

describe('roleOf', () => {
  it('labels every process of a stack from its command line', () => {
    expect(roleOf('/usr/bin/node --import tsx infra/src/main.ts')).toBe('launcher');
    expect(roleOf('/usr/bin/node --import tsx coordinator/src/main.ts')).toBe('coordinator');
    expect(roleOf(worker('--role text-encoder --device cpu --threads 1'))).toBe('text-encoder');
    expect(roleOf(worker('--role denoiser --shard 1 --shards 2 --blocks 3:6 --device cpu --threads 1'))).toBe('denoise.1');
    expect(roleOf(worker('--role vae-decoder --device cpu --threads 1'))).toBe('vae-decoder');
    expect(roleOf(worker('--role video-encoder --device cpu'))).toBe('video-encoder');
    expect(roleOf('/usr/sbin/nats-server -c /tmp/spool-nats-rwBrSM/nats.conf')).toBe('nats-server');
    expect(roleOf('nats-server -c /tmp/x/nats.conf')).toBe('nats-server');
    // The guard's command line names nats-server too, but it is not the server.
    expect(roleOf(GUARD)).toBe('nats-guard');
    expect(roleOf('ffmpeg -v error -f rawvideo -pix_fmt rgb24 -s 256x256 -i pipe:0 out.mp4')).toBe('ffmpeg');
    expect(roleOf('/usr/bin/node other.js')).toBeUndefined();
    expect(roleOf(worker('--role denoiser --device cpu'))).toBeUndefined();
  });
});

describe('descendants', () => {
  it('walks children and their children, and nothing outside the tree', () => {
    const table: PsEntry[] = [
      { pid: 1, ppid: 0, args: 'init' },
      { pid: 10, ppid: 1, args: 'launcher' },
      { pid: 11, ppid: 10, args: 'guard' },
      { pid: 12, ppid: 11, args: 'server' },
      { pid: 13, ppid: 10, args: 'worker' },
      { pid: 14, ppid: 13, args: 'ffmpeg' },
      { pid: 20, ppid: 1, args: 'someone else' },
    ];
    expect(descendants(10, table).map((e) => e.pid).sort()).toEqual([11, 12, 13, 14]);
    expect(descendants(14, table)).toEqual([]);
  });
});

describe('ProcessTracker', () => {
  const denoiser0 = worker('--role denoiser --shard 0 --shards 2 --blocks 0:3 --device cpu --threads 1');
  const vae = worker('--role vae-decoder --device cpu --threads 1');

  it('gives replicas #k labels, and a restarted replica the label of the one it replaces', () => {
    let table: PsEntry[] = [
      { pid: 100, ppid: 1, args: '/usr/bin/node --import tsx infra/src/main.ts' },
      { pid: 101, ppid: 100, args: denoiser0 },
      { pid: 102, ppid: 100, args: denoiser0 },
      { pid: 103, ppid: 100, args: vae },
      { pid: 104, ppid: 103, args: 'unrelated helper' },
    ];
    const tracker = new ProcessTracker(100, new Map([['denoise.0', 2]]), () => table);
    expect(tracker.refresh().map((t) => `${t.label}=${t.pid}`)).toEqual(['launcher=100', 'denoise.0#0=101', 'denoise.0#1=102', 'vae-decoder=103']);

    // Replica #0 dies and a new process takes its place; the survivor keeps #1.
    table = table.filter((e) => e.pid !== 101).concat({ pid: 150, ppid: 100, args: denoiser0 });
    const labels = new Map(tracker.refresh().map((t) => [t.label, t.pid]));
    expect(labels.get('denoise.0#0')).toBe(150);
    expect(labels.get('denoise.0#1')).toBe(102);

    // A fork of the worker on its way to exec (the video encoder starting ffmpeg) is not another worker.
    table = table.concat({ pid: 155, ppid: 103, args: vae });
    expect(tracker.refresh().filter((t) => t.role === 'vae-decoder').map((t) => t.pid)).toEqual([103]);

    // A restarted single worker keeps its plain label; everything ever seen is remembered.
    table = table.filter((e) => e.pid !== 103 && e.pid !== 155).concat({ pid: 160, ppid: 100, args: vae });
    expect(tracker.refresh().find((t) => t.label === 'vae-decoder')?.pid).toBe(160);
    expect(tracker.seen().map((t) => t.pid).sort()).toEqual([100, 101, 102, 103, 150, 160]);
  });

  it('takes a reused pid running something else for a new process', () => {
    let table: PsEntry[] = [
      { pid: 100, ppid: 1, args: '/usr/bin/node --import tsx infra/src/main.ts' },
      { pid: 101, ppid: 100, args: vae },
    ];
    const tracker = new ProcessTracker(100, new Map(), () => table);
    tracker.refresh();
    table = [table[0], { pid: 101, ppid: 100, args: '/usr/bin/node --import tsx coordinator/src/main.ts' }];
    expect(tracker.refresh().map((t) => t.label)).toEqual(['launcher', 'coordinator']);
  });
});

describe('live process checks', () => {
  it('finds a real child tree with ps, reads its RSS, and sees it gone (not a zombie) once it exits', async () => {
    const child = spawn('/bin/sh', ['-c', 'sleep 30 & wait'], { stdio: 'ignore' });
    try {
      let found: PsEntry[] = [];
      for (let i = 0; i < 50 && !found.some((e) => e.args.startsWith('sleep')); i++) {
        await new Promise((r) => setTimeout(r, 50));
        found = descendants(process.pid, psTable()).filter((e) => e.ppid === child.pid);
      }
      const sleeper = found.find((e) => e.args.startsWith('sleep 30'));
      expect(sleeper, JSON.stringify(found)).toBeDefined();
      expect(commandOf(sleeper!.pid)).toBe('sleep 30');
      expect(alive(sleeper!.pid)).toBe(true);
      expect(rssMb(process.pid)).toBeGreaterThan(10);
      // This thread is on the CPU while it runs this line; the sleeper is not.
      expect(runningThreads(process.pid)).toBeGreaterThan(0);
      expect(runningThreads(sleeper!.pid)).toBe(0);
      process.kill(sleeper!.pid, 'SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
      // The sleeper's parent has reaped it; the shell itself is reaped by node.
      expect(alive(sleeper!.pid)).toBe(false);
      expect(alive(child.pid!)).toBe(false);
      expect(rssMb(sleeper!.pid)).toBeUndefined();
      expect(runningThreads(sleeper!.pid)).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
