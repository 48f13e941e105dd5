/**
 * A running peer: it listens, dials its neighbours with backoff, gossips records until it can
 * prove it knows every member of the cluster, stores the maximum once, and then stays until
 * its neighbours no longer need it.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import { Engine, type Outgoing } from "./internal/engine.js"
import {
  layer as configLayer,
  layerConfig as configLayerConfig,
  PeerConfig,
  type PeerConfigShape
} from "./PeerConfig.js"
import { layerNoop as noResultLayer, type ResultError, ResultSink } from "./ResultSink.js"
import * as State from "./State.js"
import {
  type Address,
  type Connection,
  formatAddress,
  Transport,
  type TransportError
} from "./Transport.js"
import { layer as valueLayer, type ValueError, ValueSource } from "./ValueSource.js"
import * as Wire from "./Wire.js"

/** No result was proven in time; `missing` says, per gap, who and where. */
export class DeadlineExceeded extends Data.TaggedError("DeadlineExceeded")<{
  readonly after: Duration.Duration
  readonly missing: ReadonlyArray<string>
}> {
  override get message(): string {
    return `no result after ${Duration.format(this.after)}; missing: ${this.missing.join("; ")}`
  }
}

/** The running peer, as seen by the program that embeds it. */
export interface PeerShape {
  /** This incarnation's identity. */
  readonly id: State.PeerId
  /** The value this peer contributes. */
  readonly value: bigint
  /** The largest value heard of so far; not final until `result` completes. */
  readonly best: Effect.Effect<bigint>
  /** Every change of `best`, starting with its current value. */
  readonly changes: Stream.Stream<bigint>
  /** Waits for the proven maximum of the cluster. */
  readonly result: Effect.Effect<bigint>
  /** Waits until this peer may leave: it has its result and no neighbour needs it. Never
   * completes with `stay`. Fails when the deadline passes or the result cannot be stored. */
  readonly done: Effect.Effect<void, DeadlineExceeded | ResultError>
  /** The current view of the cluster, for diagnostics and tests. */
  readonly view: Effect.Effect<State.State>
}

/** The peer service. */
export class Peer extends Context.Tag("gossip-max/Peer")<Peer, PeerShape>() {}

interface Runtime {
  readonly engine: Engine
  readonly config: PeerConfigShape
  readonly sink: Context.Tag.Service<ResultSink>
  readonly best: SubscriptionRef.SubscriptionRef<bigint>
  readonly result: Deferred.Deferred<bigint>
  readonly done: Deferred.Deferred<void, DeadlineExceeded | ResultError>
  /** Open connections per remote identity, newest last. */
  readonly connections: Map<State.PeerId, Array<Connection>>
  /** When each neighbour was last seen connected (virtual or real ms). */
  readonly lastContact: Map<State.PeerId, number>
  /** The last dial error per own slot, for the deadline report. */
  readonly lastError: Map<number, string>
  /** Completed (and replaced) whenever a new peer connects, to cut redial delays short. */
  readonly wake: { current: Deferred.Deferred<void> }
  finishing: boolean
  /** Set once `done` is on its way. */
  leaving: boolean
  /** The peer's own scope, for fibers that must not outlive it. */
  readonly scope: Scope.Scope
  provenAt: number
  /** Restarted with a result stored by an earlier run. */
  resumed: boolean
  /** Whom this peer must not leave behind; computed when needed, refreshed every round. */
  neighbours: ReadonlySet<State.PeerId> | undefined
  /** Wakes the flusher; holds at most one pending wake-up. */
  readonly flushes: Queue.Queue<void>
}

const drawId = Effect.gen(function*() {
  const a = yield* Random.nextIntBetween(0, 0x10000_0000)
  const b = yield* Random.nextIntBetween(0, 0x10000_0000)
  return a.toString(16).padStart(8, "0") + b.toString(16).padStart(8, "0")
})

