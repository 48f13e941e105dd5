// Bundles the command-line programs with esbuild (CommonJS, one file each, fast start-up).
// `npm ci` and `npm pack` run it through the `prepare` script.
import { build } from "esbuild"
import { readFileSync } from "node:fs"

const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"))

/** One entry per program: source edge -> bundle. */
const programs = [
  { entry: "src/main.ts", out: "dist/gossip-max.cjs" },
  { entry: "src/sim-main.ts", out: "dist/sim.cjs" }
]

await Promise.all(programs.map(({ entry, out }) =>
  build({
    entryPoints: [entry],
    outfile: out,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    sourcemap: "linked",
    define: { GOSSIP_MAX_VERSION: JSON.stringify(version) },
    logLevel: "warning"
  })
))
