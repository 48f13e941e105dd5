/**
 * The README's settings table, generated from `Settings.docs` so that it cannot drift:
 * `npm run docs` rewrites the block between the markers, and a test fails when it is stale.
 */
import * as Settings from "../Settings.js"

/** The line that opens the generated block. */
export const BEGIN = "<!-- settings:begin (generated from src/Settings.ts by npm run docs) -->"

/** The line that closes the generated block. */
export const END = "<!-- settings:end -->"

const cell = (text: string): string => text.replace(/\|/g, "\\|")

const code = (text: string): string => (text === "" ? "" : `\`${text}\``)

/** The settings as a Markdown table: variable, file key, form, default, description. */
export const markdownTable = (): string =>
  [
    "| Variable | Config file key | Form | Default | Description |",
    "|---|---|---|---|---|",
    ...Settings.docs.map((doc) =>
      `| ${code(doc.key)} | ${code(doc.path)} | ${cell(doc.form)} | ${cell(doc.default)} | ` +
      `${cell(doc.description)} |`
    )
  ].join("\n")

/** `readme` with its generated block replaced by the current table; `undefined` when the
 * markers are missing. */
export const updateReadme = (readme: string): string | undefined => {
  const start = readme.indexOf(BEGIN)
  const end = readme.indexOf(END)
  if (start === -1 || end < start) return undefined
  return `${readme.slice(0, start)}${BEGIN}\n${markdownTable()}\n${readme.slice(end)}`
}
