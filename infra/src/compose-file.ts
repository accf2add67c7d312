/**
 * A compose file made from a layout file and a model package, as
 * `npm run compose` writes it; the test that keeps `infra/compose.yaml` in
 * step with `infra/layouts/two-gpu.json` calls the same function.
 */
import path from 'node:path';
import { ConfigError, loadModelPackage } from '@spool/shared';
import { renderCompose } from './compose.ts';
import { loadLayout } from './layout/load.ts';
import { modelFacts } from './layout/resolve.ts';
import { REPO_ROOT } from './stack.ts';

export interface ComposeFileOptions {
  /** The layout file. */
  readonly layout: string;
  /** The model package (inside the repository: it is copied into the image). */
  readonly model: string;
  /** Where the compose file will live; its relative paths start there. Absent: the repository's infra/ folder. */
  readonly out?: string;
}

export function composeFromFiles(opts: ComposeFileOptions): string {
  const rel = (p: string): string => path.relative(REPO_ROOT, path.resolve(p));
  const modelDir = rel(opts.model);
  if (modelDir.startsWith('..') || path.isAbsolute(modelDir)) {
    throw new ConfigError(`--model ${opts.model} lies outside the repository; the image copies the repository, so put the model under models/`);
  }
  const manifest = loadModelPackage(path.resolve(opts.model)).manifest;
  const layout = loadLayout({ file: opts.layout, model: modelFacts(manifest), root: REPO_ROOT });
  const outDir = path.dirname(path.resolve(opts.out ?? path.join(REPO_ROOT, 'infra', 'compose.yaml')));
  const command = ['npm run compose --', '--layout', rel(opts.layout), '--model', modelDir, ...(opts.out ? ['--out', rel(opts.out)] : [])].join(' ');
  const credentials = ['npm run credentials --', '--layout', rel(opts.layout), '--model', modelDir, '--out', 'infra/secrets'].join(' ');
  const composeFile = opts.out ? rel(opts.out) : 'compose.yaml';
  return renderCompose(layout, {
    modelDir: modelDir.split(path.sep).join('/'),
    root: path.relative(outDir, REPO_ROOT).split(path.sep).join('/') || '.',
    header: [
      `spool, generated from ${rel(opts.layout)} for ${manifest.name} by`,
      `  ${command}`,
      'Do not edit it by hand: change the layout and run that again (a test checks that they match).',
      ...(layout.description ? ['', ...wrap(layout.description, 100)] : []),
      '',
      `  ${credentials}`,
      `  SPOOL_API_TOKENS=$(openssl rand -hex 24) docker compose -f ${composeFile} up --build`,
      'API: http://localhost:9000   Jaeger UI: http://localhost:16686   NATS: inside the compose network only',
      'The first command makes the bus keys (infra/secrets/, git-ignored): NATS does not start without them.',
    ],
  });
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}
