/**
 * The one place that builds onnxruntime sessions: device → execution
 * providers, threads, graph optimisation, and `run()` converting spool
 * tensors to and from onnxruntime's without copying their data.
 */
import * as ort from 'onnxruntime-node';
import path from 'node:path';
import { isDType, tensor, wireError, type Tensor } from '@spool/shared';
import { deviceLabel, type Device } from './device.ts';

export interface SessionOptions {
  readonly device: Device;
  /** Intra-op threads per session. */
  readonly threads: number;
}

export function executionProviders(device: Device): ort.InferenceSession.ExecutionProviderConfig[] {
  return device.kind === 'cpu' ? ['cpu'] : [{ name: 'cuda', deviceId: device.index }];
}

export class OnnxModel {
  private constructor(
    private readonly session: ort.InferenceSession,
    /** File name used in errors, e.g. `transformer/block_02.onnx`. */
    readonly label: string,
  ) {}

  static async load(file: string, opts: SessionOptions, label = path.basename(file)): Promise<OnnxModel> {
    const options: ort.InferenceSession.SessionOptions = {
      executionProviders: executionProviders(opts.device),
      intraOpNumThreads: opts.threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    };
    try {
      return new OnnxModel(await ort.InferenceSession.create(file, options), label);
    } catch (err) {
      const message = (err as Error).message;
      if (opts.device.kind === 'cuda') {
        throw new Error(
          `cannot load ${label} on ${deviceLabel(opts.device)}: onnxruntime's CUDA execution provider failed (${message}). ` +
            'Install an onnxruntime-node build with CUDA and matching CUDA/cuDNN libraries, or run with --device cpu.',
          { cause: err },
        );
      }
      throw new Error(`cannot load ${label}: ${message}`, { cause: err });
    }
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  /** Runs the graph; onnxruntime failures become SPOOL_ERR_MODEL naming the file. */
  async run(feeds: Readonly<Record<string, Tensor>>): Promise<Record<string, Tensor>> {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = new ort.Tensor(t.dtype, t.data, t.shape);
    let results: ort.InferenceSession.ReturnType;
    try {
      results = await this.session.run(ortFeeds);
    } catch (err) {
      throw wireError('SPOOL_ERR_MODEL', `${this.label}: ${(err as Error).message}`, { cause: err });
    }
    const out: Record<string, Tensor> = {};
    for (const [name, value] of Object.entries(results)) {
      if (!isDType(value.type)) throw wireError('SPOOL_ERR_MODEL', `${this.label}: output ${name} has unsupported dtype ${value.type}`);
      out[name] = tensor(value.type, value.dims, value.data as Tensor['data']);
    }
    return out;
  }

  /** Runs the graph and returns its one output (whatever the graph calls it). */
  async runSingle(feeds: Readonly<Record<string, Tensor>>): Promise<Tensor> {
    const out = await this.run(feeds);
    return out[this.outputNames[0]];
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
