/**
 * Runs a whole cluster in virtual time: every peer of a `Scenario` on one in-memory network
 * with its faults, started, crashed and restarted on schedule, hours of protocol in a moment
 * of CPU, the same run again for the same scenario and seed.
 *
 * The simulator is also the judge. It checks each result at the moment it is written (the true
 * maximum, written once, by a peer whose view holds every peer of the cluster), checks each
 * peer at the moment it leaves (no neighbour without a result that it was still connected to,
 * or lost for less than the linger bound), and at the end that every peer wrote. Breaches are
 * `Violation`s in the `Report`.
 *
 * Limitations: the whole run happens in one synchronous loop, so a run of 1,000 peers holds
 * the CPU for its duration; a crash closes the peer's connections at once (as a process killed
 * by its operating system would), a silently vanishing host is not modelled.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as HashMap from "effect/HashMap"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Scope from "effect/Scope"
import { derive } from "./internal/prng.js"
import * as SimRuntime from "./internal/simRuntime.js"
import * as MemoryNetwork from "./MemoryNetwork.js"
import * as Peer from "./Peer.js"
import * as PeerConfig from "./PeerConfig.js"
import { ResultSink } from "./ResultSink.js"
import * as Scenario from "./Scenario.js"
import * as State from "./State.js"
import * as Topology from "./Topology.js"
import { Transport } from "./Transport.js"
import * as ValueSource from "./ValueSource.js"

/** Stop conditions of `runVirtual`: a virtual time (ms) and a budget of scheduler steps. */
export type VirtualOptions = SimRuntime.SimOptions

/** How `runVirtual` ended: the program's exit if it finished, the virtual time, and why. */
export type VirtualOutcome<A, E> = SimRuntime.SimOutcome<A, E>

/**
 * Runs any effect in virtual time, as the simulator runs a cluster: on a clock of its own that
 * jumps from one due sleep to the next, and a scheduler that runs every ready fiber first, so
 * hours of sleeps take no real time and the same program runs the same way every time. Much
 * faster than `TestClock` for many fibers. It stops when the effect ends, when nothing is left
 * to run (`idle`), or at `until`, interrupting the effect and running its finalizers.
 */
export const runVirtual: <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  options?: VirtualOptions
) => Effect.Effect<VirtualOutcome<A, E>, never, R> = SimRuntime.runVirtual

/** Options of a run that do not change what happens in it. */
export interface RunOptions {
  /** Keep every event (network and peers) as a line of text in the report; for small runs. */
  readonly record?: boolean
  /** The peers' own logs, at this level and above (default: none). */
  readonly logLevel?: LogLevel.LogLevel
}

/** What went wrong, found at the moment it happened. */
export type ViolationKind =
  /** A peer wrote a value other than the true maximum. */
  | "WrongValue"
  /** A peer wrote while its view lacked some peer of the cluster. */
  | "EarlyWrite"
  /** A peer wrote a second time (after a restart, say). */
  | "SecondWrite"
  /** A peer left while a neighbour without a result could still need it. */
  | "LeftTooSoon"
  /** A peer had no result when the run ended. */
  | "NoResult"
  /** A peer failed: it could not start, or its `done` failed. */
  | "Failed"

/** A breach of the protocol's promises, with when and where it happened. */
export interface Violation {
  readonly kind: ViolationKind
  /** The peer's index in the scenario. */
  readonly peer: number
  /** Virtual time (ms). */
  readonly time: number
  readonly detail: string
}

/** What became of one peer. */
export interface PeerReport {
  readonly peer: number
  readonly host: string
  readonly value: bigint
  /** The result it stored, if any. */
  readonly result: bigint | undefined
  /** When it stored it (virtual ms). */
  readonly writtenAt: number | undefined
  /** When it left (virtual ms); `undefined` if it was still running at the end. */
  readonly exitedAt: number | undefined
  /** How many times it was started (1 + restarts). */
  readonly incarnations: number
  /** Frames it sent, over all its incarnations. */
  readonly messages: number
  /** Bytes it sent (frame plus newline, as on TCP). */
  readonly bytes: number
}

