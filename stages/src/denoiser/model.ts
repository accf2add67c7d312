/**
 * One denoiser shard: optionally the embed, a contiguous range of transformer
 * blocks, optionally the head. Tensors in, tensors out. With 3D rotary
 * positions (the manifest's `transformer.rotary`) every block also gets the
 * rotary tables for the input's latent frame count, computed here once per F.
 */
import type { ModelPackage, Tensor } from '@spool/shared';
import type { ShardLayout } from '../layout.ts';
import { OnnxModel, type SessionOptions } from '../runtime/onnx.ts';
import { denoiserGeometry, framesOfSequence, type DenoiserGeometry } from './geometry.ts';
import { RotaryCache } from './rotary.ts';

const ROTARY_INPUTS = ['rotary_cos', 'rotary_sin'] as const;

/** What a shard receives: the first shard gets the latents, the others the hidden states. */
export type ShardInput =
  | {
      readonly sample: Tensor<'float32'>;
      readonly encoder_hidden_states: Tensor<'float32'>;
      readonly timestep: Tensor<'float32'>;
    }
  | { readonly hidden_states: Tensor<'float32'>; readonly temb: Tensor<'float32'> };

/** What a shard produces: hidden states for the next shard, or the model output from the last. */
export type ShardOutput =
  | { readonly hidden_states: Tensor<'float32'>; readonly temb: Tensor<'float32'> }
  | { readonly model_output: Tensor<'float32'> };

export class DenoiserShard {
  private constructor(
    readonly layout: ShardLayout,
    private readonly geometry: DenoiserGeometry,
    private readonly embed: OnnxModel | undefined,
    private readonly blocks: readonly OnnxModel[],
    private readonly head: OnnxModel | undefined,
    private readonly rotary: RotaryCache | undefined,
  ) {}

  static async load(pkg: ModelPackage, layout: ShardLayout, opts: SessionOptions): Promise<DenoiserShard> {
    const t = pkg.manifest.transformer;
    const open = (rel: string): Promise<OnnxModel> => OnnxModel.load(pkg.resolve(rel), opts, rel);
    const loaded: OnnxModel[] = [];
    const track = async (rel: string): Promise<OnnxModel> => {
      const m = await open(rel);
      loaded.push(m);
      return m;
    };
    try {
      // One at a time: sessions are built on the same few cores anyway.
      const embed = layout.hasEmbed ? await track(t.embed) : undefined;
      const blocks: OnnxModel[] = [];
      for (const rel of t.blocks.slice(layout.blocks.start, layout.blocks.end)) blocks.push(await track(rel));
      const head = layout.hasHead ? await track(t.head) : undefined;
      const g = denoiserGeometry(pkg.manifest);
      for (const block of blocks) checkRotaryInputs(block, g.rotary !== undefined);
      const rotary = g.rotary ? new RotaryCache(g.rotary, g.gridHeight, g.gridWidth) : undefined;
      return new DenoiserShard(layout, g, embed, blocks, head, rotary);
    } catch (err) {
      await Promise.all(loaded.map((m) => m.close().catch(() => undefined)));
      throw err;
    }
  }

  async forward(input: ShardInput): Promise<ShardOutput> {
    let hidden: Tensor<'float32'>;
    let temb: Tensor<'float32'>;
    if ('sample' in input) {
      if (!this.embed) throw new Error(`shard ${this.layout.shard} has no embed: send latents to shard 0`);
      const out = await this.embed.run({
        sample: input.sample,
        encoder_hidden_states: input.encoder_hidden_states,
        timestep: input.timestep,
      });
      hidden = out.hidden_states as Tensor<'float32'>;
      temb = out.temb as Tensor<'float32'>;
    } else {
      hidden = input.hidden_states;
      temb = input.temb;
    }
    const positions = this.rotary ? this.rotary.tensors(this.framesOf(hidden)) : {};
    for (const block of this.blocks) {
      hidden = (await block.runSingle({ hidden_states: hidden, temb, ...positions })) as Tensor<'float32'>;
    }
    if (!this.head) return { hidden_states: hidden, temb };
    return { model_output: (await this.head.runSingle({ hidden_states: hidden, temb })) as Tensor<'float32'> };
  }

  private framesOf(hidden: Tensor<'float32'>): number {
    const frames = framesOfSequence(this.geometry, hidden.shape[1]);
    if (frames === undefined) {
      throw new Error(
        `shard ${this.layout.shard}: hidden_states has sequence length ${hidden.shape[1]}, not ${this.geometry.tokens} + F * ${this.geometry.patchesPerFrame}`,
      );
    }
    return frames;
  }

  async close(): Promise<void> {
    const all = [this.embed, ...this.blocks, this.head].filter((m): m is OnnxModel => m !== undefined);
    await Promise.all(all.map((m) => m.close()));
  }
}

/** A block graph takes the rotary tables exactly when the manifest declares them; anything else is a mismatched package. */
function checkRotaryInputs(block: OnnxModel, rotary: boolean): void {
  const has = ROTARY_INPUTS.filter((name) => block.inputNames.includes(name));
  if (rotary && has.length !== ROTARY_INPUTS.length) {
    throw new Error(`${block.label} has no rotary_cos/rotary_sin inputs, but the manifest declares transformer.rotary: re-export the blocks or drop transformer.rotary`);
  }
  if (!rotary && has.length > 0) {
    throw new Error(`${block.label} takes ${has.join(' and ')}, but the manifest has no transformer.rotary: add it (type, head_dim, theta, base_height, base_width)`);
  }
}
