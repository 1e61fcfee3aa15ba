import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["__tests__/**/*.test.ts"],
    // constructs/platform.ts loads a cloud's constructs with `require`, which vitest cannot do for TypeScript.
    setupFiles: ["__tests__/support/clouds.ts"],
    testTimeout: 60_000,
    // The offline terraform check inits and plans every stack in one beforeAll.
    hookTimeout: 600_000,
    reporters: ["default", ["json", { outputFile: "test-results/vitest.json" }]],
  },
});
