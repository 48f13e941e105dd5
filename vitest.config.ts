import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // the process tests run bin/gossip-max, so the bundle is built first
    globalSetup: ["test/setup/build.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000
  }
})
