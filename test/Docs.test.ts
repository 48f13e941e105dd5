import * as NodeContext from "@effect/platform-node/NodeContext"
import * as FileSystem from "@effect/platform/FileSystem"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as SettingsDocs from "../src/internal/settingsDocs.js"
import * as Settings from "../src/Settings.js"

const readme = Effect.flatMap(
  FileSystem.FileSystem,
  (fs) => fs.readFileString(new URL("../README.md", import.meta.url).pathname)
)

describe("Docs", () => {
  it.effect("the README's settings table is the one generated from the settings", () =>
    Effect.gen(function*() {
      const text = yield* readme
      const updated = SettingsDocs.updateReadme(text)
      assert.isDefined(updated, "README.md lacks the settings markers")
      assert.strictEqual(updated, text, "README.md's settings table is stale: run npm run docs")
    }).pipe(Effect.provide(NodeContext.layer)))

  it("the generated table has one row per setting, with its variable and file key", () => {
    const rows = SettingsDocs.markdownTable().split("\n").slice(2)
    assert.strictEqual(rows.length, Settings.docs.length)
    Settings.docs.forEach((doc, i) => {
      assert.isTrue(rows[i].startsWith(`| \`${doc.key}\` |`), doc.key)
      if (doc.path !== "") assert.include(rows[i], `\`${doc.path}\``)
    })
  })

  it("updating a README replaces only the generated block", () => {
    const stale = `intro\n${SettingsDocs.BEGIN}\n| old |\n${SettingsDocs.END}\noutro\n`
    assert.strictEqual(
      SettingsDocs.updateReadme(stale),
      `intro\n${SettingsDocs.BEGIN}\n${SettingsDocs.markdownTable()}\n${SettingsDocs.END}\noutro\n`
    )
    assert.isUndefined(SettingsDocs.updateReadme("no markers here"))
  })
})
