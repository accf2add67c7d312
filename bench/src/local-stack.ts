/**
 * A local stack for a bench script: its own nats-server, the default layout's
 * workers for a model package and the coordinator on a free port, logging
 * warnings only into a folder of its own that `stop()` removes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEFAULT_LAYOUT, loadLayout, modelFacts, REPO_ROOT, startStack, type Stack } from '@spool/infra';
import type { ModelPackage } from '@spool/shared';

export interface LocalStackOptions {
  readonly tokens: readonly string[];
  /** Environment of the coordinator alone, e.g. admission's limits. */
  readonly coordinatorEnv?: Readonly<Record<string, string>>;
}

export async function startLocalStack(pkg: ModelPackage, name: string, opts: LocalStackOptions): Promise<Stack> {
  const logDir = mkdtempSync(path.join(tmpdir(), `spool-${name}-`));
  const stack = await startStack({
    modelDir: pkg.dir,
    layout: loadLayout({ file: path.join(REPO_ROOT, DEFAULT_LAYOUT), model: modelFacts(pkg.manifest), shorthands: {} }),
    tokens: [...opts.tokens],
    port: 0,
    logDir,
    env: { SPOOL_LOG_LEVEL: 'warn' },
    coordinatorEnv: opts.coordinatorEnv,
  }).catch((err: unknown) => {
    rmSync(logDir, { recursive: true, force: true });
    throw err;
  });
  return {
    ...stack,
    stop: async () => {
      await stack.stop();
      rmSync(logDir, { recursive: true, force: true });
    },
  };
}
