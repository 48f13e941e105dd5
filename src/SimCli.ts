/**
 * The `sim` command: builds a scenario from flags (or reads one from a file), runs it in
 * virtual time, and prints the report. Exit codes: 0 every peer finished with the true maximum
 * and nothing was violated, 1 otherwise, 2 bad arguments.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as MemoryNetwork from "./MemoryNetwork.js"
import * as Scenario from "./Scenario.js"
import * as Settings from "./Settings.js"
import * as SimReport from "./SimReport.js"
import * as Simulation from "./Simulation.js"
import * as Topology from "./Topology.js"

/** Exit codes of the command. */
export const ExitCode = { ok: 0, failed: 1, badArguments: 2 } as const

/** The `--help` text. */
export const helpText = [
  "sim: runs a simulated gossip-max cluster in virtual time and reports how it went.",
  "",
  "Usage: npm run sim -- [flags]",
  "",
  "Cluster:",
  "  --peers N             number of peers (default 10)",
  "  --topology NAME       mesh, line, ring, star, grid or random (default random)",
  "  --degree D            neighbours per peer of a random topology (default 4)",
  "  --start-spread DUR    peers start at random times within DUR (default 0)",
  "  --seed N              seed of every random choice (default 1)",
  "Network faults:",
  "  --latency L           one-way delay: 5ms, a range 1ms..20ms, or exp:10ms (default 1ms)",
  "  --loss P              probability a frame is lost, 0 to 1 (default 0)",
  "  --duplicate P         probability a frame arrives twice (default 0)",
  "  --reorder P           probability a frame is held back so later ones pass it (default 0)",
  "  --reorder-window DUR  longest hold-back of a reordered frame (default 50ms)",
  "  --partitions K        K random partitions (one peer or half the cluster cut off)",
  "  --crashes K           K random crashes of random peers, each restarting later",
  "  --fault-window DUR    partitions and crashes begin within DUR (default 10s)",
  "  --fault-length DUR    longest partition or downtime (default 10s)",
  "Peers:",
  "  --gossip-interval DUR, --retry-min DUR, --retry-max DUR, --linger DUR",
  "                        protocol timings (defaults 500ms, 100ms, 5s, 30s)",
  "Run:",
  "  --horizon DUR         stop at this virtual time (default: 1h after the last fault)",
  "  --scenario FILE       run the scenario saved in FILE (JSON) instead of the flags above",
  "  --save-scenario FILE  write the scenario as JSON, to replay it",
  "  --json                print the report as JSON",
  "  --plot FILE.svg       draw the fraction of peers finished over virtual time",
  "  --trace FILE          write every event of the run, one per line (small runs)",
  "",
  "Durations take a unit: 250ms, 2s, 5m, 1h. Exit codes: 0 every peer wrote the true",
  "maximum and no check failed, 1 otherwise, 2 bad arguments.",
  ""
].join("\n")

/** What the command was asked to do. */
export interface Command {
  /** The scenario given by flags; replaced by the one in `scenarioFile` when set. */
  readonly scenario: Scenario.Scenario
  readonly scenarioFile: string | undefined
  readonly saveScenario: string | undefined
  readonly json: boolean
  readonly plot: string | undefined
  readonly trace: string | undefined
}

const BOOLEAN_FLAGS = new Set(["json", "help"])

const VALUE_FLAGS = new Set([
  "peers",
  "topology",
  "degree",
  "start-spread",
  "seed",
  "latency",
  "loss",
  "duplicate",
  "reorder",
  "reorder-window",
  "partitions",
  "crashes",
  "fault-window",
  "fault-length",
  "gossip-interval",
  "retry-min",
  "retry-max",
  "linger",
  "horizon",
  "scenario",
  "save-scenario",
  "plot",
  "trace"
])

