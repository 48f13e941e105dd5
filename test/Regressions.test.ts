import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as MemoryNetwork from "../src/MemoryNetwork.js"
import * as Scenario from "../src/Scenario.js"
import * as SimReport from "../src/SimReport.js"
import * as Simulation from "../src/Simulation.js"
import * as Topology from "../src/Topology.js"

const HOUR = 3_600_000

/** Runs a scenario and fails with the report and the replayable scenario unless it went well. */
const runOk = (scenario: Scenario.Scenario) =>
  Effect.gen(function*() {
    const report = yield* Simulation.run(scenario)
    assert.isTrue(
      report.ok,
      `${SimReport.formatText(scenario, report)}\n${Scenario.toJson(scenario)}`
    )
    return report
  })

const peer = (report: Simulation.Report, index: number) => report.peers[index]

describe("Regressions", () => {
  it.effect("one peer starting six hours after the others", () =>
    Effect.gen(function*() {
      const late = 6 * HOUR
      const report = yield* runOk(Scenario.make({
        seed: 1,
        size: 6,
        topology: Topology.ring,
        starts: [0, 0, 0, 0, 0, late]
      }))
      for (const p of report.peers) assert.isAtLeast(p.writtenAt ?? 0, late)
      assert.isBelow(report.lastResultAt ?? Infinity, late + 10_000)
    }))

  it.effect("three peers starting within the same millisecond, with 100 seeds", () =>
    Effect.gen(function*() {
      const failed: Array<number> = []
      for (let seed = 1; seed <= 100; seed++) {
        const scenario = Scenario.make({
          seed,
          size: 3,
          topology: Topology.mesh,
          starts: [0, (seed % 7) / 8, (seed % 5) / 6],
          faults: { latency: MemoryNetwork.uniform("0.1 millis", "2 millis") }
        })
        const report = yield* Simulation.run(scenario)
        if (!report.ok) failed.push(seed)
      }
      assert.deepStrictEqual(failed, [])
    }))

  it.effect("a peer cut off by a partition until the others are done, then healed", () =>
    Effect.gen(function*() {
      // a star around p0; p1's link is slower, so the others have their results while p1
      // still waits for the last records; then a partition cuts p1 off for an hour
      const cutAt = 55
      const heal = HOUR
      const uplink = MemoryNetwork.fixed("50 millis")
      const report = yield* runOk(Scenario.make({
        seed: 2,
        size: 6,
        topology: Topology.star,
        links: [
          { from: 0, to: 1, faults: { latency: MemoryNetwork.fixed("10 millis") } },
          ...[2, 3, 4, 5].map((leaf) => ({
            from: leaf,
            to: 0,
            faults: { latency: uplink },
            oneWay: true
          }))
        ],
        partitions: [{ at: cutAt, heal, groups: [[1]] }]
      }))
      for (const index of [0, 2, 3, 4, 5]) {
        assert.isBelow(peer(report, index).writtenAt ?? Infinity, cutAt)
      }
      assert.isAtLeast(peer(report, 1).writtenAt ?? 0, heal)
      assert.isAtLeast(peer(report, 0).exitedAt ?? 0, peer(report, 1).writtenAt ?? Infinity)
    }))

  it.effect("every message duplicated and delivered out of order", () =>
    Effect.gen(function*() {
      const report = yield* runOk(Scenario.make({
        seed: 3,
        size: 12,
        topology: Topology.random(3),
        faults: {
          latency: MemoryNetwork.uniform("1 millis", "30 millis"),
          duplicate: 1,
          reorder: 1,
          reorderWindow: 100
        },
        timings: { gossipInterval: 200 }
      }))
      assert.strictEqual(report.finished, 12)
    }))

  it.effect("a peer crashing right after it writes restarts, and the cluster still ends", () =>
    Effect.gen(function*() {
      const report = yield* runOk(Scenario.make({
        seed: 4,
        size: 5,
        topology: Topology.line,
        crashes: [{ peer: 1, at: "write", downtime: 2_000 }]
      }))
      assert.strictEqual(peer(report, 1).incarnations, 2)
      assert.strictEqual(report.stopped, "done")
      assert.strictEqual(report.exited, 5)
    }))

  it.effect("a line of 50 peers with the maximum at one end", () =>
    Effect.gen(function*() {
      const values = Array.from({ length: 50 }, (_, i) => BigInt(i === 49 ? 1_000 : i))
      const report = yield* runOk(Scenario.make({ seed: 5, values, topology: Topology.line }))
      assert.strictEqual(report.expected, 1_000n)
      assert.strictEqual(report.diameter, 49)
      assert.strictEqual(report.finished, 50)
    }))
})
