/**
 * Writing a video answer (`/v1/videos/{id}/content`, or `POST /generate`'s
 * MP4) where `-o` says: a file (into a folder when `-o` names one), or
 * stdout with `-o -`. A file is written beside its target under a
 * temporary name and renamed once whole, so the target never holds a
 * partial video; the bytes are checked against Content-Length. A file that
 * cannot be written is exit 8, an answer that breaks off is exit 3.
 */
import { open, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { CliError } from './errors.ts';
import { EXIT } from './exit-codes.ts';

/** `-o -`: the video goes to stdout. */
export const STDOUT_TARGET = '-';

/** Where a video is written: `-o` as given, `<folder>/<name>` when `-o` is a folder, `<name>` (in the working folder) without `-o`. */
export async function resolveTarget(output: string | undefined, name: string): Promise<string> {
  if (output === undefined) return name;
  if (output === STDOUT_TARGET) return output;
  const isDir = await stat(output).then(
    (s) => s.isDirectory(),
    () => false,
  );
  return isDir || output.endsWith('/') ? path.join(output, name) : output;
}

export interface Saved {
  readonly file: string;
  readonly bytes: number;
}

/** Opens the temporary file first, so that a target that cannot be written fails before anything is downloaded. */
export async function prepareTarget(target: string): Promise<{ write(res: Response, signal?: AbortSignal): Promise<Saved>; discard(): Promise<void> }> {
  if (target === STDOUT_TARGET) {
    return {
      write: async (res, signal) => ({ file: target, bytes: await copy(res, new StdoutSink(), target, signal) }),
      discard: async () => undefined,
    };
  }
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.part`);
  const handle = await open(temp, 'w').catch((err: NodeJS.ErrnoException) => {
    throw new CliError(EXIT.OUTPUT, `cannot write ${target}: ${err.code === 'ENOENT' ? `the folder ${path.dirname(target)} does not exist` : err.message}`);
  });
  const discard = async (): Promise<void> => {
    await handle.close().catch(() => undefined);
    await rm(temp, { force: true });
  };
  return {
    async write(res, signal) {
      try {
        // The stream closes the file once all is written (a handle left to its stream cannot be closed by hand until then).
        const bytes = await copy(res, handle.createWriteStream(), target, signal);
        await rename(temp, target).catch((err: Error) => {
          throw new CliError(EXIT.OUTPUT, `cannot write ${target}: ${err.message}`);
        });
        return { file: target, bytes };
      } catch (err) {
        await discard();
        throw err;
      }
    },
    discard,
  };
}

/** Copies the body, counting; a failure to write is the output's, any other the answer's. */
async function copy(res: Response, sink: Writable, target: string, signal?: AbortSignal): Promise<number> {
  const expected = Number(res.headers.get('content-length') ?? NaN);
  let bytes = 0;
  let writeError: Error | undefined;
  sink.on('error', (err) => (writeError ??= err));
  const body = Readable.fromWeb(res.body! as WebReadableStream<Uint8Array>);
  body.on('data', (chunk: Buffer) => (bytes += chunk.length));
  try {
    await pipeline(body, sink, { signal });
  } catch (err) {
    if (signal?.aborted) throw err;
    if (writeError) throw new CliError(EXIT.OUTPUT, `cannot write ${target}: ${writeError.message}`);
    throw new CliError(EXIT.UNREACHABLE, `the video broke off after ${bytes} bytes${Number.isFinite(expected) ? ` of ${expected}` : ''}: ${(err as { cause?: Error }).cause?.message ?? (err as Error).message}`);
  }
  if (Number.isFinite(expected) && bytes !== expected) throw new CliError(EXIT.UNREACHABLE, `the video broke off after ${bytes} bytes of ${expected}`);
  return bytes;
}

/** stdout, left open after the copy (the command may still print). */
class StdoutSink extends Writable {
  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    if (process.stdout.write(chunk)) done();
    else process.stdout.once('drain', () => done());
  }
}
