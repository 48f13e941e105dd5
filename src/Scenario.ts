/**
 * A simulation scenario as plain data: the peers (value and start time), the topology, the
 * network's faults, partitions, crashes and the peers' timings. A scenario and its seed fix a
 * simulated run completely, and a scenario round-trips through JSON, so a failing one can be
 * saved and replayed (`npm run sim -- --scenario FILE.json`). Times are virtual milliseconds
 * from the start of the run. Pure: building a scenario does no I/O.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { derive, Prng } from "./internal/prng.js"
import * as MemoryNetwork from "./MemoryNetwork.js"
import * as Topology from "./Topology.js"

const Millis = Schema.Number.pipe(Schema.finite(), Schema.nonNegative())
const Index = Schema.NonNegativeInt

/** One peer: the value it contributes, when it starts and, rarely, a fixed identity (by
 * default each incarnation draws a random one). */
export const PeerSpec = Schema.Struct({
  value: Schema.BigInt,
  start: Millis,
  id: Schema.optional(Schema.String)
})

/** One peer: the value it contributes and when it starts. */
export type PeerSpec = typeof PeerSpec.Type

/** A crash: peer `peer` loses its memory at `at` (or right after it writes its result, with
 * `"write"`) and restarts `downtime` later. Its stored result survives. A crash due before the
 * peer starts, while it is down, or after it has left does not happen. */
export const Crash = Schema.Struct({
  peer: Index,
  at: Schema.Union(Millis, Schema.Literal("write")),
  downtime: Millis
})

/** A crash and restart of one peer. */
export type Crash = typeof Crash.Type

/** Faults of the link between two peers (both ways unless `oneWay`), over the network's. */
export const LinkSpec = Schema.Struct({
  from: Index,
  to: Index,
  faults: Schema.partial(MemoryNetwork.Faults),
  oneWay: Schema.optional(Schema.Boolean)
})

/** Faults of one link. */
export type LinkSpec = typeof LinkSpec.Type

/** A partition: from `at` until `heal` (never, when absent) peers in different groups cannot
 * reach each other; unlisted peers form one more group. */
export const PartitionSpec = Schema.Struct({
  at: Millis,
  heal: Schema.optional(Millis),
  groups: Schema.Array(Schema.Array(Index))
})

/** A partition between groups of peers. */
export type PartitionSpec = typeof PartitionSpec.Type

/** The peers' protocol timings, in milliseconds (see `PeerConfig`). */
export const Timings = Schema.Struct({
  gossipInterval: Millis.pipe(Schema.positive()),
  retryMin: Millis.pipe(Schema.positive()),
  retryMax: Millis.pipe(Schema.positive()),
  linger: Millis
})

/** The peers' protocol timings, in milliseconds. */
export type Timings = typeof Timings.Type

/** The timings of `PeerConfig.defaults`: gossip every 500ms, redial from 100ms up to 5s, linger
 * 30s for an unreachable neighbour. */
export const defaultTimings: Timings = {
  gossipInterval: 500,
  retryMin: 100,
  retryMax: 5_000,
  linger: 30_000
}

const ScenarioFields = Schema.Struct({
  /** Seed of every random choice: the topology, the network's faults, the peers' ids and
   * jitter. */
  seed: Schema.Int,
  peers: Schema.Array(PeerSpec).pipe(Schema.minItems(1)),
  topology: Topology.Topology,
  /** Network-wide faults. */
  faults: MemoryNetwork.Faults,
  links: Schema.Array(LinkSpec),
  partitions: Schema.Array(PartitionSpec),
  crashes: Schema.Array(Crash),
  timings: Timings,
  /** The run stops at this virtual time, finished or not. */
  horizon: Millis
})

const indicesInRange = (scenario: typeof ScenarioFields.Type): string | undefined => {
  const size = scenario.peers.length
  const bad = (index: number) => index >= size
  if (scenario.crashes.some((crash) => bad(crash.peer))) return "a crash names an unknown peer"
  if (scenario.links.some((link) => bad(link.from) || bad(link.to))) {
    return "a link names an unknown peer"
  }
  if (scenario.partitions.some((p) => p.groups.some((group) => group.some(bad)))) {
    return "a partition names an unknown peer"
  }
  return undefined
}

/** A complete scenario; peer indices in crashes, links and partitions are checked. */
export const Scenario = ScenarioFields.pipe(Schema.filter(indicesInRange))

/** A complete scenario. */
export type Scenario = typeof Scenario.Type

/** The host a peer listens on in the simulated network: `p` and its index. */
export const host = (index: number): string => `p${index}`