/** The median and the largest of a per-peer figure. */
export interface Spread {
  readonly median: number
  readonly max: number
}

/** The outcome of a run. */
export interface Report {
  readonly seed: number
  readonly size: number
  /** The topology, e.g. `random(4)`, and its number of edges and diameter. */
  readonly topology: string
  readonly edges: number
  readonly diameter: number
  /** The true maximum. */
  readonly expected: bigint
  /** Every peer wrote the true maximum and nothing was violated. */
  readonly ok: boolean
  /** Peers that wrote the true maximum. */
  readonly finished: number
  /** Peers that left by the end. */
  readonly exited: number
  /** Virtual time of the last result (ms), if any peer wrote. */
  readonly lastResultAt: number | undefined
  /** `lastResultAt` in gossip intervals. */
  readonly rounds: number | undefined
  /** Virtual time when the run stopped (ms). */
  readonly endedAt: number
  /** `done`: every peer left; `horizon`: the scenario's stop time came first. */
  readonly stopped: "done" | "horizon"
  /** Frames sent per peer. */
  readonly messages: Spread
  /** Bytes sent per peer. */
  readonly bytes: Spread
  readonly violations: ReadonlyArray<Violation>
  readonly peers: ReadonlyArray<PeerReport>
  /** Digest of the whole event trace: two runs with equal digests did the same thing. */
  readonly digest: string
  /** The event trace, when `record` was on. */
  readonly events: ReadonlyArray<string>
}

/** The simulator's record of one peer, across its incarnations. */
interface Track {
  readonly index: number
  readonly host: string
  readonly value: bigint
  readonly neighbours: ReadonlyArray<number>
  /** The identities of its incarnations, in order. */
  readonly ids: Array<State.PeerId>
  /** The current incarnation's view, once it is built. */
  view: Effect.Effect<State.State> | undefined
  /** The stored result: it survives crashes. */
  result: bigint | undefined
  writtenAt: number | undefined
  writes: number
  exitedAt: number | undefined
  /** Crashes due right after this peer writes, not yet used. */
  crashOnWrite: Array<Scenario.Crash>
}

/** Everything a run records; it lives outside the virtual runtime so it survives a stop. */
interface World {
  readonly scenario: Scenario.Scenario
  readonly expected: bigint
  readonly tracks: ReadonlyArray<Track>
  readonly violations: Array<Violation>
  network: MemoryNetwork.MemoryNetworkShape | undefined
}

const makeWorld = (scenario: Scenario.Scenario): World => {
  const neighbours = Topology.adjacency(scenario.peers.length, Scenario.edges(scenario))
  return {
    scenario,
    expected: Scenario.expected(scenario),
    tracks: scenario.peers.map((peer, index) => ({
      index,
      host: Scenario.host(index),
      value: peer.value,
      neighbours: neighbours[index],
      ids: [],
      view: undefined,
      result: undefined,
      writtenAt: undefined,
      writes: 0,
      exitedAt: undefined,
      crashOnWrite: scenario.crashes.filter((c) => c.peer === index && c.at === "write")
    })),
    violations: [],
    network: undefined
  }
}

const violate = (world: World, violation: Violation): void => {
  world.violations.push(violation)
}

/** The hosts of the peers that `view` does not hold, by any of their incarnations. */
const unknownTo = (world: World, view: State.State): ReadonlyArray<string> =>
  world.tracks
    .filter((track) =>
      !track.ids.some((id) =>
        Option.match(HashMap.get(view.members, id), {
          onNone: () => false,
          onSome: (member) => member.value === track.value
        })
      )
    )
    .map((track) => track.host)

const listed = (hosts: ReadonlyArray<string>): string =>
  hosts.length <= 5
    ? hosts.join(", ")
    : `${hosts.slice(0, 5).join(", ")} and ${hosts.length - 5} more`

/** `p3` for the first incarnation of peer 3, `p3#2` for its second, the id for a stranger. */
const nameOf = (world: World, id: State.PeerId): string => {
  for (const track of world.tracks) {
    const incarnation = track.ids.indexOf(id)
    if (incarnation >= 0) return incarnation === 0 ? track.host : `${track.host}#${incarnation + 1}`
  }
  return id
}

