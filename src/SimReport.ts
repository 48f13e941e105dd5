/**
 * Renderings of a simulation `Report`: text for people, JSON for machines, and an SVG plot of
 * the fraction of peers finished over virtual time. Pure functions of the report, so equal
 * runs render equally.
 *
 * @since 0.1.0
 */
import type * as MemoryNetwork from "./MemoryNetwork.js"
import type * as Scenario from "./Scenario.js"
import type * as Simulation from "./Simulation.js"

/** A virtual time in the largest fitting unit: `850ms`, `12.5s`, `3.2min`, `6.01h`. */
export const formatMillis = (millis: number): string => {
  if (millis < 1_000) return `${round(millis, 3)}ms`
  if (millis < 60_000) return `${round(millis / 1_000, 3)}s`
  if (millis < 3_600_000) return `${round(millis / 60_000, 2)}min`
  return `${round(millis / 3_600_000, 2)}h`
}

/** A byte count in B, KiB or MiB. */
export const formatBytes = (bytes: number): string =>
  bytes < 1024 ?
    `${bytes} B` :
    bytes < 1024 * 1024 ?
    `${round(bytes / 1024, 1)} KiB` :
    `${round(bytes / 1024 / 1024, 2)} MiB`

const round = (x: number, digits: number): number => {
  const scale = 10 ** digits
  return Math.round(x * scale) / scale
}

const percent = (p: number): string => `${round(p * 100, 2)}%`

/** The latency distribution in words: `1ms`, `1ms..20ms`, `exp(mean 10ms, min 1ms)`. */
export const formatLatency = (latency: MemoryNetwork.Latency): string => {
  switch (latency._tag) {
    case "Fixed":
      return formatMillis(latency.millis)
    case "Uniform":
      return `${formatMillis(latency.min)}..${formatMillis(latency.max)}`
    case "Exponential":
      return `exp(mean ${formatMillis(latency.mean)}, min ${formatMillis(latency.min)})`
  }
}

const faultLine = (scenario: Scenario.Scenario): string => {
  const f = scenario.faults
  const reorder = f.reorder > 0 ?
    `reorder ${percent(f.reorder)} within ${formatMillis(f.reorderWindow)}` :
    "reorder 0%"
  return `latency ${formatLatency(f.latency)}, loss ${percent(f.loss)}, ` +
    `duplicate ${percent(f.duplicate)}, ${reorder}; ${scenario.links.length} link override(s), ` +
    `${scenario.partitions.length} partition(s), ${scenario.crashes.length} crash(es)`
}

/** The report as text; the CPU time, when given, is the only line that differs between two
 * runs of the same scenario. */
export const formatText = (
  scenario: Scenario.Scenario,
  report: Simulation.Report,
  cpuSeconds?: number
): string => {
  const verdict = report.ok ?
    `OK: every peer wrote the true maximum ${report.expected}` :
    `FAILED: ${report.finished} of ${report.size} peer(s) wrote the true maximum ` +
    `${report.expected}, ${report.violations.length} violation(s)`
  const last = report.lastResultAt === undefined ?
    "no result was written" :
    `last result at ${formatMillis(report.lastResultAt)} virtual, ${report.rounds} gossip ` +
    `round(s) of ${formatMillis(scenario.timings.gossipInterval)}`
  const lines = [
    `gossip-max simulation: ${report.size} peer(s), ${report.topology} ` +
    `(${report.edges} edge(s), diameter ${report.diameter}), seed ${report.seed}`,
    `network: ${faultLine(scenario)}`,
    `result:  ${verdict}`,
    `time:    ${last}; stopped at ${formatMillis(report.endedAt)} ` +
    `(${report.stopped === "done" ? "every peer left" : "horizon reached"}), ` +
    `${report.exited} peer(s) left`,
    `traffic per peer: messages median ${report.messages.median}, max ${report.messages.max}; ` +
    `bytes median ${formatBytes(report.bytes.median)}, max ${formatBytes(report.bytes.max)}`,
    `trace digest: ${report.digest}`,
    ...violationLines(report.violations)
  ]
  if (cpuSeconds !== undefined) lines.push(`cpu: ${round(cpuSeconds, 2)}s`)
  return lines.join("\n")
}

const SHOWN_VIOLATIONS = 20

