/** The VAE decoder: raw latents in (scaled here by 1/scaling_factor), frames in [-1, 1] out. */
import { tensor, type ModelPackage, type Tensor } from '@spool/shared';
import { OnnxModel, type SessionOptions } from '../runtime/onnx.ts';

export class VaeDecoderModel {
  private constructor(
    private readonly model: OnnxModel,
    readonly scalingFactor: number,
  ) {}

  static async load(pkg: ModelPackage, opts: SessionOptions): Promise<VaeDecoderModel> {
    const file = pkg.manifest.vae.decoder;
    return new VaeDecoderModel(await OnnxModel.load(pkg.resolve(file), opts, file), pkg.manifest.vae.scaling_factor);
  }

  /** latents float32 [B,F,C,h,w] → frames float32 [B, 4(F-1)+1, 3, H, W]. */
  async decode(latents: Tensor<'float32'>): Promise<Tensor<'float32'>> {
    const scaled = this.scalingFactor === 1 ? latents : scale(latents, 1 / this.scalingFactor);
    return (await this.model.runSingle({ latents: scaled })) as Tensor<'float32'>;
  }

  close(): Promise<void> {
    return this.model.close();
  }
}

function scale(t: Tensor<'float32'>, k: number): Tensor<'float32'> {
  const out = new Float32Array(t.data.length);
  for (let i = 0; i < out.length; i++) out[i] = t.data[i] * k;
  return tensor('float32', t.shape, out);
}