/** What stands between a view and its proof, in the simulation's names. */
const blockers = (world: World, view: State.State): string => {
  const gaps = State.gaps(view, 5)
  if (gaps.length === 0) return "its view is proven"
  return "missing: " + gaps.map((gap) =>
    gap.kind === "unreached" ?
      `${nameOf(world, gap.member)} has not reached ${gap.address}` :
      `${nameOf(world, gap.member)} reached ${gap.address}, whose record is unknown here`
  ).join("; ")
}

/** Judges a write at the moment it happens. */
const judgeWrite = (world: World, track: Track, value: bigint, time: number) =>
  Effect.gen(function*() {
    if (value !== world.expected) {
      violate(world, {
        kind: "WrongValue",
        peer: track.index,
        time,
        detail: `wrote ${value}, the maximum is ${world.expected}`
      })
    }
    track.writes++
    if (track.writes > 1) {
      violate(world, {
        kind: "SecondWrite",
        peer: track.index,
        time,
        detail: `wrote ${value} after writing ${track.result} at ${track.writtenAt}ms`
      })
    }
    const missing = track.view === undefined ?
      world.tracks.filter((other) => other !== track).map((other) => other.host) :
      unknownTo(world, yield* track.view)
    if (missing.length > 0) {
      violate(world, {
        kind: "EarlyWrite",
        peer: track.index,
        time,
        detail: `wrote while not knowing ${listed(missing)}`
      })
    }
    if (track.result === undefined) {
      track.result = value
      track.writtenAt = time
    }
  })

/** Judges a peer at the moment it leaves: every neighbour without a result must have been out
 * of its reach for the linger bound. */
const judgeExit = (world: World, network: MemoryNetwork.MemoryNetworkShape, track: Track) =>
  Effect.gen(function*() {
    const time = yield* Clock.currentTimeMillis
    const linger = world.scenario.timings.linger
    for (const index of track.neighbours) {
      const other = world.tracks[index]
      if (other.result !== undefined) continue
      const link = yield* network.link(track.host, other.host)
      const detail = link.open > 0 ?
        `left while connected to ${other.host}, which has no result` :
        link.lastClosed === undefined ?
        `left without ever reaching ${other.host}, which has no result` :
        time - link.lastClosed < linger ?
        `left ${time - link.lastClosed}ms after losing ${other.host}, which has no result ` +
        `(linger ${linger}ms)` :
        undefined
      if (detail !== undefined) {
        violate(world, { kind: "LeftTooSoon", peer: track.index, time, detail })
      }
    }
  })

/** A result store that outlives the peer's incarnations, judging each write as it happens.
 * `crash` is completed when a crash is due right after this write. */
const recordingSink = (
  world: World,
  track: Track,
  network: MemoryNetwork.MemoryNetworkShape,
  crash: Deferred.Deferred<number>
): Context.Tag.Service<ResultSink> => ({
  write: (value) =>
    Effect.gen(function*() {
      const time = yield* Clock.currentTimeMillis
      yield* network.mark(`write ${track.host} ${value}`)
      yield* judgeWrite(world, track, value, time)
      const due = track.crashOnWrite.shift()
      if (due !== undefined) {
        // the process dies before doing anything else
        yield* Deferred.succeed(crash, due.downtime)
        return yield* Effect.never
      }
    }),
  previous: Effect.sync(() => Option.fromNullable(track.result))
})

const peerLayer = (
  world: World,
  track: Track,
  network: MemoryNetwork.MemoryNetworkShape,
  crash: Deferred.Deferred<number>
) => {
  const timings = world.scenario.timings
  return Peer.layer.pipe(
    Layer.provide([
      Layer.succeed(Transport, network.transport(track.host)),
      PeerConfig.layer({
        neighbours: track.neighbours.map((index) => {
          const host = Scenario.host(index)
          return { name: host, host, port: 9000 }
        }),
        gossipInterval: Duration.millis(timings.gossipInterval),
        retryMin: Duration.millis(timings.retryMin),
        retryMax: Duration.millis(timings.retryMax),
        linger: Duration.millis(timings.linger),
        id: Option.fromNullable(world.scenario.peers[track.index].id)
      }),
      ValueSource.layer(track.value),
      Layer.succeed(ResultSink, recordingSink(world, track, network, crash))
    ])
  )
}