const deliver = (rt: Runtime, outgoing: ReadonlyArray<Outgoing>) =>
  Effect.forEach(outgoing, (out) => {
    const open = rt.connections.get(out.to)
    const connection = open?.[open.length - 1]
    if (connection === undefined) return Effect.void
    return connection.send(Wire.encode(Wire.sync(out.members, out.acks))).pipe(
      Effect.catchTag(
        "TransportError",
        (error) => Effect.logDebug("Send failed; the connection will be dropped", error.message)
      )
    )
  }, { discard: true })

/** Stores the result once the view is proven, then tells the neighbours. */
const finishIfProven = Effect.fn("Peer.finishIfProven")(function*(rt: Runtime) {
  if (rt.finishing) return
  const proof = rt.engine.prove()
  if (Option.isNone(proof)) return
  rt.finishing = true
  const { maximum, size } = proof.value
  const written = yield* Effect.either(rt.sink.write(maximum))
  if (written._tag === "Left") {
    yield* Deferred.fail(rt.done, written.left)
    return
  }
  rt.provenAt = yield* Clock.currentTimeMillis
  yield* Deferred.succeed(rt.result, maximum)
  yield* Effect.logInfo(`Result stored: ${shortValue(maximum)} (cluster of ${size})`)
  yield* deliver(rt, rt.engine.complete())
})

/** A value as logs show it: whole up to 60 characters, else its ends and its length. */
const shortValue = (value: bigint): string => {
  const text = value.toString()
  return text.length <= 60 ?
    text :
    `${text.slice(0, 24)}...${text.slice(-12)} (${text.replace("-", "").length} digits)`
}

/** How long a peer keeps reading after it may leave: closing a socket with unread data
 * resets it, which can discard our last acknowledgement before the neighbour reads it. */
const LEAVE_GRACE = Duration.millis(200)

/** Completes `done` after `LEAVE_GRACE`, once. */
const leave = (rt: Runtime) =>
  Effect.suspend(() => {
    if (rt.leaving) return Effect.void
    rt.leaving = true
    return Effect.forkIn(
      Effect.zipRight(Effect.sleep(LEAVE_GRACE), Deferred.succeed(rt.done, undefined)),
      rt.scope
    )
  })

/** Whether the record of `id` names this peer in one of its slots: it has reached us. */
const names = (state: State.State, id: State.PeerId): boolean =>
  Option.match(HashMap.get(state.members, id), {
    onNone: () => false,
    onSome: (member) => member.slots.some((slot) => slot.id === state.self)
  })

/** Whether a member's record still has a slot it has not reached. */
const hasOpenSlot = (state: State.State, id: State.PeerId): boolean =>
  Option.match(HashMap.get(state.members, id), {
    onNone: () => false,
    onSome: (member) => member.slots.some((slot) => slot.id === null)
  })

/** Completes `done` once every neighbour has its result and knows we have ours, or has been
 * unreachable for the linger bound since we got our result. */
