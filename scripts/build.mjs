// Bundles the command into dist/gossip-max.cjs with esbuild; `npm ci` runs it (prepare).
import { build } from "esbuild"
import { readFileSync } from "node:fs"

const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"))

await build({
  entryPoints: ["src/main.ts"],
  outfile: "dist/gossip-max.cjs",
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  minify: false,
  sourcemap: "linked",
  define: { GOSSIP_MAX_VERSION: JSON.stringify(version) },
  logLevel: "warning"
})