const violationLines = (violations: ReadonlyArray<Simulation.Violation>): Array<string> =>
  violations.length === 0 ? ["violations: none"] : [
    `violations (${violations.length}):`,
    ...violations.slice(0, SHOWN_VIOLATIONS).map((v) =>
      `  ${formatMillis(v.time)} ${v.kind} ${v.peer >= 0 ? `p${v.peer}` : "-"}: ${v.detail}`
    ),
    ...(violations.length > SHOWN_VIOLATIONS ?
      [`  ... and ${violations.length - SHOWN_VIOLATIONS} more`] :
      [])
  ]

/** The report as a JSON value: integers as decimal strings, times in virtual ms. */
export const toJson = (
  report: Simulation.Report,
  cpuSeconds?: number
): Record<string, unknown> => ({
  ...report,
  expected: report.expected.toString(),
  peers: report.peers.map((peer) => ({
    ...peer,
    value: peer.value.toString(),
    result: peer.result === undefined ? null : peer.result.toString(),
    writtenAt: peer.writtenAt ?? null,
    exitedAt: peer.exitedAt ?? null
  })),
  lastResultAt: report.lastResultAt ?? null,
  rounds: report.rounds ?? null,
  ...(cpuSeconds === undefined ? {} : { cpuSeconds: round(cpuSeconds, 3) })
})

const escapeXml = (text: string): string =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")

/** Round tick steps for an axis spanning `span`: 1, 2 or 5 times a power of ten. */
const tickStep = (span: number, ticks: number): number => {
  const raw = span / ticks
  const power = 10 ** Math.floor(Math.log10(raw))
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw)
  return step ?? 10 * power
}

/** An SVG plot of the fraction of peers that have written their result over virtual time. */
export const plotSvg = (report: Simulation.Report): string => {
  const width = 640
  const height = 360
  const left = 60
  const right = 20
  const top = 40
  const bottom = 50
  const times = report.peers
    .flatMap((peer) => (peer.writtenAt === undefined ? [] : [peer.writtenAt]))
    .sort((a, b) => a - b)
  const end = Math.max(1, report.lastResultAt ?? report.endedAt)
  const x = (t: number) => left + (t / end) * (width - left - right)
  const y = (fraction: number) => top + (1 - fraction) * (height - top - bottom)
  const points: Array<string> = [`${x(0)},${y(0)}`]
  times.forEach((t, i) => {
    points.push(`${x(t).toFixed(1)},${y(i / report.size).toFixed(1)}`)
    points.push(`${x(t).toFixed(1)},${y((i + 1) / report.size).toFixed(1)}`)
  })
  points.push(`${x(end).toFixed(1)},${y(times.length / report.size).toFixed(1)}`)
  const step = tickStep(end, 6)
  const xTicks: Array<string> = []
  for (let t = 0; t <= end + 1e-9; t += step) {
    xTicks.push(
      `<line x1="${x(t).toFixed(1)}" y1="${height - bottom}" x2="${x(t).toFixed(1)}" ` +
        `y2="${height - bottom + 5}" stroke="#333"/>` +
        `<text x="${x(t).toFixed(1)}" y="${height - bottom + 20}" text-anchor="middle">` +
        `${escapeXml(formatMillis(t))}</text>`
    )
  }
  const yTicks = [0, 0.25, 0.5, 0.75, 1].map((f) =>
    `<line x1="${left}" y1="${y(f)}" x2="${width - right}" y2="${y(f)}" stroke="#ddd"/>` +
    `<text x="${left - 8}" y="${y(f) + 4}" text-anchor="end">${f * 100}%</text>`
  )
  const title = `${report.size} peers, ${report.topology}, seed ${report.seed}: ` +
    `${report.finished}/${report.size} finished`
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="14">${escapeXml(title)}</text>`,
    ...yTicks,
    ...xTicks,
    `<line x1="${left}" y1="${height - bottom}" x2="${width - right}" y2="${height - bottom}" ` +
    `stroke="#333"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${height - bottom}" stroke="#333"/>`,
    `<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="${points.join(" ")}"/>`,
    `<text x="${(left + width - right) / 2}" y="${height - 10}" text-anchor="middle">` +
    `virtual time</text>`,
    `<text x="16" y="${(top + height - bottom) / 2}" text-anchor="middle" ` +
    `transform="rotate(-90 16 ${(top + height - bottom) / 2})">peers finished</text>`,
    `</svg>`,
    ""
  ].join("\n")
}
