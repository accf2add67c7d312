/**
 * The worker watchdog's rules, round by round, on a clock and discovery
 * answers of the test's own (the real thing, SIGSTOP on a running stack, is
 * in faults.test.ts).
 */
import type { WorkerInfo } from '@spool/shared';
import { describe, expect, it } from 'vitest';
import { WorkerWatchdog } from '../src/worker-watchdog.ts';

const HOST = 'gpu-host-1';

function answer(pid: number, host = HOST): WorkerInfo {
  return { id: `id-${pid}`, service: 'spool-denoise-0', model: 'm', role: 'denoiser', shard: 0, device: 'cpu', subject: 's', version: '0', pid, host };
}

/** A watchdog over processes a, b (pids 11, 12) whose discovery answers and clock the test sets. */
function setup(stallMs = 6_000) {
  let now = 0;
  let answers: WorkerInfo[] | Error = [];
  const processes = new Map([
    ['a', 11],
    ['b', 12],
  ]);
  const killed: Array<{ label: string; pid: number; silentMs: number }> = [];
  const dog = new WorkerWatchdog({
    discover: async () => {
      if (answers instanceof Error) throw answers;
      return answers;
    },
    processes: () => processes,
    stallMs,
    kill: (label, pid, silentMs) => killed.push({ label, pid, silentMs }),
    now: () => now,
    host: HOST,
  });
  const round = async (at: number, who: WorkerInfo[] | Error): Promise<void> => {
    now = at;
    answers = who;
    await dog.check();
  };
  return { dog, round, killed, processes };
}

describe('the worker watchdog', () => {
  it('kills a worker that answered and then stays silent for the stall time, once', async () => {
    const { round, killed } = setup();
    await round(0, [answer(11), answer(12)]);
    await round(3_000, [answer(12)]);
    await round(5_999, [answer(12)]);
    expect(killed).toEqual([]);
    await round(6_000, [answer(12)]);
    expect(killed).toEqual([{ label: 'a', pid: 11, silentMs: 6_000 }]);
    await round(9_000, [answer(12)]);
    expect(killed).toHaveLength(1);
  });

  it('keeps watching a worker that answers again before the stall time', async () => {
    const { round, killed } = setup();
    await round(0, [answer(11), answer(12)]);
    await round(5_000, [answer(12)]);
    await round(5_500, [answer(11), answer(12)]);
    await round(11_000, [answer(12)]);
    expect(killed).toEqual([]);
    await round(11_500, [answer(12)]);
    expect(killed.map((k) => k.pid)).toEqual([11]);
  });

  it('does not watch a worker that never answered (still loading its model) unless it was serving at start', async () => {
    const { dog, round, killed } = setup();
    await round(0, [answer(12)]);
    await round(60_000, [answer(12)]);
    expect(killed).toEqual([]);
    // At start every running process is known to serve: from then on silence counts.
    dog.start();
    await dog.stop();
    await round(65_000, [answer(12)]);
    expect(killed).toEqual([]);
    await round(66_000, [answer(12)]);
    expect(killed).toEqual([{ label: 'a', pid: 11, silentMs: 6_000 }]);
  });

  it('counts no silence while discovery fails or none of its workers answers (NATS down or restarting)', async () => {
    const { round, killed } = setup();
    await round(0, [answer(11), answer(12)]);
    await round(10_000, new Error('disconnected'));
    await round(20_000, []);
    await round(25_000, [answer(12)]);
    expect(killed).toEqual([]);
    // The clock of 11 restarted at the last empty round (20 s).
    await round(26_000, [answer(12)]);
    expect(killed.map((k) => k.pid)).toEqual([11]);
  });

  it('ignores answers from processes with the same pid on another host', async () => {
    const { round, killed } = setup();
    await round(0, [answer(11), answer(12)]);
    await round(7_000, [answer(11, 'other-host'), answer(12)]);
    expect(killed.map((k) => k.pid)).toEqual([11]);
  });

  it('forgets a process that is gone, and watches its successor once it answers', async () => {
    const { round, killed, processes } = setup();
    await round(0, [answer(11), answer(12)]);
    processes.set('a', 21);
    await round(30_000, [answer(12)]);
    expect(killed).toEqual([]);
    await round(31_000, [answer(21), answer(12)]);
    await round(37_000, [answer(12)]);
    expect(killed).toEqual([{ label: 'a', pid: 21, silentMs: 6_000 }]);
  });
});
