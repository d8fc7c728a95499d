import { defineConfig } from 'vitest/config';

// Two projects: `unit` is the quick loop (pure logic and local processes);
// `e2e` runs against a real kube-apiserver started by e2e/setup.ts, or the
// cluster named by E2E_KUBECONFIG.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          testTimeout: 60_000,
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
