import { describe, expect, it } from 'vitest';
import { batchKey, planBatches, type PendingCall } from '../src/batching/plan.ts';

const A = batchKey([2, 3, 2, 2, 2], [2, 16, 8]); // 9 frames → 3 latent frames
const B = batchKey([2, 13, 2, 2, 2], [2, 16, 8]); // 49 frames → 13 latent frames
const policy = { windowMs: 2, maxBatch: 4 };
const call = (id: number, key: string, arrivedAt = 0): PendingCall => ({ id, key, arrivedAt });

describe('planBatches (pure decision)', () => {
  it('keys on the shapes past the batch axis, text length included', () => {
    expect(batchKey([2, 3, 2, 2, 2], [2, 16, 8])).toBe(batchKey([6, 3, 2, 2, 2], [6, 16, 8]));
    expect(A).not.toBe(B);
    expect(batchKey([2, 3, 2, 2, 2], [2, 16, 8])).not.toBe(batchKey([2, 3, 2, 2, 2], [2, 32, 8]));
  });

  it('sends a lone call at once when no other request could join', () => {
    expect(planBatches({ pending: [call(1, A)], idle: 0 }, policy, 0)).toEqual({ dispatch: [[1]] });
  });

  it('waits within the window while another request is between calls', () => {
    expect(planBatches({ pending: [call(1, A, 10)], idle: 1 }, policy, 11)).toEqual({ dispatch: [], wakeAt: 12 });
    expect(planBatches({ pending: [call(1, A, 10)], idle: 1 }, policy, 12)).toEqual({ dispatch: [[1]] });
  });

  it('merges calls of the same shape, and sends as soon as nobody else can join', () => {
    const pending = [call(1, A), call(2, A), call(3, A)];
    expect(planBatches({ pending, idle: 1 }, policy, 1)).toEqual({ dispatch: [], wakeAt: 2 });
    expect(planBatches({ pending, idle: 0 }, policy, 1)).toEqual({ dispatch: [[1, 2, 3]] });
  });

  it('never merges different shapes', () => {
    const pending = [call(1, A), call(2, B), call(3, A), call(4, B)];
    expect(planBatches({ pending, idle: 0 }, policy, 0)).toEqual({ dispatch: [[1, 3], [2, 4]] });
  });

  it('sends a full group at once, oldest first, and lets the rest wait', () => {
    const pending = [1, 2, 3, 4, 5, 6].map((id) => call(id, A, id));
    expect(planBatches({ pending, idle: 2 }, policy, 6)).toEqual({ dispatch: [[1, 2, 3, 4]], wakeAt: 7 });
    expect(planBatches({ pending, idle: 2 }, policy, 7)).toEqual({ dispatch: [[1, 2, 3, 4], [5, 6]] });
  });

  it('wakes at the earliest deadline of the groups still waiting', () => {
    const pending = [call(1, B, 5), call(2, A, 3)];
    expect(planBatches({ pending, idle: 1 }, policy, 4)).toEqual({ dispatch: [], wakeAt: 5 });
  });

  it('window 0 or max batch 1 disables batching', () => {
    const pending = [call(1, A), call(2, A)];
    expect(planBatches({ pending, idle: 3 }, { windowMs: 0, maxBatch: 4 }, 0)).toEqual({ dispatch: [[1], [2]] });
    expect(planBatches({ pending, idle: 3 }, { windowMs: 5, maxBatch: 1 }, 0)).toEqual({ dispatch: [[1], [2]] });
  });

  it('has nothing to do with nothing pending', () => {
    expect(planBatches({ pending: [], idle: 4 }, policy, 0)).toEqual({ dispatch: [] });
  });

  it('holds calls while the pipeline is full, then merges them with the requests a return brings back', () => {
    const held = { windowMs: 2, maxBatch: 4, maxInFlight: 2 };
    const pending = [call(1, A, 0), call(2, B, 1)];
    expect(planBatches({ pending, idle: 0, inFlight: 2 }, held, 100)).toEqual({ dispatch: [] });
    // One slot free: the oldest group goes; the other waits for the next return.
    expect(planBatches({ pending, idle: 0, inFlight: 1 }, held, 100)).toEqual({ dispatch: [[1]] });
    // A call just returned with its requests now between calls: wait for them from the return on.
    expect(planBatches({ pending: [call(1, A, 0)], idle: 2, inFlight: 1, freedAt: 100 }, held, 101)).toEqual({ dispatch: [], wakeAt: 102 });
    expect(planBatches({ pending: [call(1, A, 0), call(3, A, 101), call(4, A, 101)], idle: 0, inFlight: 1, freedAt: 100 }, held, 101)).toEqual({
      dispatch: [[1, 3, 4]],
    });
  });

  it('sends full groups only as far as there are free slots', () => {
    const pending = [1, 2, 3, 4, 5].map((id) => call(id, A, 0));
    expect(planBatches({ pending, idle: 0, inFlight: 1 }, { windowMs: 2, maxBatch: 2, maxInFlight: 2 }, 0)).toEqual({ dispatch: [[1, 2]] });
  });
});
