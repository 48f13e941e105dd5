/**
 * Three peers embedded in one Effect program, on the in-memory network, under `TestClock`:
 * peer c joins an hour after the others, and that hour passes in an instant. Each peer's value
 * comes from code and its result comes back through the `Peer` service; no file is touched.
 * Exits 1 unless all three prove the same maximum, 42.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as TestContext from "effect/TestContext"
import { Peer } from "gossip-max"
import { MemoryNetwork } from "gossip-max/testing"

/** A peer at `host` on the in-memory network, configured in code. */
const peerAt = (host: string, value: bigint, neighbours: ReadonlyArray<string>) =>
  Peer.layerOptions({
    value,
    neighbours: neighbours.map((name) => ({ name, host: name, port: 9000 })),
    // the in-memory network loses nothing, so rare resends and redials are enough; every
    // timer costs the test clock a step
    gossipInterval: Duration.minutes(1),
    retryMax: Duration.minutes(5)
  }).pipe(Layer.provide(MemoryNetwork.layerTransport(host)))

/** What the embedding program does with its peer: follow `best`, then wait for the proof. */
const awaitResult = Effect.gen(function*() {
  const peer = yield* Peer.Peer
  yield* Effect.fork(
    Stream.runForEach(peer.changes, (best) => Console.log(`peer ${peer.value}: best ${best}`))
  )
  const result = yield* peer.result
  yield* peer.done
  return result
})

const program = Effect.gen(function*() {
  const a = yield* Effect.fork(Effect.provide(awaitResult, peerAt("a", 5n, ["b"])))
  const b = yield* Effect.fork(Effect.provide(awaitResult, peerAt("b", 42n, ["a", "c"])))
  const c = yield* Effect.fork(
    Effect.provide(awaitResult, peerAt("c", -7n, ["b"])).pipe(Effect.delay("1 hour"))
  )
  yield* TestClock.adjust("2 hours")
  const results = yield* Fiber.join(Fiber.all([a, b, c]))
  if (!results.every((result) => result === 42n)) {
    return yield* Effect.fail(`expected 42 on every peer, got ${results.join(", ")}`)
  }
  yield* Console.log(`all three peers proved the maximum: ${results[0]}`)
}).pipe(
  Effect.provide(MemoryNetwork.layer()),
  Effect.provide(TestContext.TestContext)
)

NodeRuntime.runMain(program)
