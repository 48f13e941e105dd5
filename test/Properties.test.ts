import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fc from "effect/FastCheck"
import * as MemoryNetwork from "../src/MemoryNetwork.js"
import * as Scenario from "../src/Scenario.js"
import * as SimReport from "../src/SimReport.js"
import * as Simulation from "../src/Simulation.js"
import * as Topology from "../src/Topology.js"

// Every scenario is judged by the simulator, at the moment things happen:
// - liveness: every peer writes the true maximum (faults all end: partitions heal, crashed
//   peers restart, loss is never total);
// - safety: every write is the true maximum, by a peer whose view holds every peer;
// - each peer writes once, across restarts;
// - no peer leaves while a neighbour without a result is connected to it or was lost for less
//   than the linger bound.
// A failure prints fast-check's seed and the scenario as JSON: save it to a file and replay it
// with `npm run sim -- --scenario FILE`. Set PROPERTY_SEED to rerun one fast-check seed, and
// PROPERTY_SHRINK=1 to have fast-check shrink a failure to a smaller scenario.

const RUNS_PER_FAMILY = 50
// peers wait up to LINGER for a neighbour they lost: faults end sooner, so liveness holds
const LINGER = 8_000
const LONGEST_FAULT = 5_000

const percent = (max: number) => fc.integer({ min: 0, max }).map((p) => p / 100)

const latency: fc.Arbitrary<MemoryNetwork.Latency> = fc.oneof(
  fc.integer({ min: 1, max: 30 }).map((millis) => MemoryNetwork.fixed(millis)),
  fc.tuple(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 50 }))
    .map(([min, extra]) => MemoryNetwork.uniform(min, min + extra)),
  fc.tuple(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 0, max: 2 }))
    .map(([mean, min]) => MemoryNetwork.exponential(mean, min))
)

const faults = (options: { readonly loss: number; readonly duplicate: number; reorder: number }) =>
  fc.record({
    latency,
    loss: percent(options.loss),
    duplicate: percent(options.duplicate),
    reorder: percent(options.reorder),
    reorderWindow: fc.integer({ min: 1, max: 100 })
  })

const topology = (size: number): fc.Arbitrary<Topology.Topology> =>
  fc.oneof(
    fc.integer({ min: 2, max: 5 }).map(Topology.random),
    fc.constantFrom(
      Topology.line,
      Topology.ring,
      Topology.star,
      Topology.grid,
      size <= 12 ? Topology.mesh : Topology.random(3)
    )
  )

/** Start times: mostly together or within a minute; small clusters sometimes hours apart
 * (idle hours cost real time: every waiting peer still gossips each round). */
const start = (size: number) =>
  fc.oneof(
    { arbitrary: fc.constant(0), weight: 4 },
    { arbitrary: fc.integer({ min: 0, max: 2_000 }), weight: 4 },
    { arbitrary: fc.integer({ min: 0, max: 10_000 }), weight: 2 },
    { arbitrary: fc.integer({ min: 0, max: size <= 4 ? 3 * 3_600_000 : 10_000 }), weight: 1 }
  )

/** A group of peers to cut off: at least one, never all. */
const group = (size: number) =>
  fc.uniqueArray(fc.integer({ min: 0, max: size - 1 }), { minLength: 1, maxLength: size - 1 })
    .map((peers) => [...peers].sort((a, b) => a - b))

const partition = (size: number): fc.Arbitrary<Scenario.PartitionSpec> =>
  fc.record({
    at: fc.integer({ min: 0, max: 10_000 }),
    length: fc.integer({ min: 1, max: LONGEST_FAULT }),
    groups: group(size).map((peers) => [peers])
  }).map(({ at, groups, length }) => ({ at, heal: at + length, groups }))

const crash = (size: number): fc.Arbitrary<Scenario.Crash> =>
  fc.record({
    peer: fc.integer({ min: 0, max: size - 1 }),
    at: fc.oneof(fc.integer({ min: 0, max: 10_000 }), fc.constant("write" as const)),
    downtime: fc.integer({ min: 0, max: LONGEST_FAULT })
  })