const checkDone = Effect.fn("Peer.checkDone")(function*(rt: Runtime) {
  if (rt.config.stay || !(yield* Deferred.isDone(rt.result))) return
  const now = yield* Clock.currentTimeMillis
  const linger = Duration.toMillis(rt.config.linger)
  const waiting: Array<State.PeerId> = []
  // a neighbour not reached yet (after a restart, our slots start empty) may need us: wait for
  // it like for a lost one, up to the linger bound
  const unreached = State.selfMember(rt.engine.state).slots.some((slot) => slot.id === null)
  if (unreached && now - rt.provenAt < linger) return
  rt.neighbours ??= State.neighbours(rt.engine.state)
  // settled: it has its result and knows that we have ours, so it will not wait for us. A
  // restarted neighbour has its result at once but its slots start empty, and every proof
  // that walks through its record needs them filled: wait for it to reach its neighbours
  // too, up to the linger bound. Likewise, restarted ourselves, wait for our neighbours'
  // records to name this incarnation rather than the one that crashed
  const settled = (id: State.PeerId) =>
    State.isComplete(rt.engine.state, id) && rt.engine.knowsWeAreComplete(id) &&
    (now - rt.provenAt >= linger ||
      (!hasOpenSlot(rt.engine.state, id) && (!rt.resumed || names(rt.engine.state, id))))
  for (const id of rt.neighbours) {
    if (settled(id)) continue
    if (rt.engine.isConnected(id)) waiting.push(id)
    else if (now - Math.max(rt.lastContact.get(id) ?? 0, rt.provenAt) < linger) waiting.push(id)
  }
  if (waiting.length === 0) {
    const abandoned = [...rt.neighbours].filter((id) => !settled(id))
    if (abandoned.length > 0 && !rt.leaving) {
      yield* Effect.logWarning(
        `Leaving without confirmation from ${abandoned.length} neighbour(s), unreachable ` +
          `for ${Duration.format(rt.config.linger)}`,
        abandoned.join(", ")
      )
    }
    return yield* leave(rt)
  }
  yield* Effect.logDebug(
    `Waiting for ${waiting.length} neighbour(s) before leaving`,
    waiting.map(
      (id) =>
        `${id}: ${State.isComplete(rt.engine.state, id) ? "complete" : "incomplete"}, ` +
        `${rt.engine.knowsWeAreComplete(id) ? "has" : "lacks"} our result, ` +
        `${rt.engine.isConnected(id) ? "connected" : "disconnected"}`
    ).join("; ")
  )
})

/** Sends what received frames changed, once the frames already queued have been handled: a
 * burst of news goes out as one message per neighbour, not one per frame received (which
 * grew with the size of the cluster, and made large clusters flood themselves). */
const flusher = (rt: Runtime) =>
  Queue.take(rt.flushes).pipe(
    Effect.zipRight(Effect.yieldNow()),
    Effect.zipRight(Effect.suspend(() => deliver(rt, rt.engine.flushChanges()))),
    Effect.forever
  )

/** One round: resend what is unacknowledged, and look again at whether we may leave. */
const gossipRound = Effect.fn("Peer.gossipRound")(function*(rt: Runtime) {
  yield* deliver(rt, rt.engine.tick())
  rt.neighbours = undefined
  yield* checkDone(rt)
})

const afterChange = (rt: Runtime, news: ReadonlyArray<State.Member>) =>
  Effect.gen(function*() {
    const current = yield* SubscriptionRef.get(rt.best)
    let best = current
    for (const member of news) if (member.value > best) best = member.value
    if (best !== current) yield* SubscriptionRef.set(rt.best, best)
    yield* finishIfProven(rt)
    yield* checkDone(rt)
  })

interface Session {
  remote: State.PeerId | undefined
  /** A sync has arrived: the remote has our hello. */
  synced: boolean
  /** Why the connection ended, when it ended in error. */
  error: string | undefined
}

const register = (rt: Runtime, connection: Connection, remote: State.PeerId) =>
  Effect.gen(function*() {
    const open = rt.connections.get(remote) ?? []
    open.push(connection)
    rt.connections.set(remote, open)
    const first = rt.engine.connect(remote)
    // at least one sync, even empty, tells the remote that its hello arrived (see `serve`)
    yield* first.length > 0 ?
      deliver(rt, first) :
      Effect.ignore(connection.send(Wire.encode(Wire.sync([], []))))
    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        open.splice(open.indexOf(connection), 1)
        rt.engine.disconnect(remote)
        rt.lastContact.set(remote, yield* Clock.currentTimeMillis)
        yield* checkDone(rt)
      })
    )
  })

const slotId = (rt: Runtime, index: number): State.PeerId | null =>
  State.selfMember(rt.engine.state).slots[index]?.id ?? null

const describeNeighbour = (rt: Runtime, index: number): string => {
  const address = rt.config.neighbours[index]
  return address === undefined ? `#${index}` : `${address.name} (${formatAddress(address)})`
}