/** Splits `--name value`, `--name=value` and `--flag` into a map; unknown flags are problems. */
const readFlags = (
  args: ReadonlyArray<string>
): { readonly flags: Map<string, string>; readonly problems: Array<string> } => {
  const flags = new Map<string, string>()
  const problems: Array<string> = []
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]
    if (!arg.startsWith("--")) {
      problems.push(`unexpected argument "${arg}"`)
      continue
    }
    const [name, inline] = arg.slice(2).split(/=(.*)/s, 2)
    if (BOOLEAN_FLAGS.has(name)) {
      flags.set(name, "true")
    } else if (VALUE_FLAGS.has(name)) {
      const value = inline ?? args[++i]
      if (value === undefined) problems.push(`--${name} needs a value`)
      else flags.set(name, value)
    } else {
      problems.push(`unknown flag --${name}`)
    }
  }
  return { flags, problems }
}

/** Reads flag values, collecting every problem rather than stopping at the first. */
class Reader {
  readonly problems: Array<string> = []
  constructor(private readonly flags: Map<string, string>) {}

  private read<A>(name: string, fallback: A, parse: (raw: string) => Either.Either<A, string>) {
    const raw = this.flags.get(name)
    if (raw === undefined) return fallback
    const parsed = parse(raw)
    if (Either.isLeft(parsed)) {
      this.problems.push(`--${name}: ${parsed.left}`)
      return fallback
    }
    return parsed.right
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    return this.read(name, fallback, (raw) => {
      const n = Number(raw)
      return /^-?[0-9]+$/.test(raw.trim()) && n >= min && n <= max ?
        Either.right(n) :
        Either.left(`expected a whole number from ${min} to ${max}, got "${raw}"`)
    })
  }

  probability(name: string): number {
    return this.read(name, 0, (raw) => {
      const p = Number(raw)
      return raw.trim() !== "" && p >= 0 && p <= 1 ?
        Either.right(p) :
        Either.left(`expected a probability from 0 to 1, got "${raw}"`)
    })
  }

  millis(name: string, fallback: number): number {
    return this.read(
      name,
      fallback,
      (raw) => Either.map(Settings.parseDuration(raw), Duration.toMillis)
    )
  }

  optionalMillis(name: string): number | undefined {
    return this.flags.has(name) ? this.millis(name, 0) : undefined
  }

  text(name: string): string | undefined {
    return this.flags.get(name)
  }

  topology(degree: number): Topology.Topology {
    return this.read("topology", Topology.random(degree), (raw) => {
      switch (raw) {
        case "mesh":
          return Either.right(Topology.mesh)
        case "line":
          return Either.right(Topology.line)
        case "ring":
          return Either.right(Topology.ring)
        case "star":
          return Either.right(Topology.star)
        case "grid":
          return Either.right(Topology.grid)
        case "random":
          return Either.right(Topology.random(degree))
        default:
          return Either.left(`expected mesh, line, ring, star, grid or random, got "${raw}"`)
      }
    })
  }

  latency(): MemoryNetwork.Latency {
    return this.read("latency", { _tag: "Fixed", millis: 1 }, parseLatency)
  }
}

const durationMillis = (raw: string): Either.Either<number, string> =>
  Either.map(Settings.parseDuration(raw), Duration.toMillis)

/** `5ms` fixed, `1ms..20ms` uniform, `exp:10ms` exponential of that mean. */
export const parseLatency = (raw: string): Either.Either<MemoryNetwork.Latency, string> => {
  const text = raw.trim()
  if (text.startsWith("exp:")) {
    return Either.map(durationMillis(text.slice(4)), (mean) => ({
      _tag: "Exponential" as const,
      min: 0,
      mean
    }))
  }
  const range = text.split("..")
  if (range.length === 2) {
    return Either.flatMap(
      Either.all([durationMillis(range[0]), durationMillis(range[1])]),
      ([min, max]) =>
        min <= max ?
          Either.right({ _tag: "Uniform" as const, min, max }) :
          Either.left(`the range ${text} ends before it starts`)
    )
  }
  return Either.map(durationMillis(text), (millis) => ({ _tag: "Fixed" as const, millis }))
}

