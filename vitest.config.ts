import { defineConfig } from 'vitest/config';

// Three projects: `unit` is the quick loop (pure logic and local processes);
// `alcor` runs Alcor's real services where their jars are present;
// `e2e` runs against a real kube-apiserver started by e2e/setup.ts, or the
// cluster named by E2E_KUBECONFIG.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/alcor/**'],
          testTimeout: 60_000,
        },
      },
      {
        test: {
          // Alcor's real services from prebuilt jars (test/alcor/jars.ts): skips without them.
          name: 'alcor',
          include: ['test/alcor/**/*.test.ts'],
          testTimeout: 300_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['e2e/**/*.test.ts'],
          globalSetup: ['e2e/setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 300_000,
          // One cluster, shared: files run one after another.
          fileParallelism: false,
        },
      },
    ],
  },
});
