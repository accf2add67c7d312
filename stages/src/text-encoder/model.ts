/** The text encoder: token ids in, per-token embeddings out. */
import type { ModelPackage, Tensor } from '@spool/shared';
import { OnnxModel, type SessionOptions } from '../runtime/onnx.ts';

export class TextEncoderModel {
  private constructor(
    private readonly model: OnnxModel,
    readonly hiddenSize: number,
  ) {}

  static async load(pkg: ModelPackage, opts: SessionOptions): Promise<TextEncoderModel> {
    const file = pkg.manifest.text_encoder.file;
    return new TextEncoderModel(await OnnxModel.load(pkg.resolve(file), opts, file), pkg.manifest.text_encoder.hidden_size);
  }

  /** input_ids int64 [B, L] → hidden_states float32 [B, L, Dt]. */
  async encode(inputIds: Tensor<'int64'>): Promise<Tensor<'float32'>> {
    const out = await this.model.run({ input_ids: inputIds });
    return out.hidden_states as Tensor<'float32'>;
  }

  close(): Promise<void> {
    return this.model.close();
  }
}
