import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as MemoryNetwork from "../src/MemoryNetwork.js"
import type { Connection } from "../src/Transport.js"

const at = (host: string) => ({ name: host, host, port: 9000 })

interface Arrival {
  readonly frame: string
  readonly time: number
}

/** A listener at `host` that records every frame it receives, with the time it arrived. */
const sink = (network: MemoryNetwork.MemoryNetworkShape, host: string) =>
  Effect.gen(function*() {
    const arrivals = yield* Queue.unbounded<Arrival>()
    yield* network.transport(host).listen((connection) =>
      connection.frames.pipe(
        Stream.runForEach((frame) =>
          Effect.flatMap(Clock.currentTimeMillis, (time) => Queue.offer(arrivals, { frame, time }))
        ),
        Effect.ignore
      )
    )
    return arrivals
  })

const drain = (queue: Queue.Queue<Arrival>) =>
  Effect.map(Queue.takeAll(queue), (all) => Chunk.toReadonlyArray(all))

/** Sends `frames` from `from` to the sink at `to`, and lets `wait` of virtual time pass. */
const exchange = (
  options: MemoryNetwork.NetworkOptions,
  frames: ReadonlyArray<string>,
  wait: Duration.DurationInput = "1 second"
) =>
  Effect.gen(function*() {
    const network = yield* MemoryNetwork.make(options)
    const arrivals = yield* sink(network, "b")
    const connection = yield* network.transport("a").dial(at("b"))
    yield* Effect.forEach(frames, connection.send, { discard: true })
    yield* TestClock.adjust(wait)
    return { network, arrivals: yield* drain(arrivals) }
  })

const frames = (count: number) => Array.from({ length: count }, (_, i) => `frame ${i}`)

const run = <A, E>(effect: Effect.Effect<A, E, Scope.Scope>) => Effect.scoped(effect)

