// Rewrites the settings table in README.md from src/Settings.ts (`npm run docs`), or, with
// --check, exits 1 when the table is stale. The TypeScript module is bundled on the fly.
import { build } from "esbuild"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { pathToFileURL } from "node:url"

const root = new URL("..", import.meta.url)
const readmePath = new URL("README.md", root)
const temporary = mkdtempSync(join(tmpdir(), "gossip-max-docs-"))
const out = join(temporary, "settingsDocs.mjs")

try {
  await build({
    entryPoints: [new URL("src/internal/settingsDocs.ts", root).pathname],
    outfile: out,
    bundle: true,
    platform: "node",
    format: "esm",
    logLevel: "warning"
  })
  const docs = await import(pathToFileURL(out).href)
  const readme = readFileSync(readmePath, "utf8")
  const updated = docs.updateReadme(readme)
  if (updated === undefined) {
    process.stderr.write(`README.md lacks the markers ${docs.BEGIN} ... ${docs.END}\n`)
    process.exitCode = 1
  } else if (process.argv.includes("--check")) {
    if (updated !== readme) {
      process.stderr.write("README.md's settings table is stale: run npm run docs\n")
      process.exitCode = 1
    }
  } else if (updated !== readme) {
    writeFileSync(readmePath, updated)
    process.stdout.write("README.md: settings table updated\n")
  }
} finally {
  rmSync(temporary, { recursive: true, force: true })
}
