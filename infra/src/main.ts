/**
 * `npm start`: the whole service on this machine. A local nats-server (unless
 * NATS_URL is set), the workers of the layout (SPOOL_LAYOUT, default
 * infra/layout.json, with the SPOOL_REPLICAS/SHARDS/DEVICE/ORT_THREADS
 * shorthands), and the coordinator; then a curl line that works. Ctrl-C stops
 * everything.
 */
import path from 'node:path';
import { ConfigError, loadModelPackage } from '@spool/shared';
import { loadLaunchConfig } from './config.ts';
import { describeLayout } from './layout/describe.ts';
import { loadLayout } from './layout/load.ts';
import { modelFacts } from './layout/resolve.ts';
import { formatLogLine } from './log-format.ts';
import { REPO_ROOT, startStack, type Stack } from './stack.ts';
import { localToken } from './token.ts';

const say = (line = ''): void => void process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const config = loadLaunchConfig(process.env, REPO_ROOT);
  const model = loadModelPackage(config.modelDir).manifest;
  const layout = loadLayout({
    file: config.layoutFile,
    model: modelFacts(model),
    shorthands: config.shorthands,
    root: REPO_ROOT,
  });
  let tokens = config.tokens;
  let tokenNote = 'from SPOOL_API_TOKENS';
  if (tokens.length === 0) {
    const local = localToken(REPO_ROOT);
    tokens = [local.token];
    tokenNote = `${local.created ? 'generated and saved' : 'read'} in ${local.file}`;
  }
  say(`spool: starting ${model.name} from ${layout.source}: ${describeLayout(layout)}; logs in ${shownPath(config.logDir)}`);
  const verbose = process.env.SPOOL_LOG_LEVEL === 'debug' || process.env.SPOOL_LOG_LEVEL === 'trace';
  let stack: Stack | undefined;
  let shuttingDown = false;
  const shutdown = async (why: string, code: number): Promise<void> => {
    if (shuttingDown) {
      say(`spool: ${why} while stopping; still draining in order (requests first, then workers, then NATS)`);
      return;
    }
    shuttingDown = true;
    say(`\nspool: ${why}; stopping every process…`);
    await stack?.stop();
    say('spool: stopped.');
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown('interrupted', 0));
  process.on('SIGTERM', () => void shutdown('terminated', 0));
  // Started by npm, a signal to npm reaches this process too; should the parent vanish
  // without one (killed outright), stop in order rather than serve on as an orphan.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) void shutdown('the process that started spool is gone', 0);
  }, 1_000).unref();

  stack = await startStack({
    modelDir: config.modelDir,
    layout,
    tokens,
    host: config.host,
    port: config.port,
    natsUrl: config.natsUrl,
    busCredentialsDir: config.natsCredentialsDir,
    logDir: config.logDir,
    env: pickEnv(process.env),
    coordinatorEnv: config.metricsToken === undefined ? {} : { SPOOL_METRICS_TOKEN: config.metricsToken },
    restart: { maxRestarts: 5, stallMs: config.workerStallMs },
    onLine: (label, line) => {
      if (label === 'nats-server' && !verbose) return;
      say(formatLogLine(label, line));
    },
  });
  void stack.unexpectedExit.then(({ label, code }) => shutdown(`${label} keeps exiting (last code ${code})`, 1));

  const token = tokens[0];
  const base = `http://localhost:${config.port}`;
  const d = model.defaults;
  say('');
  say(`spool is ready at ${base}  (API token ${tokenNote})`);
  say('');
  say(`  export VALID_TOKEN=${token}`);
  say(`  curl -s ${base}/health`);
  say(`  curl -s ${base}/info`);
  say(config.metricsToken === undefined ? `  curl -s ${base}/metrics` : `  curl -s -H "Authorization: Bearer $SPOOL_METRICS_TOKEN" ${base}/metrics`);
  say(
    `  curl -X POST -H "Authorization: Bearer $VALID_TOKEN" -H "Content-Type: application/json" ` +
      `-d '{"prompt":"A serene sunset over the ocean with birds flying in the sky.","num_frames":${d.num_frames},"fps":${d.fps},"guidance_scale":${d.guidance_scale},"num_inference_steps":${d.num_inference_steps}}' ` +
      `${base}/generate -o generated_video.mp4`,
  );
  // The CLI reads .spool/token and port 9000 by itself; these say so when this run differs.
  const cliUrl = config.port === 9000 ? '' : ` --url ${base}`;
  say(`  SPOOL_TOKEN=$VALID_TOKEN npx spool generate "snow falling at night" -o snow.mp4${cliUrl}`);
  say('');
  say(`The playground: ${base}/  (paste the token)`);
  say(`The API, browsable: ${base}/docs  (OpenAPI: ${base}/openapi.json)`);
  say('Ctrl-C stops everything.');
}

/** A path relative to the repository when it lies inside it. */
function shownPath(p: string): string {
  const rel = path.relative(REPO_ROOT, p);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : p;
}

/** Variables the processes should see: tracing, logging and runtime knobs. */
function pickEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v !== undefined && (k.startsWith('OTEL_') || k.startsWith('SPOOL_'))) out[k] = v;
  }
  // Secrets go only where they belong: the tokens to the coordinator, each key file to its own identity.
  delete out.SPOOL_API_TOKENS;
  delete out.SPOOL_METRICS_TOKEN;
  delete out.SPOOL_NATS_KEY_FILE;
  delete out.SPOOL_NATS_CREDENTIALS;
  return out;
}

main().catch((err: unknown) => {
  const message = err instanceof ConfigError || err instanceof Error ? err.message : String(err);
  process.stderr.write(`spool: cannot start: ${message}\n`);
  process.exit(1);
});
