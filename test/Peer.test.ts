import { assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as TestClock from "effect/TestClock"
import * as MemoryNetwork from "../src/MemoryNetwork.js"
import * as Peer from "../src/Peer.js"
import * as PeerConfig from "../src/PeerConfig.js"
import * as ResultSink from "../src/ResultSink.js"
import * as ValueSource from "../src/ValueSource.js"

const peerLayer = (host: string, value: bigint, neighbours: ReadonlyArray<string>) =>
  Peer.layer.pipe(
    Layer.provide([
      MemoryNetwork.layerTransport(host),
      PeerConfig.layer({
        neighbours: neighbours.map((name) => ({ name, host: name, port: 9000 })),
        linger: Duration.minutes(1),
        gossipInterval: Duration.minutes(10),
        retryMax: Duration.minutes(10)
      }),
      ValueSource.layer(value),
      ResultSink.layerNoop
    ])
  )

/** Starts a peer after `delay` and returns its result once it may leave. */
const startAfter = (
  delay: Duration.DurationInput,
  layer: Layer.Layer<Peer.Peer, unknown, MemoryNetwork.MemoryNetwork>
) =>
  Effect.sleep(delay).pipe(
    Effect.zipRight(
      Effect.scoped(Effect.gen(function*() {
        const context = yield* Layer.build(layer)
        const peer = Context.get(context, Peer.Peer)
        const result = yield* peer.result
        yield* peer.done
        return result
      }))
    )
  )

describe("Peer", () => {
  it.effect("three peers started hours apart agree on the maximum", () =>
    Effect.gen(function*() {
      const a = yield* Effect.fork(startAfter(0, peerLayer("a", 5n, ["b"])))
      const b = yield* Effect.fork(startAfter("3 hours", peerLayer("b", 42n, ["a", "c"])))
      const c = yield* Effect.fork(startAfter("6 hours", peerLayer("c", -7n, ["b"])))
      yield* TestClock.adjust("7 hours")
      const results = yield* Fiber.join(Fiber.all([a, b, c]))
      assert.deepStrictEqual(results, [42n, 42n, 42n])
    }).pipe(Effect.provide(MemoryNetwork.layer())))

  it.effect("a cluster of one writes its own value", () =>
    Effect.gen(function*() {
      const a = yield* Effect.fork(startAfter(0, peerLayer("a", -3n, [])))
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* Fiber.join(a), -3n)
    }).pipe(Effect.provide(MemoryNetwork.layer())))
})