const logReached = (
  rt: Runtime,
  index: number,
  before: State.PeerId | null,
  id: State.PeerId
) => {
  const where = describeNeighbour(rt, index)
  if (id === rt.engine.state.self) {
    // a shared peer list often names this peer too: nothing to learn from ourselves
    return Effect.logInfo(`Neighbour ${where} is this peer itself; not dialling it again`)
  }
  if (before === null) return Effect.logInfo(`Neighbour ${where} reached (identity ${id})`)
  return before === id ?
    Effect.logDebug(`Neighbour ${where} reached again`) :
    Effect.logInfo(`Neighbour ${where} restarted: identity ${id}, was ${before}`)
}

/** Handles one frame; `false` drops the connection. */
const onFrame = (
  rt: Runtime,
  connection: Connection,
  session: Session,
  slot: Option.Option<number>,
  frame: string
): Effect.Effect<boolean, never, Scope.Scope> =>
  Effect.gen(function*() {
    const decoded = Wire.decode(frame)
    if (decoded._tag === "Left") {
      yield* Effect.logWarning(`Dropping ${connection.remote}: malformed message`, decoded.left)
      return false
    }
    const message = decoded.right
    if (message._tag === "hello") {
      if (session.remote !== undefined) return true
      session.remote = message.id
      const before = Option.isSome(slot) ? slotId(rt, slot.value) : null
      if (Option.isSome(slot)) {
        yield* deliver(rt, rt.engine.resolve(slot.value, message.id))
        rt.lastError.delete(slot.value)
      }
      if (Option.isSome(slot)) yield* logReached(rt, slot.value, before, message.id)
      if (message.id === rt.engine.state.self) return false
      if (!rt.connections.has(message.id)) yield* wakeDiallers(rt)
      yield* register(rt, connection, message.id)
    } else if (session.remote === undefined) {
      yield* Effect.logWarning(`Dropping ${connection.remote}: message before hello`)
      return false
    } else {
      session.synced = true
      const { news } = rt.engine.receive(session.remote, message.members, message.acks, false)
      yield* Queue.offer(rt.flushes, undefined)
      if (news.length > 0) {
        yield* Effect.logDebug(`Learned ${news.length} record(s) from ${connection.remote}`)
      }
      yield* afterChange(rt, news)
      return true
    }
    yield* afterChange(rt, [])
    return true
  })

/** Speaks the protocol on one connection until it closes or misbehaves. */
const serve = (
  rt: Runtime,
  connection: Connection,
  slot: Option.Option<number>
): Effect.Effect<Session> => {
  const session: Session = { remote: undefined, synced: false, error: undefined }
  return Effect.gen(function*() {
    const hello = Wire.encode(Wire.hello(rt.engine.state.self))
    yield* connection.send(hello)
    // a hello is lost on a lossy network like any frame: say it again every round until a
    // sync shows that the remote has it (the remote sends one at once); a connection whose
    // remote stays silent for `retryMax` would hold this slot forever, so give up on it
    const patience = Duration.toMillis(rt.config.retryMax)
    const round = Duration.min(rt.config.gossipInterval, rt.config.retryMax)
    const silent = Effect.gen(function*() {
      for (let waited = 0; waited < patience; waited += Duration.toMillis(round)) {
        yield* Effect.sleep(round)
        if (session.synced) return yield* Effect.never
        yield* connection.send(hello)
      }
      if (session.remote !== undefined) return yield* Effect.never
      yield* Effect.logDebug(`Dropping ${connection.remote}: no hello`)
    })
    yield* Effect.raceFirst(
      connection.frames.pipe(
        Stream.runForEachWhile((frame) => onFrame(rt, connection, session, slot, frame))
      ),
      silent
    )
    return session
  }).pipe(
    Effect.catchTag("TransportError", (error) =>
      Effect.as(
        Effect.logDebug(`Connection ${connection.remote} ended`, error.message),
        { ...session, error: error.code ?? error.detail }
      )),
    Effect.scoped
  )
}

