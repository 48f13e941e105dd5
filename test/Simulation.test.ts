import { assert, describe, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as MemoryNetwork from "../src/MemoryNetwork.js"
import * as Peer from "../src/Peer.js"
import * as Scenario from "../src/Scenario.js"
import * as SimCli from "../src/SimCli.js"
import * as SimReport from "../src/SimReport.js"
import * as Simulation from "../src/Simulation.js"
import * as Topology from "../src/Topology.js"

const faulty = (seed: number) =>
  Scenario.make({
    seed,
    size: 12,
    topology: Topology.random(3),
    startSpread: 2_000,
    faults: {
      latency: MemoryNetwork.exponential("5 millis", "1 millis"),
      loss: 0.2,
      duplicate: 0.1,
      reorder: 0.2
    },
    crashes: [{ peer: 3, at: 500, downtime: 3_000 }],
    partitions: [{ at: 100, heal: 4_000, groups: [[0, 1]] }]
  })

describe("Topology", () => {
  const shapes: ReadonlyArray<readonly [Topology.Topology, number, number]> = [
    [Topology.mesh, 7, 21],
    [Topology.line, 7, 6],
    [Topology.ring, 7, 7],
    [Topology.star, 7, 6],
    [Topology.grid, 7, 8],
    [Topology.random(4), 40, 80]
  ]
  for (const [topology, size, count] of shapes) {
    it(`${Topology.describe(topology)} of ${size} is connected with ${count} edges`, () => {
      const edges = Topology.edges(topology, size, 9)
      assert.strictEqual(edges.length, count)
      assert.isTrue(Topology.isConnected(size, edges))
      assert.isTrue(edges.every(([a, b]) => a < b && b < size))
    })
  }

  it("gives every peer of a random graph about the asked degree, from the seed", () => {
    const edges = Topology.edges(Topology.random(4), 200, 5)
    const degrees = Topology.adjacency(200, edges).map((neighbours) => neighbours.length)
    assert.isTrue(degrees.every((degree) => degree >= 2 && degree <= 4))
    assert.isAtLeast(degrees.filter((degree) => degree === 4).length, 190)
    assert.deepStrictEqual(Topology.edges(Topology.random(4), 200, 5), edges)
    assert.notDeepEqual(Topology.edges(Topology.random(4), 200, 6), edges)
  })

  it("measures the diameter of a line", () => {
    assert.strictEqual(Topology.diameter(10, Topology.edges(Topology.line, 10, 0)), 9)
  })
})

describe("Scenario", () => {
  it("round-trips through JSON", () => {
    const scenario = faulty(4)
    const decoded = Scenario.fromJson(Scenario.toJson(scenario))
    assert.deepStrictEqual(decoded, Either.right(scenario))
  })

  it("refuses JSON naming a peer that does not exist", () => {
    const scenario = { ...faulty(4), crashes: [{ peer: 12, at: 1, downtime: 1 }] }
    const decoded = Scenario.fromJson(JSON.stringify({
      ...scenario,
      peers: scenario.peers.map((peer) => ({ ...peer, value: String(peer.value) }))
    }))
    assert.isTrue(Either.isLeft(decoded))
    assert.include(Either.isLeft(decoded) ? decoded.left : "", "unknown peer")
  })

  it("stops an hour after the last start or fault by default", () => {
    const scenario = Scenario.make({
      starts: [0, 10_000, 0],
      crashes: [{ peer: 0, at: 20_000, downtime: 5_000 }]
    })
    assert.strictEqual(scenario.horizon, 25_000 + 3_600_000)
  })
})

describe("Simulation", () => {
  it.effect("a healthy random cluster writes the true maximum everywhere and leaves", () =>
    Effect.gen(function*() {
      const report = yield* Simulation.run(Scenario.make({ seed: 1, size: 30 }))
      assert.isTrue(report.ok)
      assert.strictEqual(report.finished, 30)
      assert.strictEqual(report.exited, 30)
      assert.strictEqual(report.stopped, "done")
      assert.deepStrictEqual(report.violations, [])
      assert.isAbove(report.messages.median, 0)
      assert.isAtLeast(report.bytes.max, report.bytes.median)
    }))

  it.effect("replays the same trace and report for the same scenario and seed", () =>
    Effect.gen(function*() {
      const first = yield* Simulation.run(faulty(7), { record: true })
      const again = yield* Simulation.run(faulty(7), { record: true })
      assert.isTrue(first.ok, SimReport.formatText(faulty(7), first))
      assert.isAbove(first.events.length, 1_000)
      assert.deepStrictEqual(again, first)
    }))

  it.effect("takes another course with another seed", () =>
    Effect.gen(function*() {
      const one = yield* Simulation.run(faulty(7))
      const other = yield* Simulation.run(faulty(8))
      assert.notStrictEqual(other.digest, one.digest)
    }))

  it.effect("flags peers that share an identity writing before they know everyone", () =>
    Effect.gen(function*() {
      // p0 and p2 claim the same identity: p1 mistakes one for the other
      const scenario = Scenario.make({ seed: 1, values: [1n, 2n, 3n], topology: Topology.line })
      const twins = {
        ...scenario,
        peers: scenario.peers.map((peer, i) => (i === 1 ? peer : { ...peer, id: "twin" }))
      }
      const report = yield* Simulation.run(twins)
      assert.isFalse(report.ok)
      assert.isTrue(
        report.violations.some((v) => v.kind === "EarlyWrite" || v.kind === "WrongValue")
      )
    }))

  it.effect("reports the peers without a result when a partition never heals", () =>
    Effect.gen(function*() {
      const report = yield* Simulation.run(Scenario.make({
        seed: 1,
        size: 4,
        topology: Topology.ring,
        partitions: [{ at: 0, groups: [[0]] }],
        horizon: 60_000
      }))
      assert.isFalse(report.ok)
      assert.strictEqual(report.stopped, "horizon")
      assert.strictEqual(report.finished, 0)
      assert.deepStrictEqual(
        report.violations.map((v) => v.kind),
        ["NoResult", "NoResult", "NoResult", "NoResult"]
      )
    }))

  it.effect("keeps a crashed peer's result and does not write it twice", () =>
    Effect.gen(function*() {
      const report = yield* Simulation.run(Scenario.make({
        seed: 2,
        size: 6,
        topology: Topology.ring,
        crashes: [{ peer: 2, at: "write", downtime: 1_000 }, { peer: 4, at: 1, downtime: 500 }]
      }))
      assert.isTrue(report.ok)
      assert.strictEqual(report.peers[2].incarnations, 2)
      assert.strictEqual(report.peers[4].incarnations, 2)
    }))
})

describe("Simulation.runVirtual", () => {
  it.effect("runs an embedder's own peers on a memory network hours apart in virtual time", () =>
    Effect.gen(function*() {
      const node = (host: string, value: bigint, neighbour: string) =>
        Effect.gen(function*() {
          const peer = yield* Peer.Peer
          const result = yield* peer.result
          yield* peer.done
          return [result, yield* Clock.currentTimeMillis] as const
        }).pipe(
          Effect.provide(
            Peer.layerOptions({
              value,
              neighbours: [{ name: neighbour, host: neighbour, port: 9000 }],
              gossipInterval: Duration.seconds(10)
            })
              .pipe(Layer.provide(MemoryNetwork.layerTransport(host)))
          )
        )
      const outcome = yield* Simulation.runVirtual(
        Effect.all([
          node("a", 1n, "b"),
          Effect.zipRight(Effect.sleep("2 hours"), node("b", 9n, "a"))
        ], { concurrency: "unbounded" }).pipe(
          Effect.provide(MemoryNetwork.layer({ seed: 1, loss: 0.3 }))
        )
      )
      assert.strictEqual(outcome.reason, "done")
      const exit = Option.getOrThrow(outcome.exit)
      assert.isTrue(Exit.isSuccess(exit))
      const [[a, aAt], [b, bAt]] = Exit.isSuccess(exit) ? exit.value : [[0n, 0], [0n, 0]]
      assert.deepStrictEqual([a, b], [9n, 9n])
      assert.isAtLeast(Math.min(aAt, bAt), 2 * 3_600_000)
    }))
})

describe("SimReport", () => {
  it.effect("prints every figure of the run and only the CPU line varies", () =>
    Effect.gen(function*() {
      const scenario = Scenario.make({ seed: 3, size: 8, faults: { loss: 0.1 } })
      const report = yield* Simulation.run(scenario)
      const text = SimReport.formatText(scenario, report, 1.25)
      for (
        const part of ["8 peer(s)", "random(4)", "OK", "gossip round", "messages median", "cpu"]
      ) {
        assert.include(text, part)
      }
      const again = SimReport.formatText(scenario, yield* Simulation.run(scenario), 9)
      assert.deepStrictEqual(again.split("\n").slice(0, -1), text.split("\n").slice(0, -1))
      const json = JSON.parse(JSON.stringify(SimReport.toJson(report, 1.25)))
      assert.strictEqual(json.expected, String(report.expected))
      assert.strictEqual(json.peers.length, 8)
      assert.strictEqual(json.cpuSeconds, 1.25)
    }))

  it.effect("plots one step per peer that finished", () =>
    Effect.gen(function*() {
      const report = yield* Simulation.run(Scenario.make({ seed: 3, size: 5 }))
      const svg = SimReport.plotSvg(report)
      assert.isTrue(svg.startsWith("<svg"))
      const points = /points="([^"]*)"/.exec(svg)?.[1].split(" ") ?? []
      assert.strictEqual(points.length, 2 + 2 * 5)
      assert.include(svg, "5/5 finished")
    }))
})

