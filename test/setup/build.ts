/**
 * Vitest global setup: bundles the `gossip-max` command once before any test file runs, so
 * the process tests spawn the code under test rather than a stale `dist/`.
 */
import { execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"

export default function setup(): void {
  const root = fileURLToPath(new URL("../..", import.meta.url))
  execFileSync(process.execPath, ["scripts/build.mjs"], { cwd: root, stdio: "inherit" })
}
