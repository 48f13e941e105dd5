import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import {
  currentVirtualClock,
  runVirtual,
  SimScheduler,
  VirtualClock
} from "../src/internal/simRuntime.js"

const HOUR = 3_600_000

const successValue = <A, E>(exit: Option.Option<Exit.Exit<A, E>>): A => {
  assert.isTrue(Option.isSome(exit) && Exit.isSuccess(exit.value), "expected a success exit")
  return (exit as Option.Some<Exit.Success<A, E>>).value.value
}

/** Two fibers exchange `rounds` messages through queues, sleeping a random time per hop. */
const pingPong = (rounds: number) =>
  Effect.gen(function*() {
    const trace: Array<string> = []
    const log = (event: string) =>
      Effect.flatMap(Clock.currentTimeMillis, (t) => Effect.sync(() => trace.push(`${t}:${event}`)))
    const toB = yield* Queue.unbounded<number>()
    const toA = yield* Queue.unbounded<number>()
    const hop = (name: string, inbox: Queue.Queue<number>, outbox: Queue.Queue<number>) =>
      Effect.gen(function*() {
        for (let i = 0; i < rounds; i++) {
          const n = yield* Queue.take(inbox)
          yield* Effect.sleep(yield* Random.nextIntBetween(1, 50))
          yield* log(`${name}${n}`)
          yield* Queue.offer(outbox, n + 1)
        }
      })
    const a = yield* Effect.fork(hop("a", toA, toB))
    const b = yield* Effect.fork(hop("b", toB, toA))
    yield* Queue.offer(toA, 0)
    yield* Fiber.join(a)
    yield* Fiber.join(b)
    return trace
  })

