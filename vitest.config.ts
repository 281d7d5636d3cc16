import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["**/*.test.ts"],
    exclude: ["node_modules/**", ".data/**", "dist/**"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Test files start their own workerd and dynalite instances; two at a time fits two cores.
    maxWorkers: 2,
    globalSetup: ["test/global-setup.ts"],
  },
});
