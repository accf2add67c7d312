/**
 * `npm run compose -- --layout FILE [--model DIR] [--out FILE]`: writes the
 * docker compose file of a layout (to stdout without --out).
 *
 *   npm run compose -- --layout infra/layouts/two-gpu.json --out infra/compose.yaml
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, DEFAULT_MODEL, ManifestError, MODELS_DIR } from '@spool/shared';
import { composeFromFiles } from './compose-file.ts';

const USAGE = 'usage: npm run compose -- --layout FILE [--model DIR] [--out FILE]';

function main(): void {
  let values: { layout?: string; model?: string; out?: string };
  try {
    ({ values } = parseArgs({
      options: { layout: { type: 'string' }, model: { type: 'string' }, out: { type: 'string' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new ConfigError(`${(err as Error).message}\n${USAGE}`);
  }
  if (!values.layout) throw new ConfigError(`--layout is required (e.g. --layout infra/layouts/two-gpu.json)\n${USAGE}`);
  const text = composeFromFiles({ layout: values.layout, model: values.model ?? path.join(MODELS_DIR, DEFAULT_MODEL), out: values.out });
  if (!values.out) {
    process.stdout.write(text);
    return;
  }
  writeFileSync(values.out, text);
  process.stderr.write(`spool: wrote ${values.out}\n`);
}

try {
  main();
} catch (err) {
  const known = err instanceof ConfigError || err instanceof ManifestError;
  process.stderr.write(`spool compose: ${known ? (err as Error).message : String((err as Error).stack ?? err)}\n`);
  process.exit(known ? 2 : 1);
}