interface Family {
  readonly name: string
  readonly maxSize: number
  readonly network: { readonly loss: number; readonly duplicate: number; reorder: number }
  readonly partitions: number
  readonly crashes: number
}

const scenario = (family: Family): fc.Arbitrary<Scenario.Scenario> =>
  // mostly small clusters, where odd interleavings are likeliest; up to 40 peers
  fc.oneof(
    { arbitrary: fc.integer({ min: 2, max: 10 }), weight: 6 },
    { arbitrary: fc.integer({ min: 11, max: 24 }), weight: 2 },
    { arbitrary: fc.integer({ min: 25, max: family.maxSize }), weight: 1 }
  ).chain((size) =>
    fc.record({
      seed: fc.integer({ min: 0, max: 2 ** 30 }),
      values: fc.array(fc.bigInt({ min: -(10n ** 12n), max: 10n ** 12n }), {
        minLength: size,
        maxLength: size
      }),
      starts: fc.array(start(size), { minLength: size, maxLength: size }),
      topology: topology(size),
      faults: faults(family.network),
      partitions: fc.array(partition(size), { maxLength: family.partitions }),
      crashes: fc.array(crash(size), { maxLength: family.crashes }),
      timings: fc.record({
        gossipInterval: fc.constantFrom(500, 1_000),
        linger: fc.constant(LINGER)
      })
    }).map((options) => Scenario.make(options))
  )

const describeFailure = (scenario: Scenario.Scenario, report: Simulation.Report): string =>
  [
    "the simulation broke a property:",
    SimReport.formatText(scenario, report),
    "replay: save the scenario below to a file, then run `npm run sim -- --scenario FILE`",
    Scenario.toJson(scenario)
  ].join("\n")

const judged = (scenario: Scenario.Scenario) =>
  Effect.gen(function*() {
    const report = yield* Simulation.run(scenario)
    assert.isTrue(report.ok, describeFailure(scenario, report))
  })

const families: ReadonlyArray<Family> = [
  {
    name: "lossy, duplicating, reordering networks",
    maxSize: 40,
    network: { loss: 50, duplicate: 30, reorder: 50 },
    partitions: 0,
    crashes: 0
  },
  {
    name: "partitions that heal",
    maxSize: 40,
    network: { loss: 20, duplicate: 10, reorder: 20 },
    partitions: 2,
    crashes: 0
  },
  {
    name: "crashes and restarts",
    maxSize: 40,
    network: { loss: 20, duplicate: 10, reorder: 20 },
    partitions: 0,
    crashes: 3
  },
  {
    name: "every fault at once",
    maxSize: 40,
    network: { loss: 50, duplicate: 30, reorder: 50 },
    partitions: 2,
    crashes: 3
  }
]

// a fixed default seed keeps CI runs identical (and their time predictable); set
// PROPERTY_SEED=random to explore new scenarios, or a number to replay one run
const DEFAULT_SEED = 20_261_204
const seedSetting = process.env["PROPERTY_SEED"]
const seed = seedSetting === "random" ? undefined : seedSetting ?? String(DEFAULT_SEED)

describe("Properties", () => {
  for (const family of families) {
    it.effect.prop(
      `${family.name}: every peer writes the true maximum once, knowing everyone, and leaves ` +
        `no neighbour behind`,
      [scenario(family)],
      ([generated]) => judged(generated),
      {
        timeout: 240_000,
        fastCheck: {
          numRuns: RUNS_PER_FAMILY,
          ...(seed === undefined ? {} : { seed: Number(seed) }),
          // shrinking a 40-peer scenario takes minutes: report the first failure as it is,
          // unless asked (PROPERTY_SHRINK=1, with PROPERTY_SEED to replay a run)
          endOnFailure: process.env["PROPERTY_SHRINK"] === undefined
        }
      }
    )
  }
})