/** Redial delays: exponential from `retryMin`, capped at `retryMax`, with jitter. */
export const backoff = (config: Pick<PeerConfigShape, "retryMin" | "retryMax">) =>
  Schedule.exponential(config.retryMin, 2).pipe(
    Schedule.union(Schedule.spaced(config.retryMax)),
    Schedule.jittered
  )

/** Ends every pending redial delay at once: a new peer has shown up, so late neighbours are
 * probably up too. */
const wakeDiallers = (rt: Runtime) =>
  Effect.gen(function*() {
    const woken = rt.wake.current
    rt.wake.current = yield* Deferred.make<void>()
    yield* Deferred.succeed(woken, undefined)
  })

/** Keeps one configured neighbour connected: dial, serve, and redial with backoff. */
const keepDialling = (rt: Runtime, transport: Context.Tag.Service<Transport>) =>
  Effect.fn("Peer.keepDialling")(function*(address: Address, index: number) {
    const where = describeNeighbour(rt, index)
    const delays = yield* Schedule.driver(backoff(rt.config))
    let failures = 0
    const needed = () => {
      const id = State.selfMember(rt.engine.state).slots[index]?.id
      if (id === rt.engine.state.self) return false
      return !(rt.finishing && id != null && State.isComplete(rt.engine.state, id))
    }
    while (needed()) {
      const woken = rt.wake.current
      const dialled = yield* Effect.either(Effect.scoped(
        Effect.flatMap(
          transport.dial(address),
          (connection) => serve(rt, connection, Option.some(index))
        )
      ))
      // a connection that ended before its hello (refused frames, a silent remote) counts as
      // a failed attempt, so it backs off instead of redialling at once
      const failure = dialled._tag === "Left" ?
        dialled.left.code ?? dialled.left.detail :
        dialled.right.remote === undefined ?
        dialled.right.error ?? "closed before hello" :
        undefined
      if (failure === undefined) {
        failures = 0
        yield* delays.reset
        yield* Effect.sleep(rt.config.retryMin)
        continue
      }
      failures++
      rt.lastError.set(index, failure)
      const text = `Neighbour ${where} unreachable (${failure}); retrying, attempt ${failures}`
      yield* (failures & (failures - 1)) === 0 ? Effect.logInfo(text) : Effect.logDebug(text)
      yield* Effect.raceFirst(Effect.ignore(delays.next(undefined)), Deferred.await(woken))
    }
  })

const missingReport = (rt: Runtime): ReadonlyArray<string> => {
  const self = State.selfMember(rt.engine.state)
  return State.gaps(rt.engine.state, 20).map((gap) => {
    if (gap.member === self.id) {
      const index = self.slots.findIndex((slot) => slot.address === gap.address)
      return `${gap.address} (last error: ${rt.lastError.get(index) ?? "none yet"})`
    }
    return gap.kind === "unreached" ?
      `${gap.address}, a neighbour of peer ${gap.member}, not reached by it yet` :
      `the peer at ${gap.address} (neighbour of ${gap.member}) is not known here yet`
  })
}

const watchDeadline = (rt: Runtime, after: Duration.Duration) =>
  Effect.sleep(after).pipe(
    Effect.zipRight(Effect.suspend(() =>
      Effect.gen(function*() {
        if (yield* Deferred.isDone(rt.result)) return
        yield* Deferred.fail(rt.done, new DeadlineExceeded({ after, missing: missingReport(rt) }))
      })
    ))
  )

/** Starts a peer in the current scope; it stops when the scope closes. */
export const make: Effect.Effect<
  PeerShape,
  TransportError | ValueError,
  Scope.Scope | Transport | PeerConfig | ValueSource | ResultSink