/** Parses the arguments: a command, `help`, or every problem found. */
export const parseArgs = (
  args: ReadonlyArray<string>
): Either.Either<Command | "help", ReadonlyArray<string>> => {
  const { flags, problems } = readFlags(args)
  if (flags.has("help")) return Either.right("help")
  const read = new Reader(flags)
  const size = read.integer("peers", 10, 1, 100_000)
  const degree = read.integer("degree", 4, 1, 64)
  const seed = read.integer("seed", 1, -(2 ** 31), 2 ** 31 - 1)
  const window = read.millis("fault-window", 10_000)
  const length = read.millis("fault-length", 10_000)
  const scenario = Scenario.make({
    seed,
    size,
    startSpread: read.millis("start-spread", 0),
    topology: read.topology(degree),
    faults: {
      latency: read.latency(),
      loss: read.probability("loss"),
      duplicate: read.probability("duplicate"),
      reorder: read.probability("reorder"),
      reorderWindow: read.millis("reorder-window", 50)
    },
    partitions: Scenario.randomPartitions(
      seed,
      size,
      read.integer("partitions", 0, 0, 10_000),
      window,
      length
    ),
    crashes: Scenario.randomCrashes(
      seed,
      size,
      read.integer("crashes", 0, 0, 10_000),
      window,
      length
    ),
    timings: {
      gossipInterval: read.millis("gossip-interval", Scenario.defaultTimings.gossipInterval),
      retryMin: read.millis("retry-min", Scenario.defaultTimings.retryMin),
      retryMax: read.millis("retry-max", Scenario.defaultTimings.retryMax),
      linger: read.millis("linger", Scenario.defaultTimings.linger)
    },
    horizon: read.optionalMillis("horizon")
  })
  const all = [...problems, ...read.problems]
  if (all.length > 0) return Either.left(all)
  return Either.right({
    scenario,
    scenarioFile: read.text("scenario"),
    saveScenario: read.text("save-scenario"),
    json: flags.has("json"),
    plot: read.text("plot"),
    trace: read.text("trace")
  })
}

const loadScenario = (command: Command) =>
  Effect.gen(function*() {
    if (command.scenarioFile === undefined) return Either.right(command.scenario)
    const fs = yield* FileSystem.FileSystem
    const text = yield* Effect.either(fs.readFileString(command.scenarioFile))
    if (Either.isLeft(text)) return Either.left(`${command.scenarioFile}: ${text.left.message}`)
    return Either.mapLeft(Scenario.fromJson(text.right), (error) =>
      `${command.scenarioFile}: ${error}`)
  })

const writeOutputs = (command: Command, scenario: Scenario.Scenario, report: Simulation.Report) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const files: Array<readonly [string | undefined, () => string]> = [
      [command.saveScenario, () => Scenario.toJson(scenario) + "\n"],
      [command.plot, () => SimReport.plotSvg(report)],
      [command.trace, () => report.events.join("\n") + "\n"]
    ]
    for (const [file, content] of files) {
      if (file === undefined) continue
      yield* fs.writeFileString(file, content()).pipe(
        Effect.catchAll((error) => Console.error(`cannot write ${file}: ${error.message}`))
      )
    }
  })

/** Runs the command; `cpuSeconds` reads the process's CPU time so far. Returns the exit code. */
export const main = (
  args: ReadonlyArray<string>,
  cpuSeconds: Effect.Effect<number>
): Effect.Effect<number, never, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const parsed = parseArgs(args)
    if (Either.isLeft(parsed)) {
      yield* Console.error(parsed.left.map((problem) => `sim: ${problem}`).join("\n"))
      yield* Console.error("Run with --help for the flags.")
      return ExitCode.badArguments
    }
    if (parsed.right === "help") {
      yield* Console.log(helpText)
      return ExitCode.ok
    }
    const command = parsed.right
    const scenario = yield* loadScenario(command)
    if (Either.isLeft(scenario)) {
      yield* Console.error(`sim: ${scenario.left}`)
      return ExitCode.badArguments
    }
    const before = yield* cpuSeconds
    const report = yield* Simulation.run(scenario.right, { record: command.trace !== undefined })
    const cpu = (yield* cpuSeconds) - before
    yield* Console.log(
      command.json ?
        JSON.stringify(SimReport.toJson(report, cpu), null, 2) :
        SimReport.formatText(scenario.right, report, cpu)
    )
    yield* writeOutputs(command, scenario.right, report)
    return report.ok ? ExitCode.ok : ExitCode.failed
  })