type Ending =
  | { readonly _tag: "Left" }
  | { readonly _tag: "Failed" }
  | { readonly _tag: "Crashed"; readonly downtime: number }

/** The next timed crash of this peer at or after `now`. */
const nextCrash = (world: World, track: Track, now: number): Option.Option<Scenario.Crash> => {
  let next: Scenario.Crash | undefined
  for (const crash of world.scenario.crashes) {
    if (crash.peer !== track.index || crash.at === "write" || crash.at < now) continue
    if (next === undefined || crash.at < (next.at as number)) next = crash
  }
  return Option.fromNullable(next)
}

const failed = (world: World, track: Track, time: number, detail: string): Ending => {
  violate(world, { kind: "Failed", peer: track.index, time, detail })
  return { _tag: "Failed" }
}

/** Waits for the incarnation's end: it leaves, fails, or crashes (on schedule, or when its
 * sink completes `crashed` right after a write). */
const awaitEnding = (
  world: World,
  track: Track,
  peer: Context.Tag.Service<Peer.Peer>,
  crashed: Deferred.Deferred<number>,
  startedAt: number
): Effect.Effect<Ending> => {
  const left = peer.done.pipe(
    Effect.as<Ending>({ _tag: "Left" }),
    Effect.catchAll((error) =>
      Effect.map(Clock.currentTimeMillis, (time) => failed(world, track, time, error.message))
    )
  )
  const timed = Option.match(nextCrash(world, track, startedAt), {
    onNone: () => Effect.never,
    onSome: (crash) => Effect.as(Effect.sleep((crash.at as number) - startedAt), crash.downtime)
  })
  const crash = Effect.map(
    Effect.race(Deferred.await(crashed), timed),
    (downtime): Ending => ({ _tag: "Crashed", downtime })
  )
  return Effect.raceFirst(left, crash)
}

/** Runs one incarnation of a peer until it leaves, fails or crashes. */
const incarnation = (
  world: World,
  network: MemoryNetwork.MemoryNetworkShape,
  track: Track,
  count: number
) =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const scope = yield* Scope.make()
    const crashed = yield* Deferred.make<number>()
    // below 2^30: Effect hashes larger numeric seeds into a narrow range, so ids would collide
    const seed = derive(world.scenario.seed, "peer", track.index, count) & 0x3fffffff
    const built = yield* Effect.either(
      Layer.buildWithScope(peerLayer(world, track, network, crashed), scope)
    ).pipe(Effect.withRandom(Random.make(seed)))
    if (built._tag === "Left") {
      yield* Scope.close(scope, Exit.void)
      return failed(world, track, now, `could not start: ${built.left.message}`)
    }

    const peer = Context.get(built.right, Peer.Peer)
    track.ids.push(peer.id)
    track.view = peer.view
    yield* network.mark(`start ${track.host} ${peer.id}`)
    const ending = yield* awaitEnding(world, track, peer, crashed, now)

    if (ending._tag === "Left") {
      yield* judgeExit(world, network, track)
      track.exitedAt = yield* Clock.currentTimeMillis
    }
    yield* network.mark(`${ending._tag === "Crashed" ? "crash" : "exit"} ${track.host}`)
    track.view = undefined
    yield* Scope.close(scope, Exit.void)
    return ending
  })

/** One peer from its start to its exit, through its crashes and restarts. */
const lifecycle = (world: World, network: MemoryNetwork.MemoryNetworkShape, track: Track) =>
  Effect.gen(function*() {
    yield* Effect.sleep(world.scenario.peers[track.index].start)
    for (let count = 0;; count++) {
      const ending = yield* incarnation(world, network, track, count)
      if (ending._tag !== "Crashed") return
      yield* Effect.sleep(ending.downtime)
    }
  }).pipe(Effect.annotateLogs("host", track.host))

