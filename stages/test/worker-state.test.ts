import { describe, expect, it } from 'vitest';
import { WorkerStateMachine, type WorkerState } from '../src/index.ts';

describe('WorkerStateMachine', () => {
  it('follows init → loading → warming → serving → draining → stopped', () => {
    const seen: string[] = [];
    const m = new WorkerStateMachine((from, to) => seen.push(`${from}>${to}`));
    for (const s of ['loading', 'warming', 'serving', 'draining', 'stopped'] as WorkerState[]) m.to(s);
    expect(seen).toEqual(['init>loading', 'loading>warming', 'warming>serving', 'serving>draining', 'draining>stopped']);
    expect(m.isFinal()).toBe(true);
  });

  it('refuses illegal moves and leaves final states alone', () => {
    const m = new WorkerStateMachine();
    expect(() => m.to('serving')).toThrow('worker cannot go from init to serving');
    m.to('loading');
    m.to('failed');
    expect(m.canMove('stopped')).toBe(false);
    expect(() => m.to('loading')).toThrow(/from failed to loading/);
  });
});
