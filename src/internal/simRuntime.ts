import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Scheduler from "effect/Scheduler"

/** Options of `runVirtual`: stop time in virtual ms and a budget of scheduler tasks. */
export interface SimOptions {
  /** Stop before any timer due after this virtual time (ms); default Infinity. */
  readonly until?: number
  /** Stop after this many scheduler tasks (reported as "until"); default Infinity. */
  readonly maxSteps?: number
}

/** Result of `runVirtual`: the exit if the program finished, and when and why it stopped. */
export interface SimOutcome<A, E> {
  readonly exit: Option.Option<Exit.Exit<A, E>>
  readonly now: number
  readonly reason: "done" | "until" | "idle"
}

interface Bucket {
  readonly priority: number
  readonly tasks: Array<Scheduler.Task>
  head: number
}

/** Scheduler that only queues tasks (FIFO per priority, lower priority first) for the driver. */
export class SimScheduler implements Scheduler.Scheduler {
  private readonly buckets: Array<Bucket> = []
  constructor(
    private readonly owner: Fiber.RuntimeFiber<unknown, unknown>,
    private readonly outer: Scheduler.Scheduler
  ) {}
  shouldYield(fiber: Fiber.RuntimeFiber<unknown, unknown>): number | false {
    return Scheduler.defaultShouldYield(fiber)
  }
  scheduleTask(
    task: Scheduler.Task,
    priority: number,
    fiber?: Fiber.RuntimeFiber<unknown, unknown>
  ): void {
    // The driving fiber only runs on this scheduler while it forks the program: never queue it.
    if (fiber === this.owner) return this.outer.scheduleTask(task, priority, fiber)
    let i = 0
    while (i < this.buckets.length && this.buckets[i].priority < priority) i++
    if (i === this.buckets.length || this.buckets[i].priority !== priority) {
      this.buckets.splice(i, 0, { priority, tasks: [], head: 0 })
    }
    this.buckets[i].tasks.push(task)
  }
  /** Runs queued tasks until none is left, `budget` is spent or `stop()`; returns tasks run. */
  run(budget: number, stop: () => boolean): number {
    let steps = 0
    while (steps < budget) {
      let i = 0
      while (i < this.buckets.length && this.buckets[i].head === this.buckets[i].tasks.length) i++
      if (i === this.buckets.length) break
      const bucket = this.buckets[i]
      const task = bucket.tasks[bucket.head++]
      if (bucket.head === bucket.tasks.length) {
        bucket.tasks.length = 0
        bucket.head = 0
      }
      task()
      steps++
      if (stop()) break
    }
    return steps
  }
}

interface Timer {
  readonly time: number
  readonly seq: number
  readonly fire: () => void
  cancelled: boolean
}

const before = (a: Timer, b: Timer) => a.time < b.time || (a.time === b.time && a.seq < b.seq)

/** Virtual `Clock` whose sleeps are timers in a min-heap ordered by (wake time, sequence). */
export class VirtualClock implements Clock.Clock {
  readonly [Clock.ClockTypeId]: Clock.ClockTypeId = Clock.ClockTypeId
  private readonly heap: Array<Timer> = []
  private seq = 0
  /** Current virtual time in milliseconds. */
  now = 0
  unsafeCurrentTimeMillis(): number {
    return this.now
  }
  unsafeCurrentTimeNanos(): bigint {
    return BigInt(Math.round(this.now * 1_000_000))
  }
  readonly currentTimeMillis: Effect.Effect<number> = Effect.sync(() => this.now)
  readonly currentTimeNanos: Effect.Effect<bigint> = Effect.sync(() =>
    this.unsafeCurrentTimeNanos()
  )
  sleep(duration: Duration.Duration): Effect.Effect<void> {
    return Effect.async<void>((resume) => {
      const millis = Duration.toMillis(duration)
      if (!(millis < Infinity)) return // an infinite sleep never wakes up
      return Effect.sync(this.schedule(Math.max(0, millis), () => resume(Effect.void)))
    })
  }
  /** Registers `fire` to run `millis` after now; returns a function cancelling it. */
  schedule(millis: number, fire: () => void): () => void {
    const timer: Timer = { time: this.now + millis, seq: this.seq++, fire, cancelled: false }
    const heap = this.heap
    let i = heap.push(timer) - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(timer, heap[parent])) break
      heap[i] = heap[parent]
      i = parent
    }
    heap[i] = timer
    return () => {
      timer.cancelled = true
    }
  }
  /** Wake time of the earliest live timer, if any. */
  next(): number | undefined {
    while (this.heap.length > 0 && this.heap[0].cancelled) this.pop()
    return this.heap.length > 0 ? this.heap[0].time : undefined
  }
  /** Advances time to the earliest timer and fires every timer due then, in sequence order. */
  fireNext(): void {
    const time = this.next()
    if (time === undefined) return
    this.now = time
    while (this.heap.length > 0 && this.heap[0].time === time) {
      const timer = this.pop()
      if (!timer.cancelled) timer.fire()
    }
  }
  private pop(): Timer {
    const heap = this.heap
    const top = heap[0]
    const last = heap.pop()!
    if (heap.length === 0) return top
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      if (l >= heap.length) break
      const c = l + 1 < heap.length && before(heap[l + 1], heap[l]) ? l + 1 : l
      if (!before(heap[c], last)) break
      heap[i] = heap[c]
      i = c
    }
    heap[i] = last
    return top
  }
}