describe("SimCli", () => {
  it("builds the scenario the flags describe", () => {
    const parsed = SimCli.parseArgs([
      "--peers",
      "50",
      "--topology",
      "random",
      "--degree",
      "3",
      "--loss",
      "0.2",
      "--latency",
      "1ms..20ms",
      "--crashes",
      "2",
      "--seed",
      "7",
      "--json"
    ])
    assert.isTrue(Either.isRight(parsed) && parsed.right !== "help")
    const command = Either.getOrThrow(parsed) as SimCli.Command
    assert.strictEqual(command.scenario.peers.length, 50)
    assert.deepStrictEqual(command.scenario.topology, Topology.random(3))
    assert.strictEqual(command.scenario.faults.loss, 0.2)
    assert.deepStrictEqual(command.scenario.faults.latency, MemoryNetwork.uniform(1, 20))
    assert.strictEqual(command.scenario.crashes.length, 2)
    assert.strictEqual(command.scenario.seed, 7)
    assert.isTrue(command.json)
  })

  it("lists every bad flag at once", () => {
    const parsed = SimCli.parseArgs(["--peers", "0", "--loss", "2", "--topology", "cube", "--x"])
    assert.isTrue(Either.isLeft(parsed))
    const problems = Either.isLeft(parsed) ? parsed.left : []
    assert.strictEqual(problems.length, 4)
  })

  it("reads the three kinds of latency", () => {
    assert.deepStrictEqual(SimCli.parseLatency("5ms"), Either.right(MemoryNetwork.fixed(5)))
    assert.deepStrictEqual(
      SimCli.parseLatency("exp:10ms"),
      Either.right(MemoryNetwork.exponential(10))
    )
    assert.isTrue(Either.isLeft(SimCli.parseLatency("20ms..1ms")))
  })
})
