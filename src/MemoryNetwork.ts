/**
 * An in-memory network: any number of peers in one process, each reached at `host:port`, with
 * the faults of a real network. Delays are sleeps on Effect's `Clock`, so `TestClock` (or the
 * simulator's virtual clock) moves them, and every random choice comes from one seed, so the
 * same run with the same seed replays event for event.
 *
 * Faults apply per frame: a one-way latency (fixed or drawn from a distribution), loss,
 * duplication and reordering, for the whole network or per link. Without reordering a
 * connection keeps its frames in order, as TCP does, whatever their drawn latencies. Per pair
 * of hosts, partitions cut and heal at given times: a partition drops the frames that cross
 * it (those in flight too) and refuses new connections across it, while connections already
 * open stay open, silent, as TCP does until it times out. A crash is not a network fault:
 * closing a peer's scope closes its listener and connections, which the other side sees at
 * once (like a reset).
 *
 * Faults, links, partitions and statistics name peers by host, so give each peer its own host.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { hashString, Prng } from "./internal/prng.js"
import { VirtualClock } from "./internal/simRuntime.js"
import {
  type Address,
  type Connection,
  formatAddress,
  Transport,
  TransportError
} from "./Transport.js"

const Millis = Schema.Number.pipe(Schema.finite(), Schema.nonNegative())
const Probability = Schema.Number.pipe(Schema.between(0, 1))

/** A one-way delay in milliseconds: fixed, uniform in `[min, max]`, or `min` plus an
 * exponential tail of mean `mean` (a few slow frames, most fast). */
export const Latency = Schema.Union(
  Schema.TaggedStruct("Fixed", { millis: Millis }),
  Schema.TaggedStruct("Uniform", { min: Millis, max: Millis }),
  Schema.TaggedStruct("Exponential", { min: Millis, mean: Millis })
)

/** A one-way delay in milliseconds: fixed, or drawn per frame from a distribution. */
export type Latency = typeof Latency.Type

/** Every frame takes exactly `delay`. */
export const fixed = (delay: Duration.DurationInput): Latency => ({
  _tag: "Fixed",
  millis: Duration.toMillis(delay)
})

/** Each frame takes a delay drawn uniformly between `min` and `max`. */
export const uniform = (min: Duration.DurationInput, max: Duration.DurationInput): Latency => ({
  _tag: "Uniform",
  min: Duration.toMillis(min),
  max: Duration.toMillis(max)
})

/** Each frame takes `min` plus an exponentially distributed delay of mean `mean`. */
export const exponential = (
  mean: Duration.DurationInput,
  min: Duration.DurationInput = 0
): Latency => ({ _tag: "Exponential", min: Duration.toMillis(min), mean: Duration.toMillis(mean) })

/** How frames fare on a link. Probabilities are per frame, between 0 and 1. */
export const Faults = Schema.Struct({
  /** One-way delay of each frame (default: fixed 1ms). */
  latency: Latency,
  /** Probability that a frame is lost (default 0). */
  loss: Probability,
  /** Probability that a frame is delivered twice, each copy with its own delay (default 0). */
  duplicate: Probability,
  /** Probability that a frame is held back by up to `reorderWindow`, so later frames pass it
   * (default 0). */
  reorder: Probability,
  /** Longest extra delay of a reordered frame, in ms (default 50). */
  reorderWindow: Millis
})

/** How frames fare on a link. */
export type Faults = typeof Faults.Type

/** A perfect network: every frame arrives once, in order, after 1ms. */
export const noFaults: Faults = {
  latency: fixed(1),
  loss: 0,
  duplicate: 0,
  reorder: 0,
  reorderWindow: 50
}

/** Faults of one link, over the network's: from `from` to `to`, and back unless `oneWay`. */
export interface Link {
  readonly from: string
  readonly to: string
  readonly faults: Partial<Faults>
  readonly oneWay?: boolean
}

