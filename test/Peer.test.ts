import { assert, describe, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as MemoryNetwork from "../src/MemoryNetwork.js"
import * as Peer from "../src/Peer.js"
import * as PeerConfig from "../src/PeerConfig.js"
import * as ResultSink from "../src/ResultSink.js"
import { Transport } from "../src/Transport.js"
import * as ValueSource from "../src/ValueSource.js"

const address = (name: string) => ({ name, host: name, port: 9000 })

const peerLayer = (
  host: string,
  value: bigint,
  neighbours: ReadonlyArray<string>,
  options: Partial<PeerConfig.PeerConfigShape> = {}
) =>
  Peer.layer.pipe(
    Layer.provide([
      MemoryNetwork.layerTransport(host),
      PeerConfig.layer({
        neighbours: neighbours.map(address),
        linger: Duration.minutes(1),
        // long timers: convergence must not depend on them
        gossipInterval: Duration.minutes(10),
        retryMax: Duration.minutes(10),
        ...options
      }),
      ValueSource.layer(value),
      ResultSink.layerNoop
    ])
  )

interface Outcome {
  readonly result: bigint
  readonly resultAt: number
  readonly doneAt: number
}

/** Starts a peer after `delay`; succeeds once it may leave. */
const startAfter = (
  delay: Duration.DurationInput,
  layer: Layer.Layer<Peer.Peer, unknown, MemoryNetwork.MemoryNetwork>
): Effect.Effect<Outcome, unknown, MemoryNetwork.MemoryNetwork> =>
  Effect.sleep(delay).pipe(
    Effect.zipRight(Effect.scoped(Effect.gen(function*() {
      const peer = Context.get(yield* Layer.build(layer), Peer.Peer)
      const result = yield* peer.result
      const resultAt = yield* Clock.currentTimeMillis
      yield* peer.done
      return { result, resultAt, doneAt: yield* Clock.currentTimeMillis }
    })))
  )

const withNetwork = <A, E>(effect: Effect.Effect<A, E, MemoryNetwork.MemoryNetwork>) =>
  Effect.provide(effect, MemoryNetwork.layer())

describe("Peer", () => {
  it.effect("three peers started hours apart agree on the maximum", () =>
    withNetwork(Effect.gen(function*() {
      const a = yield* Effect.fork(startAfter(0, peerLayer("a", 5n, ["b"])))
      const b = yield* Effect.fork(startAfter("3 hours", peerLayer("b", 42n, ["a", "c"])))
      const c = yield* Effect.fork(startAfter("6 hours", peerLayer("c", -7n, ["b"])))
      yield* TestClock.adjust("7 hours")
      const outcomes = yield* Fiber.join(Fiber.all([a, b, c]))
      assert.deepStrictEqual(outcomes.map((o) => o.result), [42n, 42n, 42n])
    })))

  it.effect("a line of five relays the maximum from one end to the other", () =>
    withNetwork(Effect.gen(function*() {
      const names = ["p0", "p1", "p2", "p3", "p4"]
      const values = [2n ** 64n, 3n, -1n, 0n, 7n]
      const fibers = yield* Effect.forEach(names, (name, i) =>
        Effect.fork(startAfter(
          Duration.minutes(10 * (names.length - i)),
          peerLayer(name, values[i], [names[i - 1], names[i + 1]].filter((n) => n !== undefined))
        )))
      yield* TestClock.adjust("2 hours")
      const outcomes = yield* Fiber.join(Fiber.all(fibers))
      assert.deepStrictEqual(outcomes.map((o) => o.result), names.map(() => 2n ** 64n))
    })))

  it.effect("peers sharing one peer list that names themselves too still agree", () =>
    withNetwork(Effect.gen(function*() {
      const everyone = ["a", "b", "c"]
      const fibers = yield* Effect.forEach(
        everyone,
        (name, i) =>
          Effect.fork(startAfter(Duration.seconds(i), peerLayer(name, BigInt(10 - i), everyone)))
      )
      yield* TestClock.adjust("1 minute")
      const outcomes = yield* Fiber.join(Fiber.all(fibers))
      assert.deepStrictEqual(outcomes.map((o) => o.result), [10n, 10n, 10n])
    })))

  it.effect("a cluster of one writes its own value and leaves", () =>
    withNetwork(Effect.gen(function*() {
      const a = yield* Effect.fork(startAfter(0, peerLayer("a", -3n, [])))
      yield* TestClock.adjust("1 second")
      assert.strictEqual((yield* Fiber.join(a)).result, -3n)
    })))

  it.effect("finishes within a second of the last peer starting, whatever the backoff", () =>
    withNetwork(Effect.gen(function*() {
      const slow = { retryMin: Duration.minutes(30), retryMax: Duration.hours(2) }
      const a = yield* Effect.fork(startAfter(0, peerLayer("a", 1n, ["b", "c"], slow)))
      const b = yield* Effect.fork(startAfter("50 minutes", peerLayer("b", 2n, ["a", "c"], slow)))
      const c = yield* Effect.fork(startAfter("95 minutes", peerLayer("c", 3n, ["a", "b"], slow)))
      yield* TestClock.adjust("3 hours")
      const outcomes = yield* Fiber.join(Fiber.all([a, b, c]))
      const lastStart = Duration.toMillis("95 minutes")
      for (const outcome of outcomes) {
        assert.strictEqual(outcome.result, 3n)
        assert.isBelow(outcome.resultAt - lastStart, 1000)
      }
    })))

  it.effect("the hub of a star leaves only after every leaf has its result", () =>
    withNetwork(Effect.gen(function*() {
      const leaves = ["l1", "l2", "l3"]
      const hub = yield* Effect.fork(startAfter(0, peerLayer("hub", 0n, leaves)))
      const fibers = yield* Effect.forEach(
        leaves,
        (leaf, i) =>
          Effect.fork(startAfter(Duration.minutes(i + 1), peerLayer(leaf, BigInt(i), ["hub"])))
      )
      yield* TestClock.adjust("1 hour")
      const hubOutcome = yield* Fiber.join(hub)
      const leafOutcomes = yield* Fiber.join(Fiber.all(fibers))
      assert.strictEqual(hubOutcome.result, 2n)
      for (const leaf of leafOutcomes) assert.isAtMost(leaf.resultAt, hubOutcome.doneAt)
    })))

  it.effect("drops a connection that sends garbage and keeps serving others", () =>
    withNetwork(Effect.gen(function*() {
      const a = yield* Effect.fork(startAfter(0, peerLayer("a", 1n, ["b"])))
      yield* TestClock.adjust("1 second")
      const received = yield* Effect.scoped(Effect.gen(function*() {
        const transport = yield* Transport
        const connection = yield* transport.dial(address("a"))
        yield* connection.send("{\"_tag\":\"sync\",\"v\":1,\"members\":[{\"value\":\"0x10\"}]}")
        const frames = yield* Effect.fork(Stream.runCollect(connection.frames))
        yield* TestClock.adjust("1 second")
        return yield* Fiber.join(frames)
      })).pipe(Effect.provide(MemoryNetwork.layerTransport("rogue")))
      assert.strictEqual([...received].length, 1, "only the hello arrives before the drop")
      const b = yield* Effect.fork(startAfter(0, peerLayer("b", 9n, ["a"])))
      yield* TestClock.adjust("30 minutes")
      const outcomes = yield* Fiber.join(Fiber.all([a, b]))
      assert.deepStrictEqual(outcomes.map((o) => o.result), [9n, 9n])
    })))

  it.effect("fails at the deadline naming the missing neighbour and its last error", () =>
    withNetwork(Effect.gen(function*() {
      const options = { deadline: Option.some(Duration.minutes(5)), retryMax: Duration.seconds(30) }
      const a = yield* Effect.fork(Effect.scoped(Effect.gen(function*() {
        const peer = Context.get(
          yield* Layer.build(peerLayer("a", 1n, ["ghost"], options)),
          Peer.Peer
        )
        yield* peer.done
      })))
      yield* TestClock.adjust("6 minutes")
      const exit = yield* Fiber.await(a)
      assert.isTrue(Exit.isFailure(exit))
      const error = Exit.isFailure(exit) ? String(exit.cause) : ""
      assert.include(error, "ghost:9000")
      assert.include(error, "ECONNREFUSED")
    })))
})