describe("SimRuntime", () => {
  it.effect("a fiber sleeping 6 hours completes at virtual time 6h", () =>
    Effect.gen(function*() {
      const outcome = yield* runVirtual(
        Effect.zipRight(Effect.sleep("6 hours"), Clock.currentTimeMillis)
      )
      assert.strictEqual(outcome.reason, "done")
      assert.strictEqual(outcome.now, 6 * HOUR)
      assert.strictEqual(successValue(outcome.exit), 6 * HOUR)
    }))

  it.effect("virtual time starts at 0 and the virtual clock is visible inside", () =>
    Effect.gen(function*() {
      const outcome = yield* runVirtual(Effect.gen(function*() {
        const clock = yield* currentVirtualClock
        yield* Effect.sleep("1500 millis")
        return [
          yield* Clock.currentTimeNanos,
          Option.map(clock, (c) => c.now)
        ] as const
      }))
      const [nanos, now] = successValue(outcome.exit)
      assert.strictEqual(nanos, 1_500_000_000n)
      assert.deepStrictEqual(now, Option.some(1500))
      assert.isTrue(Option.isNone(yield* currentVirtualClock))
    }))

  it("timers due at the same instant fire in registration order", () => {
    const clock = new VirtualClock()
    const fired: Array<string> = []
    clock.schedule(10, () => fired.push("a"))
    clock.schedule(10, () => fired.push("b"))
    clock.schedule(5, () => fired.push("c"))
    clock.schedule(10, () => fired.push("d"))
    clock.fireNext()
    assert.deepStrictEqual(fired, ["c"])
    clock.fireNext()
    assert.deepStrictEqual(fired, ["c", "a", "b", "d"])
    assert.strictEqual(clock.now, 10)
    assert.strictEqual(clock.next(), undefined)
  })

  it("timers fire in (time, registration) order for many pseudo-random timers", () => {
    const clock = new VirtualClock()
    const fired: Array<[number, number]> = []
    let x = 12345
    for (let i = 0; i < 2000; i++) {
      x = (x * 1103515245 + 12345) % 2147483648
      const time = x % 97
      clock.schedule(time, () => fired.push([time, i]))
    }
    while (clock.next() !== undefined) clock.fireNext()
    const sorted = [...fired].sort((p, q) => p[0] - q[0] || p[1] - q[1])
    assert.deepStrictEqual(fired, sorted)
    assert.strictEqual(fired.length, 2000)
  })

  it.effect("sleeping fibers due at the same instant resume in registration order", () =>
    Effect.gen(function*() {
      const order: Array<number> = []
      // fiber i registers its second sleep at 40 - 10i ms; every fiber wakes at 100 ms
      const sleeper = (i: number) =>
        Effect.sleep(40 - 10 * i).pipe(
          Effect.zipRight(Effect.sleep(60 + 10 * i)),
          Effect.zipRight(Effect.sync(() => order.push(i)))
        )
      const outcome = yield* runVirtual(
        Effect.forEach([0, 1, 2, 3, 4], sleeper, { concurrency: "unbounded", discard: true })
      )
      assert.strictEqual(outcome.now, 100)
      assert.deepStrictEqual(order, [4, 3, 2, 1, 0])
    }))

  it.effect("an interrupted sleep never fires", () =>
    Effect.gen(function*() {
      let fired = false
      const outcome = yield* runVirtual(Effect.gen(function*() {
        const sleeper = yield* Effect.fork(
          Effect.zipRight(Effect.sleep("1 second"), Effect.sync(() => (fired = true)))
        )
        yield* Effect.sleep("500 millis")
        yield* Fiber.interrupt(sleeper)
        yield* Effect.sleep("2 seconds")
        return yield* Clock.currentTimeMillis
      }))
      assert.isFalse(fired)
      assert.strictEqual(successValue(outcome.exit), 2500)
    }))

  it.effect("repeat with schedule spaced runs the expected number of times before until", () =>
    Effect.gen(function*() {
      const times: Array<number> = []
      const tick = Effect.flatMap(Clock.currentTimeMillis, (t) => Effect.sync(() => times.push(t)))
      const outcome = yield* runVirtual(
        Effect.repeat(tick, Schedule.spaced("1 second")),
        { until: 10_500 }
      )
      assert.strictEqual(outcome.reason, "until")
      assert.strictEqual(outcome.now, 10_500)
      assert.isTrue(Option.isNone(outcome.exit))
      assert.deepStrictEqual(times, Array.from({ length: 11 }, (_, i) => i * 1000))
    }))

  it.effect("retry with schedule exponential waits doubling delays", () =>
    Effect.gen(function*() {
      const times: Array<number> = []
      const attempt = Effect.flatMap(Clock.currentTimeMillis, (t) => {
        times.push(t)
        return times.length < 5 ? Effect.fail("again") : Effect.succeed(t)
      })
      const outcome = yield* runVirtual(Effect.retry(attempt, Schedule.exponential("100 millis")))
      assert.strictEqual(successValue(outcome.exit), 1500)
      assert.deepStrictEqual(times, [0, 100, 300, 700, 1500])
    }))

  it.effect("timeout fails a never-ending effect at the virtual deadline", () =>
    Effect.gen(function*() {
      const outcome = yield* runVirtual(Effect.timeout(Effect.never, "5 seconds"))
      assert.strictEqual(outcome.reason, "done")
      assert.strictEqual(outcome.now, 5000)
      assert.isTrue(Option.isSome(outcome.exit) && Exit.isFailure(outcome.exit.value))
      const fast = yield* runVirtual(Effect.timeout(Effect.as(Effect.sleep(10), "ok"), "1 hour"))
      assert.strictEqual(successValue(fast.exit), "ok")
      assert.strictEqual(fast.now, 10)
    }))

  it.effect("ping-pong through queues gives an identical trace on two runs", () =>
    Effect.gen(function*() {
      const seeded = (seed: number) => Effect.withRandom(pingPong(50), Random.make(seed))
      const first = successValue((yield* runVirtual(seeded(7))).exit)
      const second = successValue((yield* runVirtual(seeded(7))).exit)
      const other = successValue((yield* runVirtual(seeded(8))).exit)
      assert.strictEqual(first.length, 100)
      assert.deepStrictEqual(first, second)
      assert.notDeepEqual(first, other)
    }))

  it.effect("1000 fibers looping 100 times on random sleeps and a shared queue finish", () =>
    Effect.gen(function*() {
      const program = Effect.gen(function*() {
        const queue = yield* Queue.unbounded<number>()
        const consumer = yield* Effect.fork(Effect.gen(function*() {
          let sum = 0
          for (let i = 0; i < 100_000; i++) sum += yield* Queue.take(queue)
          return sum
        }))
        const peer = (id: number) =>
          Effect.gen(function*() {
            for (let i = 0; i < 100; i++) {
              yield* Effect.sleep(yield* Random.nextIntBetween(1, 1000))
              yield* Queue.offer(queue, id)
            }
          })
        yield* Effect.forEach(
          Array.from({ length: 1000 }, (_, i) => i),
          peer,
          { concurrency: "unbounded", discard: true }
        )
        return yield* Fiber.join(consumer)
      })
      const outcome = yield* runVirtual(Effect.withRandom(program, Random.make(42)))
      assert.strictEqual(outcome.reason, "done")
      assert.strictEqual(successValue(outcome.exit), 100 * (999 * 1000) / 2)
      assert.isTrue(outcome.now > 10_000 && outcome.now < 100_000)
    }))

  it.effect("stopping at until interrupts the program and its finalizers run", () =>
    Effect.gen(function*() {
      const seen: Array<string> = []
      const note = (what: string) =>
        Effect.flatMap(Clock.currentTimeMillis, (t) => Effect.sync(() => seen.push(`${what}@${t}`)))
      const program = Effect.scoped(Effect.gen(function*() {
        yield* Effect.addFinalizer(() => Effect.zipRight(Effect.sleep("100 millis"), note("scope")))
        yield* Effect.forkScoped(Effect.ensuring(Effect.never, note("child")))
        yield* Effect.ensuring(Effect.forever(Effect.sleep("1 minute")), note("main"))
      }))
      const outcome = yield* runVirtual(program, { until: HOUR + 30_000 })
      assert.strictEqual(outcome.reason, "until")
      assert.strictEqual(outcome.now, HOUR + 30_000)
      assert.isTrue(Option.isNone(outcome.exit))
      const t = HOUR + 30_000
      assert.deepStrictEqual(seen, [`main@${t}`, `child@${t}`, `scope@${t + 100}`])
    }))

  it.effect("a program run from an uninterruptible region still stops at until", () =>
    Effect.gen(function*() {
      let stopped = false
      const program = Effect.ensuring(
        Effect.forever(Effect.sleep("1 second")),
        Effect.sync(() => (stopped = true))
      )
      const outcome = yield* Effect.uninterruptible(runVirtual(program, { until: 5000 }))
      assert.strictEqual(outcome.reason, "until")
      assert.strictEqual(outcome.now, 5000)
      assert.isTrue(stopped)
    }))

  it.effect("a deadlocked program returns reason idle and runs its finalizers", () =>
    Effect.gen(function*() {
      let finalized = false
      const outcome = yield* runVirtual(Effect.gen(function*() {
        const never = yield* Deferred.make<void>()
        yield* Effect.sleep("3 seconds")
        yield* Effect.ensuring(Deferred.await(never), Effect.sync(() => (finalized = true)))
      }))
      assert.strictEqual(outcome.reason, "idle")
      assert.strictEqual(outcome.now, 3000)
      assert.isTrue(Option.isNone(outcome.exit))
      assert.isTrue(finalized)
    }))

  it.effect("maxSteps stops a program that never suspends", () =>
    Effect.gen(function*() {
      const outcome = yield* runVirtual(Effect.forever(Effect.yieldNow()), { maxSteps: 1000 })
      assert.strictEqual(outcome.reason, "until")
      assert.strictEqual(outcome.now, 0)
      assert.isTrue(Option.isNone(outcome.exit))
    }))

  it.effect("a failing program reports its failure exit", () =>
    Effect.gen(function*() {
      const outcome = yield* runVirtual(Effect.zipRight(Effect.sleep(5), Effect.fail("boom")))
      assert.strictEqual(outcome.reason, "done")
      assert.isTrue(Option.isSome(outcome.exit))
      const exit = Option.getOrThrow(outcome.exit)
      assert.isTrue(Exit.isFailure(exit) && Cause.failureOption(exit.cause)._tag === "Some")
    }))

  it.effect("sim fibers run nested in the driver without corrupting the current fiber", () =>
    Effect.gen(function*() {
      const probe = Effect.withFiberRuntime((self) =>
        Effect.sync(() => {
          const current = Fiber.getCurrentFiber()
          return Option.isSome(current) && current.value === self &&
            self.currentScheduler instanceof SimScheduler
        })
      )
      const program = Effect.gen(function*() {
        const here = yield* probe
        const child = yield* Effect.fork(Effect.zipRight(Effect.sleep(10), probe))
        yield* Effect.sleep(20)
        const after = yield* probe
        return [here, yield* Fiber.join(child), after]
      })
      type AnyFiber = Fiber.RuntimeFiber<unknown, unknown>
      const driver = yield* Effect.withFiberRuntime<AnyFiber>((self) => Effect.succeed(self))
      const outcome = yield* runVirtual(program)
      assert.deepStrictEqual(successValue(outcome.exit), [true, true, true])
      const current = Fiber.getCurrentFiber()
      assert.isTrue(Option.isSome(current) && current.value === driver)
      assert.isFalse(driver.currentScheduler instanceof SimScheduler)
    }))

  it.effect("the driver yielding while it forks the program does not hang", () =>
    Effect.gen(function*() {
      const outcome = yield* runVirtual(
        Effect.zipRight(Effect.sleep("1 minute"), Clock.currentTimeMillis)
      ).pipe(Effect.withMaxOpsBeforeYield(10))
      assert.strictEqual(successValue(outcome.exit), 60_000)
    }))

  it.effect("a long simulation can be interrupted between its chunks", () =>
    Effect.gen(function*() {
      let finalized = false
      const program = Effect.ensuring(
        Effect.forever(Effect.yieldNow()),
        Effect.sync(() => (finalized = true))
      )
      const running = yield* Effect.fork(runVirtual(program))
      yield* Effect.yieldNow()
      const exit = yield* Fiber.interrupt(running)
      assert.isTrue(Exit.isInterrupted(exit))
      assert.isTrue(finalized)
    }))

  it.effect("a simulation nested in a simulated fiber keeps both clocks apart", () =>
    Effect.gen(function*() {
      const outcome = yield* runVirtual(Effect.gen(function*() {
        yield* Effect.sleep("1 second")
        const inner = yield* runVirtual(
          Effect.zipRight(Effect.sleep("5 hours"), Clock.currentTimeMillis)
        )
        yield* Effect.sleep("1 second")
        return [successValue(inner.exit), yield* Clock.currentTimeMillis]
      }))
      assert.deepStrictEqual(successValue(outcome.exit), [5 * HOUR, 2000])
    }))
})