/** A partition: from `at` until `heal` (ms after the network starts; never heals when absent),
 * hosts in different groups cannot reach each other. Unlisted hosts form one more group. */
export const Partition = Schema.Struct({
  at: Millis,
  heal: Schema.optional(Millis),
  groups: Schema.Array(Schema.Array(Schema.String))
})

/** A partition that cuts at `at` and heals at `heal`. */
export type Partition = typeof Partition.Type

/** Options of a network. */
export interface NetworkOptions extends Partial<Omit<Faults, "latency" | "reorderWindow">> {
  /** Seed of every random choice of the network (default 0). */
  readonly seed?: number
  /** One-way delay: a duration or a distribution (default 1ms). */
  readonly latency?: Duration.DurationInput | Latency
  /** Longest extra delay of a reordered frame (default 50ms). */
  readonly reorderWindow?: Duration.DurationInput
  /** Faults of particular links, over the network-wide ones. */
  readonly links?: ReadonlyArray<Link>
  /** Partitions, in any order; they may overlap. */
  readonly partitions?: ReadonlyArray<Partition>
  /** Keep every event as a line of text (`events`); off by default, the digest is always kept. */
  readonly record?: boolean
}

/** What one host has sent and received. Bytes count as on TCP: the frame plus its newline. */
export interface HostStats {
  /** Frames this host sent, including lost ones. */
  readonly frames: number
  /** Bytes this host sent. */
  readonly bytes: number
  /** Frames delivered to this host (duplicates included). */
  readonly received: number
  /** Frames this host sent that the network lost (loss or partition). */
  readonly dropped: number
}

/** The connections between two hosts, in either direction. */
export interface LinkState {
  /** Connections open now. */
  readonly open: number
  /** When (ms after the network started) the last of them closed; `undefined` if none did. */
  readonly lastClosed: number | undefined
}

/** The shared network that in-memory transports attach to. */
export interface MemoryNetworkShape {
  /** The transport of the peer listening at `host:port`. */
  readonly transport: (host: string, port?: number) => Context.Tag.Service<Transport>
  /** Milliseconds since the network started, on its clock. */
  readonly elapsed: Effect.Effect<number>
  /** Traffic per host, so far. */
  readonly stats: Effect.Effect<ReadonlyMap<string, HostStats>>
  /** The connections between two hosts. */
  readonly link: (a: string, b: string) => Effect.Effect<LinkState>
  /** Whether a partition separates two hosts now. */
  readonly isCut: (a: string, b: string) => Effect.Effect<boolean>
  /** Adds an event of the caller's (a crash, a result) to the trace and its digest. */
  readonly mark: (text: string) => Effect.Effect<void>
  /** Every event so far as a line of text, when `record` is on (else empty). */
  readonly events: Effect.Effect<ReadonlyArray<string>>
  /** A digest of every event so far: equal digests mean (almost surely) equal runs. */
  readonly digest: Effect.Effect<string>
}

/** The shared network that in-memory transports attach to. */
export class MemoryNetwork extends Context.Tag("gossip-max/MemoryNetwork")<
  MemoryNetwork,
  MemoryNetworkShape
>() {}

type Handler = (connection: Connection) => Effect.Effect<void, never, Scope.Scope>

interface Listener {
  readonly host: string
  readonly handle: Handler
  readonly scope: Scope.Scope
}

/** One direction of a connection. */
interface Pipe {
  readonly from: string
  readonly to: string
  readonly queue: Queue.Queue<string>
  readonly faults: Faults
  /** Frames in flight, by due time then sending order. */
  readonly inFlight: Array<InFlight>
  /** Due time of the last frame sent in order: later ones may not overtake it. */
  lastDue: number
}

interface InFlight {
  readonly due: number
  readonly seq: number
  readonly frame: string
}

interface Wire {
  readonly id: number
  readonly out: Pipe
  readonly back: Pipe
  closed: boolean
}

interface MutableStats {
  frames: number
  bytes: number
  received: number
  dropped: number
}

