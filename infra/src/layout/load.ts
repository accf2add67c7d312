/**
 * Reads a layout file and resolves it against a model, with the
 * environment's shorthands applied: what `npm start` runs. The only part of
 * the layout code that touches the file system.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '@spool/shared';
import { parseLayout } from './parse.ts';
import { resolveLayout, type ModelFacts } from './resolve.ts';
import { applyShorthands, describeShorthands } from './shorthands.ts';
import type { Layout, ResolvedLayout, Shorthands } from './types.ts';

export interface LoadLayoutOptions {
  /** The layout file. */
  readonly file: string;
  readonly model: ModelFacts;
  readonly shorthands?: Shorthands;
  /** Paths in messages are shown relative to this directory. */
  readonly root?: string;
}

export function readLayoutFile(file: string, source = file): Layout {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read (${(err as Error).message})`;
    throw new ConfigError(`layout file ${source} ${why}: set SPOOL_LAYOUT to a layout file such as infra/layout.json`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${source} is not valid JSON (${(err as Error).message}); a layout is a JSON object, see infra/layout.json`);
  }
  return parseLayout(json, source);
}

export function loadLayout(opts: LoadLayoutOptions): ResolvedLayout {
  const file = path.resolve(opts.file);
  const rel = opts.root ? path.relative(opts.root, file) : '';
  const shown = rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
  const layout = readLayoutFile(file, shown);
  const sh = opts.shorthands ?? {};
  const applied = describeShorthands(sh);
  return resolveLayout(applyShorthands(layout, sh), opts.model, applied ? `${shown} with ${applied}` : shown);
}
