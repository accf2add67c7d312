import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['shared/test/**/*.test.ts', 'stages/test/**/*.test.ts', 'coordinator/test/**/*.test.ts', 'infra/test/**/*.test.ts', 'models/test/**/*.test.ts', 'bench/test/**/*.test.ts', 'cli/test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // End-to-end suites start their own nats-server and workers; run files one
    // at a time so two stacks never compete for the machine's two cores.
    fileParallelism: false,
    reporters: ['default'],
  },
});