interface MutableLink {
  open: number
  lastClosed: number | undefined
}

interface Cut {
  readonly at: number
  readonly heal: number
  readonly group: ReadonlyMap<string, number>
}

const pairKey = (a: string, b: string): string => (a < b ? `${a} ${b}` : `${b} ${a}`)

const toLatency = (input: Duration.DurationInput | Latency | undefined): Latency =>
  input === undefined ?
    noFaults.latency :
    typeof input === "object" && "_tag" in input && typeof input._tag === "string" &&
      (input._tag === "Fixed" || input._tag === "Uniform" || input._tag === "Exponential") ?
    input as Latency :
    fixed(input as Duration.DurationInput)

/** The network-wide faults of `options`, over `noFaults`. */
export const faultsOf = (options: NetworkOptions): Faults => ({
  latency: toLatency(options.latency),
  loss: options.loss ?? noFaults.loss,
  duplicate: options.duplicate ?? noFaults.duplicate,
  reorder: options.reorder ?? noFaults.reorder,
  reorderWindow: options.reorderWindow === undefined ?
    noFaults.reorderWindow :
    Duration.toMillis(options.reorderWindow)
})

const sample = (latency: Latency, rng: Prng): number => {
  switch (latency._tag) {
    case "Fixed":
      return latency.millis
    case "Uniform":
      return latency.min + rng.next() * (latency.max - latency.min)
    case "Exponential":
      return latency.min - latency.mean * Math.log(1 - rng.next())
  }
}

/** Rounds a delay to the microsecond, so traces read well and replay on any platform. */
const micros = (millis: number): number => Math.round(millis * 1000) / 1000

const mix = (hash: number, value: number): number => {
  let h = Math.imul(hash ^ value, 0x9e3779b1)
  h ^= h >>> 16
  return Math.imul(h, 0x85ebca6b) >>> 0
}

const KIND = {
  dial: 1,
  refused: 2,
  unreachable: 3,
  send: 4,
  drop: 5,
  deliver: 6,
  close: 7,
  mark: 8
}