describe("MemoryNetwork", () => {
  it.effect("delivers frames in order after the fixed latency", () =>
    run(Effect.gen(function*() {
      const network = yield* MemoryNetwork.make({ latency: "10 millis" })
      const arrivals = yield* sink(network, "b")
      const connection = yield* network.transport("a").dial(at("b"))
      yield* Effect.forEach(frames(3), connection.send, { discard: true })
      yield* TestClock.adjust("9 millis")
      assert.deepStrictEqual(yield* drain(arrivals), [])
      yield* TestClock.adjust("1 millis")
      const got = yield* drain(arrivals)
      assert.deepStrictEqual(got.map((a) => a.frame), frames(3))
      assert.deepStrictEqual(got.map((a) => a.time), [10, 10, 10])
    })))

  it.effect("refuses a dial to an address nobody listens on", () =>
    run(Effect.gen(function*() {
      const network = yield* MemoryNetwork.make()
      const dialled = yield* Effect.either(network.transport("a").dial(at("nobody")))
      assert.isTrue(Either.isLeft(dialled))
      assert.strictEqual(Either.isLeft(dialled) ? dialled.left.code : "", "ECONNREFUSED")
    })))

  it.effect("refuses a second listener on the same address", () =>
    run(Effect.gen(function*() {
      const network = yield* MemoryNetwork.make()
      yield* network.transport("a").listen(() => Effect.void)
      const again = yield* Effect.either(network.transport("a").listen(() => Effect.void))
      assert.strictEqual(Either.isLeft(again) ? again.left.code : "", "EADDRINUSE")
    })))

  it.effect("loses every frame at loss 1 and counts them as dropped", () =>
    run(Effect.gen(function*() {
      const { arrivals, network } = yield* exchange({ loss: 1 }, frames(5))
      assert.deepStrictEqual(arrivals, [])
      const stats = (yield* network.stats).get("a")
      assert.deepStrictEqual(stats, { frames: 5, bytes: 5 * 8, received: 0, dropped: 5 })
    })))

  it.effect("delivers every frame twice at duplicate 1", () =>
    run(Effect.gen(function*() {
      const { arrivals, network } = yield* exchange({ duplicate: 1 }, frames(4))
      assert.deepStrictEqual(arrivals.map((a) => a.frame), frames(4).flatMap((f) => [f, f]))
      assert.strictEqual((yield* network.stats).get("b")?.received, 8)
    })))

  it.effect("lets later frames overtake the ones it holds back", () =>
    run(Effect.gen(function*() {
      const sent = frames(20)
      const { arrivals } = yield* exchange(
        { reorder: 0.5, reorderWindow: "50 millis", seed: 3 },
        sent
      )
      const received = arrivals.map((a) => a.frame)
      assert.deepStrictEqual([...received].sort(), [...sent].sort())
      assert.notDeepEqual(received, sent)
    })))

  it.effect("draws each delay from a uniform latency within its bounds", () =>
    run(Effect.gen(function*() {
      const network = yield* MemoryNetwork.make({
        latency: MemoryNetwork.uniform("5 millis", "25 millis"),
        seed: 1
      })
      const arrivals = yield* sink(network, "b")
      const connection = yield* network.transport("a").dial(at("b"))
      const delays: Array<number> = []
      for (let i = 0; i < 30; i++) {
        yield* connection.send(`frame ${i}`)
        yield* TestClock.adjust("30 millis")
        const [arrival] = yield* drain(arrivals)
        delays.push(arrival.time - i * 30)
      }
      for (const delay of delays) assert.isTrue(delay >= 5 && delay <= 25, `took ${delay}ms`)
      assert.isTrue(new Set(delays).size > 10)
    })))

  it.effect("gives one link its own faults, one way", () =>
    run(Effect.gen(function*() {
      const network = yield* MemoryNetwork.make({
        links: [{ from: "a", to: "b", faults: { loss: 1 }, oneWay: true }]
      })
      const toB = yield* sink(network, "b")
      const toA = yield* sink(network, "a")
      const ab = yield* network.transport("a").dial(at("b"))
      const ba = yield* network.transport("b").dial(at("a"))
      yield* ab.send("lost")
      yield* ba.send("kept")
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(yield* drain(toB), [])
      assert.deepStrictEqual((yield* drain(toA)).map((a) => a.frame), ["kept"])
    })))

  it.effect("a partition refuses dials and drops frames across it until it heals", () =>
    run(Effect.gen(function*() {
      const network = yield* MemoryNetwork.make({
        partitions: [{ at: 100, heal: 200, groups: [["a"]] }]
      })
      const arrivals = yield* sink(network, "b")
      const a = network.transport("a")
      const early = yield* a.dial(at("b"))
      yield* TestClock.adjust("150 millis")
      assert.isTrue(yield* network.isCut("a", "b"))
      const cut = yield* Effect.either(a.dial(at("b")))
      assert.strictEqual(Either.isLeft(cut) ? cut.left.code : "", "EHOSTUNREACH")
      yield* early.send("during")
      yield* TestClock.adjust("100 millis")
      assert.isFalse(yield* network.isCut("a", "b"))
      yield* early.send("after")
      const late = yield* a.dial(at("b"))
      yield* late.send("new")
      yield* TestClock.adjust("10 millis")
      assert.deepStrictEqual((yield* drain(arrivals)).map((x) => x.frame).sort(), ["after", "new"])
    })))

  it.effect("closing one end ends the other's frames and marks the link closed", () =>
    run(Effect.gen(function*() {
      const network = yield* MemoryNetwork.make()
      const served = yield* Queue.unbounded<Connection>()
      yield* network.transport("b").listen((connection) =>
        Effect.zipRight(Queue.offer(served, connection), Effect.never)
      )
      const client = yield* Effect.scoped(Effect.gen(function*() {
        yield* network.transport("a").dial(at("b"))
        yield* TestClock.adjust("5 millis")
        assert.strictEqual((yield* network.link("a", "b")).open, 1)
        return yield* Queue.take(served)
      }))
      const rest = yield* Effect.fork(Stream.runCollect(client.frames))
      yield* TestClock.adjust("1 millis")
      assert.deepStrictEqual(Chunk.toReadonlyArray(yield* Fiber.join(rest)), [])
      assert.deepStrictEqual(yield* network.link("b", "a"), { open: 0, lastClosed: 5 })
      assert.isTrue(Either.isLeft(yield* Effect.either(client.send("too late"))))
    })))

  it.effect("replays the same events for the same seed, and others for another seed", () =>
    run(Effect.gen(function*() {
      const options = {
        latency: MemoryNetwork.exponential("10 millis", "1 millis"),
        loss: 0.2,
        duplicate: 0.2,
        reorder: 0.3,
        record: true
      }
      const trace = (seed: number) =>
        Effect.scoped(Effect.gen(function*() {
          const { network } = yield* exchange({ ...options, seed }, frames(40))
          return { events: yield* network.events, digest: yield* network.digest }
        }))
      const first = yield* trace(11)
      const again = yield* trace(11)
      const other = yield* trace(12)
      assert.isTrue(first.events.length > 40)
      assert.deepStrictEqual(again, first)
      assert.notStrictEqual(other.digest, first.digest)
    })))

  it.effect("counts the frames and bytes each host sends", () =>
    run(Effect.gen(function*() {
      const { network } = yield* exchange({}, ["12345", "1"])
      const stats = yield* network.stats
      assert.deepStrictEqual(stats.get("a"), { frames: 2, bytes: 6 + 2, received: 0, dropped: 0 })
      assert.deepStrictEqual(stats.get("b"), { frames: 0, bytes: 0, received: 2, dropped: 0 })
    })))
})
