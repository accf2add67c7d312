import { describe, expect, it } from 'vitest';
import { SpoolError, tensor } from '@spool/shared';
import { checkTensors, toByte, toUint8Frames } from '../src/index.ts';

describe('toUint8Frames', () => {
  it('maps [-1, 1] to 0..255, rounding and clamping', () => {
    expect([-1, 1, 0, -2, 2, NaN, -0.9961, 0.0039].map(toByte)).toEqual([0, 255, 128, 0, 255, 0, 0, 128]);
  });

  it('moves channels last: [B,T,3,H,W] → [B,T,H,W,3]', () => {
    // B=1, T=2, H=1, W=2: channel planes per frame.
    const src = Float32Array.of(-1, 1, 0, 0, 1, -1, /* frame 2 */ 1, 1, 1, 1, 1, 1);
    const out = toUint8Frames(tensor('float32', [1, 2, 3, 1, 2], src));
    expect(out.dtype).toBe('uint8');
    expect(out.shape).toEqual([1, 2, 1, 2, 3]);
    expect(Array.from(out.data)).toEqual([0, 128, 255, 255, 128, 0, 255, 255, 255, 255, 255, 255]);
  });
});

describe('checkTensors', () => {
  const specs = {
    sample: { dtype: 'float32', shape: ['B', 'F', 4] },
    timestep: { dtype: 'float32', shape: ['B'] },
  } as const;

  it('binds named sizes across tensors', () => {
    const { dims } = checkTensors(
      { sample: tensor('float32', [2, 3, 4], new Float32Array(24)), timestep: tensor('float32', [2], new Float32Array(2)) },
      specs,
      'denoise.0',
    );
    expect(dims).toEqual({ B: 2, F: 3 });
  });

  it('names the tensor and the expected shape', () => {
    const bad = (tensors: Parameters<typeof checkTensors>[0]) => () => checkTensors(tensors, specs, 'denoise.0');
    expect(bad({ timestep: tensor('float32', [2], new Float32Array(2)) })).toThrow(/denoise.0: missing tensor sample \(expected float32 \[B, F, 4\]/);
    expect(bad({ sample: tensor('float32', [2, 3, 5], new Float32Array(30)), timestep: tensor('float32', [2], new Float32Array(2)) })).toThrow(
      'denoise.0: tensor sample is float32 [2, 3, 5], expected float32 [B, F, 4]',
    );
    expect(bad({ sample: tensor('float32', [2, 3, 4], new Float32Array(24)), timestep: tensor('float32', [1], new Float32Array(1)) })).toThrow(
      /tensor timestep is float32 \[1\], expected float32 \[B\] \(B is 2 elsewhere/,
    );
    try {
      bad({})();
    } catch (err) {
      expect(err).toBeInstanceOf(SpoolError);
      expect((err as SpoolError).code).toBe('SPOOL_ERR_BAD_MESSAGE');
    }
  });
});