/** Builds a network in the current scope; frames still in flight are lost when it closes. */
export const make = (
  options: NetworkOptions = {}
): Effect.Effect<MemoryNetworkShape, never, Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const origin = yield* Clock.currentTimeMillis
    const base = faultsOf(options)
    const rng = new Prng(options.seed ?? 0)
    const listeners = new Map<string, Listener>()
    const stats = new Map<string, MutableStats>()
    const links = new Map<string, MutableLink>()
    const overrides = new Map<string, Faults>()
    for (const link of options.links ?? []) {
      overrides.set(`${link.from}>${link.to}`, { ...base, ...link.faults })
      if (link.oneWay !== true) {
        overrides.set(`${link.to}>${link.from}`, { ...base, ...link.faults })
      }
    }
    const cuts: ReadonlyArray<Cut> = (options.partitions ?? []).map((partition) => ({
      at: partition.at,
      heal: partition.heal ?? Infinity,
      group: new Map(partition.groups.flatMap((hosts, i) => hosts.map((host) => [host, i])))
    }))
    const lines: Array<string> | undefined = options.record === true ? [] : undefined
    let digest = 0x2545f491
    let wires = 0

    const clock = yield* Effect.clock
    const now = (): number => clock.unsafeCurrentTimeMillis() - origin
    const note = (kind: keyof typeof KIND, id: number, text: () => string, extra = 0): void => {
      const time = now()
      digest = mix(mix(mix(mix(digest, KIND[kind]), id), Math.round(time * 1000)), extra)
      if (lines !== undefined) lines.push(`${micros(time)} ${kind} #${id} ${text()}`)
    }
    const statsOf = (host: string): MutableStats => {
      let entry = stats.get(host)
      if (entry === undefined) {
        entry = { frames: 0, bytes: 0, received: 0, dropped: 0 }
        stats.set(host, entry)
      }
      return entry
    }
    const linkOf = (a: string, b: string): MutableLink => {
      const key = pairKey(a, b)
      let entry = links.get(key)
      if (entry === undefined) {
        entry = { open: 0, lastClosed: undefined }
        links.set(key, entry)
      }
      return entry
    }
    const cut = (a: string, b: string): boolean => {
      if (cuts.length === 0 || a === b) return false
      const time = now()
      return cuts.some((c) =>
        c.at <= time && time < c.heal && (c.group.get(a) ?? -1) !== (c.group.get(b) ?? -1)
      )
    }
    const faultsBetween = (from: string, to: string): Faults =>
      overrides.size === 0 ? base : overrides.get(`${from}>${to}`) ?? base

    // every frame due by now, in (due, sent) order: timers due at the same instant may fire in
    // any order (TestClock wakes them last first), so a timer releases whatever is due
    const release = (wire: Wire, pipe: Pipe) => (): void => {
      const time = now() + 1e-9
      let ready = 0
      while (ready < pipe.inFlight.length && pipe.inFlight[ready].due <= time) ready++
      for (const { frame } of pipe.inFlight.splice(0, ready)) {
        if (wire.closed) return
        if (cut(pipe.from, pipe.to)) {
          statsOf(pipe.from).dropped++
          note("drop", wire.id, () => `${pipe.from}>${pipe.to} partition`)
          continue
        }
        statsOf(pipe.to).received++
        note("deliver", wire.id, () => `${pipe.from}>${pipe.to}`)
        Queue.unsafeOffer(pipe.queue, frame)
      }
    }

    const schedule = (delay: number, fire: () => void): Effect.Effect<void> =>
      clock instanceof VirtualClock ?
        Effect.sync(() => {
          clock.schedule(delay, fire)
        }) :
        Effect.asVoid(Effect.forkIn(Effect.zipRight(Effect.sleep(delay), Effect.sync(fire)), scope))

    let sent = 0
    const enqueue = (wire: Wire, pipe: Pipe, due: number, frame: string): Effect.Effect<void> => {
      const entry: InFlight = { due, seq: sent++, frame }
      let i = pipe.inFlight.length
      while (i > 0 && pipe.inFlight[i - 1].due > due) i--
      pipe.inFlight.splice(i, 0, entry)
      return schedule(Math.max(0, due - now()), release(wire, pipe))
    }

    const send = (wire: Wire, pipe: Pipe, frame: string): Effect.Effect<void, TransportError> =>
      Effect.suspend(() => {
        if (wire.closed) {
          return new TransportError({
            reason: "Write",
            address: pipe.to,
            detail: "connection closed"
          })
        }
        const sender = statsOf(pipe.from)
        const bytes = frame.length + 1
        sender.frames++
        sender.bytes += bytes
        note("send", wire.id, () => `${pipe.from}>${pipe.to} ${bytes}`, bytes)
        const faults = pipe.faults
        const lost = cut(pipe.from, pipe.to) ? "partition" : rng.chance(faults.loss) ? "loss" : null
        if (lost !== null) {
          sender.dropped++
          note("drop", wire.id, () => `${pipe.from}>${pipe.to} ${lost}`)
          return Effect.void
        }
        // in order, a frame arrives no sooner than the one sent before it (as on TCP); a
        // reordered frame is held back past later ones, a duplicate travels on its own
        const time = now()
        let due = micros(time + sample(faults.latency, rng))
        if (rng.chance(faults.reorder)) {
          due = micros(due + rng.next() * faults.reorderWindow)
        } else {
          due = Math.max(due, pipe.lastDue)
          pipe.lastDue = due
        }
        const first = enqueue(wire, pipe, due, frame)
        if (!rng.chance(faults.duplicate)) return first
        return Effect.zipRight(
          first,
          enqueue(wire, pipe, micros(time + sample(faults.latency, rng)), frame)
        )
      })

    const close = (wire: Wire): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (wire.closed) return Effect.void
        wire.closed = true
        const link = linkOf(wire.out.from, wire.out.to)
        link.open--
        link.lastClosed = now()
        note("close", wire.id, () => `${wire.out.from}>${wire.out.to}`)
        return Effect.zipRight(Queue.shutdown(wire.out.queue), Queue.shutdown(wire.back.queue))
      })

    const endpoint = (wire: Wire, outbound: Pipe, inbound: Pipe): Connection => ({
      remote: inbound.from,
      send: (frame) => send(wire, outbound, frame),
      frames: Stream.fromQueue(inbound.queue)
    })

    const refuse = (from: string, target: string, code: string, detail: string) =>
      Effect.suspend(() => {
        const id = ++wires
        note(code === "EHOSTUNREACH" ? "unreachable" : "refused", id, () => `${from}>${target}`)
        return new TransportError({ reason: "Dial", address: target, code, detail })
      })

    const transport = (host: string, port = 9000): Context.Tag.Service<Transport> => {
      const self = formatAddress({ host, port })
      return {
        listen: (handle) =>
          Effect.gen(function*() {
            if (listeners.has(self)) {
              return yield* new TransportError({
                reason: "Listen",
                address: self,
                code: "EADDRINUSE",
                detail: "another peer listens there"
              })
            }
            listeners.set(self, { host, handle, scope: yield* Effect.scope })
            yield* Effect.addFinalizer(() => Effect.sync(() => listeners.delete(self)))
            return self
          }),
        dial: (address: Address) =>
          Effect.gen(function*() {
            const target = formatAddress(address)
            if (cut(host, address.host)) {
              return yield* refuse(host, target, "EHOSTUNREACH", "a partition cuts the way")
            }
            const listener = listeners.get(target)
            if (listener === undefined) {
              return yield* refuse(host, target, "ECONNREFUSED", "nobody listens there")
            }
            const wire: Wire = {
              id: ++wires,
              out: {
                from: host,
                to: listener.host,
                queue: yield* Queue.unbounded<string>(),
                faults: faultsBetween(host, listener.host),
                inFlight: [],
                lastDue: 0
              },
              back: {
                from: listener.host,
                to: host,
                queue: yield* Queue.unbounded<string>(),
                faults: faultsBetween(listener.host, host),
                inFlight: [],
                lastDue: 0
              },
              closed: false
            }
            linkOf(host, listener.host).open++
            note("dial", wire.id, () => `${host}>${target}`)
            yield* Effect.addFinalizer(() => close(wire))
            const server = yield* Effect.forkIn(
              Effect.scoped(listener.handle(endpoint(wire, wire.back, wire.out))),
              listener.scope
            )
            // the server side may end before it starts (its listener closing as we dial):
            // close on its exit, however it comes, as a reset would
            yield* Effect.forkScoped(Effect.zipRight(Fiber.await(server), close(wire)))
            return endpoint(wire, wire.out, wire.back)
          })
      }
    }

    return {
      transport,
      elapsed: Effect.sync(now),
      stats: Effect.sync(() => new Map([...stats].map(([host, s]) => [host, { ...s }]))),
      link: (a, b) => Effect.sync(() => ({ ...linkOf(a, b) })),
      isCut: (a, b) => Effect.sync(() => cut(a, b)),
      mark: (text) => Effect.sync(() => note("mark", 0, () => text, hashString(text))),
      events: Effect.sync(() => (lines === undefined ? [] : [...lines])),
      digest: Effect.sync(() => digest.toString(16).padStart(8, "0"))
    }
  })

/** A fresh network with the given faults (none by default). */
export const layer = (options: NetworkOptions = {}): Layer.Layer<MemoryNetwork> =>
  Layer.scoped(MemoryNetwork, make(options))

/** The transport of the peer listening at `host:port` on the shared network. */
export const layerTransport = (
  host: string,
  port = 9000
): Layer.Layer<Transport, never, MemoryNetwork> =>
  Layer.effect(Transport, Effect.map(MemoryNetwork, (network) => network.transport(host, port)))