const networkOptions = (
  scenario: Scenario.Scenario,
  options: RunOptions
): MemoryNetwork.NetworkOptions => ({
  ...scenario.faults,
  seed: derive(scenario.seed, "network"),
  links: scenario.links.map((link) => ({
    ...link,
    from: Scenario.host(link.from),
    to: Scenario.host(link.to)
  })),
  partitions: scenario.partitions.map((partition) => ({
    ...partition,
    groups: partition.groups.map((group) => group.map(Scenario.host))
  })),
  record: options.record === true
})

const simulate = (world: World, options: RunOptions) =>
  Effect.scoped(Effect.gen(function*() {
    const network = yield* MemoryNetwork.make(networkOptions(world.scenario, options))
    world.network = network
    yield* Effect.forEach(world.tracks, (track) => lifecycle(world, network, track), {
      concurrency: "unbounded",
      discard: true
    })
  })).pipe(
    Logger.withMinimumLogLevel(options.logLevel ?? LogLevel.None),
    Effect.withTracerEnabled(false)
  )

const spread = (values: ReadonlyArray<number>): Spread => {
  const sorted = [...values].sort((a, b) => a - b)
  return {
    median: sorted.length === 0 ? 0 : sorted[Math.floor((sorted.length - 1) / 2)],
    max: sorted.length === 0 ? 0 : sorted[sorted.length - 1]
  }
}

/** Runs a scenario to its end (every peer left) or its horizon, in virtual time. */
export const run = (scenario: Scenario.Scenario, options: RunOptions = {}): Effect.Effect<Report> =>
  Effect.gen(function*() {
    const world = makeWorld(scenario)
    const outcome = yield* SimRuntime.runVirtual(simulate(world, options), {
      until: scenario.horizon
    })
    if (Option.isSome(outcome.exit) && Exit.isFailure(outcome.exit.value)) {
      violate(world, {
        kind: "Failed",
        peer: -1,
        time: outcome.now,
        detail: `the simulation failed: ${Cause.pretty(outcome.exit.value.cause)}`
      })
    }
    for (const track of world.tracks) {
      if (track.result === undefined) {
        const blocked = track.view === undefined ? "" : `; ${blockers(world, yield* track.view)}`
        violate(world, {
          kind: "NoResult",
          peer: track.index,
          time: outcome.now,
          detail: `${track.host} has no result${blocked}`
        })
      }
    }
    const network = world.network
    const stats = network === undefined ? new Map() : yield* network.stats
    const peers = world.tracks.map((track): PeerReport => ({
      peer: track.index,
      host: track.host,
      value: track.value,
      result: track.result,
      writtenAt: track.writtenAt,
      exitedAt: track.exitedAt,
      incarnations: track.ids.length,
      messages: stats.get(track.host)?.frames ?? 0,
      bytes: stats.get(track.host)?.bytes ?? 0
    }))
    const written = peers.flatMap((peer) => (peer.writtenAt === undefined ? [] : [peer.writtenAt]))
    const lastResultAt = written.length === 0 ? undefined : Math.max(...written)
    const edges = Scenario.edges(scenario)
    const finished = peers.filter((peer) => peer.result === world.expected).length
    return {
      seed: scenario.seed,
      size: scenario.peers.length,
      topology: Topology.describe(scenario.topology),
      edges: edges.length,
      diameter: Topology.diameter(scenario.peers.length, edges),
      expected: world.expected,
      ok: finished === peers.length && world.violations.length === 0,
      finished,
      exited: peers.filter((peer) => peer.exitedAt !== undefined).length,
      lastResultAt,
      rounds: lastResultAt === undefined ?
        undefined :
        Math.round(lastResultAt / scenario.timings.gossipInterval * 10) / 10,
      endedAt: outcome.now,
      stopped: outcome.reason === "done" ? "done" : "horizon",
      messages: spread(peers.map((peer) => peer.messages)),
      bytes: spread(peers.map((peer) => peer.bytes)),
      violations: world.violations,
      peers,
      digest: network === undefined ? "" : yield* network.digest,
      events: network === undefined ? [] : yield* network.events
    }
  })
