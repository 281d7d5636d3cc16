import { defineConfig } from "vitest/config";

/**
 * Two tiers. `unit`: pure code (evaluation engine, statistics, report stages, metric engine, the
 * edge's caches and queue buffer, authoring validation, docs' links), in seconds, with `npm run test:unit`. `integration`: everything that starts real
 * workerd, dynalite or a browser (`*.integration.test.ts` and `test/`), and the statistical
 * simulations (`*.simulation.test.ts`). `npm test` runs both.
 */
const SLOW = ["**/*.integration.test.ts", "**/*.simulation.test.ts", "test/**/*.test.ts"];
const IGNORED = ["node_modules/**", ".data/**", ".tmp/**", "dist/**"];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration files start their own workerd and dynalite instances; two at a time fits two cores.
    maxWorkers: 2,
    globalSetup: ["test/global-setup.ts"],
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["**/*.test.ts"],
          exclude: [...IGNORED, ...SLOW],
          pool: "threads",
          isolate: false,
        },
      },
      { extends: true, test: { name: "integration", include: SLOW, exclude: IGNORED } },
    ],
  },
});
