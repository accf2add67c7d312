#!/usr/bin/env node
// The `spool` command: `npx spool …` from the repository (the root
// package.json's "bin"), or `cli/bin/spool.js …` from anywhere. Plain
// JavaScript so that it runs before anything is installed: on a fresh clone
// it first installs the workspace's packages (infra/bin/bootstrap-node.sh,
// pnpm; its messages go to stderr so stdout stays the command's), then runs
// the TypeScript CLI in this process through tsx's loader.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const cliDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const root = path.resolve(cliDir, '..');
// Exit 9: the CLI could not run at all (see `spool --help`'s exit codes).
const CANNOT_RUN = 9;

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 6)) {
  process.stderr.write(`spool: needs Node 20.6 or later (this is ${process.versions.node})\n`);
  process.exit(CANNOT_RUN);
}

// What the CLI needs at run time: tsx (the loader) and the link to @spool/shared.
const installed = () =>
  existsSync(path.join(root, 'node_modules', 'tsx', 'package.json')) && existsSync(path.join(cliDir, 'node_modules', '@spool', 'shared', 'package.json'));

if (!installed()) {
  process.stderr.write("spool: installing the workspace's packages first (once; infra/bin/bootstrap-node.sh)\n");
  const run = spawnSync('bash', [path.join(root, 'infra', 'bin', 'bootstrap-node.sh')], { cwd: root, stdio: ['ignore', process.stderr, 'inherit'] });
  if (run.status !== 0 || !installed()) {
    const why = run.error ? run.error.message : `it exited with ${run.status ?? run.signal}`;
    process.stderr.write(`spool: could not install the workspace's packages (${why}); run \`bash infra/bin/bootstrap-node.sh\` in ${root} and try again\n`);
    process.exit(CANNOT_RUN);
  }
}

const { register } = await import('tsx/esm/api');
register();
const { main } = await import('../src/main.ts');
await main();