/** The virtual clock of the current fiber when it runs under `runVirtual`. */
export const currentVirtualClock: Effect.Effect<Option.Option<VirtualClock>> = Effect.clockWith(
  (clock) => Effect.succeed(clock instanceof VirtualClock ? Option.some(clock) : Option.none())
)

/** Upper bound on scheduler tasks spent letting an interrupted program finish its finalizers. */
const SHUTDOWN_STEPS = 1_000_000

/** Scheduler tasks run between two yields to the host's event loop (a few ms of CPU). */
const CHUNK_STEPS = 20_000

type Reason = SimOutcome<unknown, unknown>["reason"] | "paused"

interface Drive {
  /** Tasks left before `maxSteps`. */
  budget: number
}

const drive = (
  done: () => boolean,
  scheduler: SimScheduler,
  clock: VirtualClock,
  until: number,
  state: Drive,
  chunk: number
): Reason => {
  for (;;) {
    const steps = scheduler.run(Math.min(state.budget, chunk), done)
    state.budget -= steps
    chunk -= steps
    if (done()) return "done"
    if (state.budget <= 0) return "until"
    if (chunk <= 0) return "paused"
    const next = clock.next()
    if (next === undefined) return "idle"
    if (next > until) {
      clock.now = until
      return "until"
    }
    clock.fireNext()
  }
}

/** Lets the host's event loop run (signals, I/O) between chunks of a long simulation. */
const yieldToHost: Effect.Effect<void> = Effect.async<void>((resume) => {
  const handle = setTimeout(() => resume(Effect.void), 0)
  return Effect.sync(() => clearTimeout(handle))
})

/**
 * Runs `effect` to completion, `until` or idleness in virtual time. The simulation runs in
 * synchronous chunks; between chunks the host's event loop gets a turn, so a long run can be
 * interrupted (Ctrl-C) — except when nested in another simulation, which runs it in one go.
 */
export const runVirtual = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  options: SimOptions = {}
): Effect.Effect<SimOutcome<A, E>, never, R> =>
  Effect.withFiberRuntime<SimOutcome<A, E>, never, R>((driver) => {
    const nested = driver.currentScheduler instanceof SimScheduler
    const scheduler = new SimScheduler(driver, driver.currentScheduler)
    const clock = new VirtualClock()
    const until = options.until ?? Infinity
    const state: Drive = { budget: options.maxSteps ?? Infinity }
    const chunk = nested ? Infinity : CHUNK_STEPS
    // A daemon, so the driver never waits for it; interruptible, so `until` can stop it.
    return Effect.uninterruptibleMask((restore) =>
      Effect.forkDaemon(Effect.interruptible(effect)).pipe(
        Effect.withClock(clock),
        Effect.withScheduler(scheduler),
        Effect.flatMap((fiber) => {
          const done = () => fiber.unsafePoll() !== null
          // stopped early: interrupt, then let finalizers run (sleeps too), boundedly
          const stop = () => {
            fiber.unsafeInterruptAsFork(driver.id())
            drive(done, scheduler, clock, Infinity, { budget: SHUTDOWN_STEPS }, Infinity)
          }
          const loop: Effect.Effect<SimOutcome<A, E>> = Effect.suspend(() => {
            const reason = drive(done, scheduler, clock, until, state, chunk)
            if (reason === "paused") {
              return restore(yieldToHost).pipe(
                Effect.onInterrupt(() => Effect.sync(stop)),
                Effect.zipRight(loop)
              )
            }
            const now = clock.now
            if (reason !== "done") stop()
            const exit = reason === "done" ? Option.fromNullable(fiber.unsafePoll()) : Option.none()
            return Effect.succeed({ exit, now, reason })
          })
          return loop
        })
      )
    )
  })