> = Effect.gen(function*() {
  const config = yield* PeerConfig
  const transport = yield* Transport
  const sink = yield* ResultSink
  const value = yield* (yield* ValueSource).value
  const id = Option.isSome(config.id) ? config.id.value : yield* drawId

  const addresses = config.neighbours.map(formatAddress)
  const rt: Runtime = {
    engine: new Engine(State.initial(id, value, addresses)),
    config,
    sink,
    best: yield* SubscriptionRef.make(value),
    result: yield* Deferred.make<bigint>(),
    done: yield* Deferred.make<void, DeadlineExceeded | ResultError>(),
    connections: new Map(),
    lastContact: new Map(),
    lastError: new Map(),
    wake: { current: yield* Deferred.make<void>() },
    finishing: false,
    leaving: false,
    scope: yield* Effect.scope,
    provenAt: 0,
    resumed: false,
    neighbours: undefined,
    flushes: yield* Queue.dropping<void>(1)
  }

  yield* Effect.annotateLogsScoped({ peer: id })
  yield* resumeFromSink(rt)
  const bound = yield* transport.listen((connection) => serve(rt, connection, Option.none()))
  yield* Effect.logInfo(
    `Listening on ${bound} with value ${shortValue(value)} and ` +
      `${config.neighbours.length} neighbour(s)`
  )

  yield* Effect.forEach(
    config.neighbours,
    (address, index) => Effect.forkScoped(keepDialling(rt, transport)(address, index)),
    { discard: true }
  )
  yield* Effect.forkScoped(flusher(rt))
  yield* Effect.forkScoped(
    gossipRound(rt).pipe(
      // one failed round must not end the rounds
      Effect.catchAllCause((cause) => Effect.logError("Gossip round failed", cause)),
      Effect.repeat(Schedule.spaced(config.gossipInterval))
    )
  )
  if (Option.isSome(config.deadline)) {
    yield* Effect.forkScoped(watchDeadline(rt, config.deadline.value))
  }
  yield* afterChange(rt, [])

  return {
    id,
    value,
    best: SubscriptionRef.get(rt.best),
    changes: rt.best.changes,
    result: Deferred.await(rt.result),
    done: Deferred.await(rt.done),
    view: Effect.sync(() => rt.engine.state)
  }
})

const resumeFromSink = Effect.fn("Peer.resumeFromSink")(function*(rt: Runtime) {
  const previous = yield* rt.sink.previous
  if (Option.isNone(previous)) return
  rt.finishing = true
  rt.resumed = true
  rt.provenAt = yield* Clock.currentTimeMillis
  yield* Deferred.succeed(rt.result, previous.value)
  rt.engine.complete()
  yield* Effect.logInfo(
    `Result ${shortValue(previous.value)} was stored by an earlier run; serving only`
  )
})

/** The peer as a layer; it needs a transport, its settings, a value and a result sink. */
export const layer: Layer.Layer<
  Peer,
  TransportError | ValueError,
  Transport | PeerConfig | ValueSource | ResultSink
> = Layer.scoped(Peer, make)

/** An embedded peer's value and protocol settings; unset settings take their defaults. */
export interface Options extends Partial<PeerConfigShape> {
  /** The value this peer contributes. */
  readonly value: bigint
}

/** A peer configured in code: no files, the result is observed through the `Peer` service.
 * It needs only a transport. */
export const layerOptions = (
  { value, ...settings }: Options
): Layer.Layer<Peer, TransportError | ValueError, Transport> =>
  layer.pipe(
    Layer.provide([configLayer(settings), valueLayer(value), noResultLayer])
  )

/** A peer whose value is given in code and whose protocol settings are read through Effect
 * `Config` (by default `PeerConfig.config`: keys as in the config file). It needs only a
 * transport. */
export const layerConfig = (
  value: bigint,
  config?: Config.Config<PeerConfigShape>
): Layer.Layer<Peer, TransportError | ValueError | ConfigError.ConfigError, Transport> =>
  layer.pipe(
    Layer.provide([configLayerConfig(config), valueLayer(value), noResultLayer])
  )