/** What `make` needs; everything has a default. */
export interface Options {
  /** Seed of every random choice (default 0). */
  readonly seed?: number
  /** Number of peers (default: as many as `values`, else 3). */
  readonly size?: number
  /** The peers' values (default: random integers below one million, from the seed). */
  readonly values?: ReadonlyArray<bigint>
  /** Start times per peer (default: `startSpread`). */
  readonly starts?: ReadonlyArray<number>
  /** Peers start at random times within this many ms (default 0: all at once). */
  readonly startSpread?: number
  /** The shape of the cluster (default: random, degree 4). */
  readonly topology?: Topology.Topology
  /** Network-wide faults, over `MemoryNetwork.noFaults`. */
  readonly faults?: Partial<MemoryNetwork.Faults>
  readonly links?: ReadonlyArray<LinkSpec>
  readonly partitions?: ReadonlyArray<PartitionSpec>
  readonly crashes?: ReadonlyArray<Crash>
  /** Timings over `defaultTimings`. */
  readonly timings?: Partial<Timings>
  /** Stop time (default: one hour after the last start, heal or restart). */
  readonly horizon?: number
}

/** When the last scheduled fault ends: the last heal or timed restart (ms). A partition that
 * never heals and a crash after writing do not count. */
export const faultsEnd = (
  scenario: Pick<Scenario, "partitions" | "crashes" | "peers">
): number =>
  Math.max(
    0,
    ...scenario.partitions.map((p) => p.heal ?? p.at),
    ...scenario.crashes.map((c) => (c.at === "write" ? 0 : c.at + c.downtime))
  )

/** One hour after the last start or scheduled fault: the default stop time. */
export const defaultHorizon = (
  scenario: Pick<Scenario, "partitions" | "crashes" | "peers">
): number => Math.max(faultsEnd(scenario), ...scenario.peers.map((peer) => peer.start)) + 3_600_000

/** A scenario from options over the defaults. */
export const make = (options: Options = {}): Scenario => {
  const seed = options.seed ?? 0
  const size = options.size ?? options.values?.length ?? 3
  const rng = new Prng(derive(seed, "scenario"))
  const values = options.values ?? Array.from({ length: size }, () => BigInt(rng.int(0, 1e6)))
  const spread = options.startSpread ?? 0
  const starts = options.starts ??
    Array.from({ length: size }, () => (spread > 0 ? rng.int(0, spread + 1) : 0))
  const peers = Array.from({ length: size }, (_, i) => ({
    value: values[i % values.length],
    start: starts[i] ?? 0
  }))
  const partial = {
    peers,
    partitions: options.partitions ?? [],
    crashes: options.crashes ?? []
  }
  return {
    seed,
    ...partial,
    topology: options.topology ?? Topology.random(4),
    faults: { ...MemoryNetwork.noFaults, ...options.faults },
    links: options.links ?? [],
    timings: { ...defaultTimings, ...options.timings },
    horizon: options.horizon ?? defaultHorizon(partial)
  }
}

/** The largest value: what every peer must write. */
export const expected = (scenario: Scenario): bigint =>
  scenario.peers.reduce(
    (max, peer) => (peer.value > max ? peer.value : max),
    scenario.peers[0].value
  )

/** The scenario's edges (its topology drawn with its seed). */
export const edges = (scenario: Scenario): ReadonlyArray<Topology.Edge> =>
  Topology.edges(scenario.topology, scenario.peers.length, scenario.seed)

/** `count` random crashes: random peers, at random times within `within` ms, each down for
 * up to `maxDowntime` ms. */
export const randomCrashes = (
  seed: number,
  size: number,
  count: number,
  within: number,
  maxDowntime: number
): ReadonlyArray<Crash> => {
  const rng = new Prng(derive(seed, "crashes"))
  return Array.from({ length: count }, () => ({
    peer: rng.int(0, size),
    at: rng.int(0, within + 1),
    downtime: rng.int(0, maxDowntime + 1)
  }))
}

/** `count` random partitions within `within` ms, each lasting up to `maxLength` ms: each cuts
 * off either one random peer or a random half of the cluster. */
export const randomPartitions = (
  seed: number,
  size: number,
  count: number,
  within: number,
  maxLength: number
): ReadonlyArray<PartitionSpec> => {
  const rng = new Prng(derive(seed, "partitions"))
  return Array.from({ length: count }, () => {
    const at = rng.int(0, within + 1)
    const group = rng.chance(0.5) ?
      [rng.int(0, size)] :
      rng.shuffle(Array.from({ length: size }, (_, i) => i)).slice(0, Math.floor(size / 2))
    return { at, heal: at + rng.int(1, maxLength + 1), groups: [group.sort((a, b) => a - b)] }
  })
}

const ScenarioJson = Schema.parseJson(Scenario, { space: 2 })

/** The scenario as JSON (values as decimal strings), for saving and replaying. */
export const toJson = (scenario: Scenario): string => Schema.encodeSync(ScenarioJson)(scenario)

/** Reads a scenario from JSON; the error says what is wrong and where. */
export const fromJson = (text: string): Either.Either<Scenario, string> =>
  Either.mapLeft(
    Schema.decodeUnknownEither(ScenarioJson)(text),
    (error) => ParseResult.TreeFormatter.formatErrorSync(error)
  )
