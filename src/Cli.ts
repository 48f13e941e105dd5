/**
 * The `gossip-max` command: reads its settings and `value.txt`, runs one peer over TCP in the
 * current directory, and maps the outcome to an exit code (0 done, 1 failed, 2 bad
 * configuration).
 *
 * @since 0.1.0
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as FileStore from "./FileStore.js"
import * as Logging from "./Logging.js"
import * as NodeTransport from "./NodeTransport.js"
import * as Peer from "./Peer.js"
import * as PeerConfig from "./PeerConfig.js"
import * as Settings from "./Settings.js"
import * as ValueSource from "./ValueSource.js"

/** Exit codes of the command. */
export const ExitCode = { ok: 0, failed: 1, badConfig: 2 } as const

declare const GOSSIP_MAX_VERSION: string | undefined

/** The package version, set by the bundler; `dev` when run from source. */
export const version = typeof GOSSIP_MAX_VERSION === "string" ? GOSSIP_MAX_VERSION : "dev"

/** The `--help` text, generated from the settings table. */
export const helpText = (): string => {
  const width = Math.max(...Settings.docs.map((doc) => doc.key.length)) + 2
  const rows = Settings.docs.map((doc) =>
    `  ${doc.key.padEnd(width)}${doc.description} (default: ${doc.default})`
  )
  return [
    "gossip-max: agree on the maximum of every peer's value, with no coordinator.",
    "",
    "Usage: gossip-max [--help] [--version]",
    "",
    "Runs one peer in the current directory. It reads its integer from value.txt, listens on",
    "PORT, gossips with the PEER_<NAME>_HOST/PORT neighbours until it can prove it knows every",
    "peer of the cluster, writes the maximum to result.txt, and exits 0 once its neighbours",
    "are done too.",
    "",
    "Settings (environment variables):",
    ...rows,
    "",
    "Durations take a unit: 250ms, 2s, 5m, 1h (a bare number means milliseconds).",
    "Exit codes: 0 result written, 1 failure (deadline passed, port in use, result not",
    "writable), 2 bad configuration (every problem is listed).",
    ""
  ].join("\n")
}

/** Reads settings and value together, so every configuration problem is reported at once. */
const loadConfiguration = (env: Readonly<Record<string, string | undefined>>) =>
  Effect.gen(function*() {
    const parsed = Settings.parse(Settings.fromEnvironment(env))
    const valueFile = Either.match(parsed, {
      onLeft: () => env["GOSSIP_VALUE_FILE"]?.trim() || "value.txt",
      onRight: (settings) => settings.valueFile
    })
    const value = yield* Effect.either(FileStore.readValue(valueFile))
    const problems = [
      ...Either.match(parsed, {
        onLeft: (list) => list.map(Settings.formatProblem),
        onRight: () => []
      }),
      ...Either.match(value, { onLeft: (error) => [error.message], onRight: () => [] })
    ]
    if (Either.isRight(parsed) && Either.isRight(value) && problems.length === 0) {
      return Either.right({ settings: parsed.right, value: value.right })
    }
    return Either.left(problems)
  })

/** The layers of one peer over TCP and files, from resolved settings. */
export const peerLayer = (settings: Settings.Settings, value: bigint) =>
  Peer.layer.pipe(
    Layer.provide([
      NodeTransport.layer({
        port: settings.port,
        bind: settings.bind,
        maxFrameBytes: settings.maxFrameBytes
      }),
      PeerConfig.layer({
        neighbours: settings.peers,
        gossipInterval: settings.gossipInterval,
        retryMin: settings.retryMin,
        retryMax: settings.retryMax,
        linger: settings.linger,
        deadline: settings.deadline,
        stay: settings.stay
      }),
      ValueSource.layer(value),
      FileStore.layerResultFile(settings.resultFile)
    ])
  )

const runPeer = (settings: Settings.Settings, value: bigint) =>
  Effect.gen(function*() {
    const peer = yield* Peer.Peer
    yield* peer.done
    yield* Effect.logInfo("Done: every neighbour has its result")
    return ExitCode.ok
  }).pipe(
    Effect.provide(peerLayer(settings, value)),
    Effect.catchTags({
      DeadlineExceeded: (error) => Effect.as(Effect.logError(error.message), ExitCode.failed),
      ResultError: (error) =>
        Effect.as(Effect.logError(`Cannot write the result: ${error.message}`), ExitCode.failed),
      TransportError: (error) =>
        Effect.as(Effect.logError(`Cannot listen: ${error.message}`), ExitCode.failed),
      ValueError: (error) => Effect.as(Effect.logError(error.message), ExitCode.badConfig)
    }),
    Effect.provide(Logging.layer(settings.logLevel))
  )

/** The whole command, given its arguments and environment; succeeds with the exit code. */
export const main = (
  argv: ReadonlyArray<string>,
  env: Readonly<Record<string, string | undefined>>
): Effect.Effect<number, never, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    if (argv.includes("--help") || argv.includes("-h")) {
      yield* Console.log(helpText())
      return ExitCode.ok
    }
    if (argv.includes("--version") || argv.includes("-v")) {
      yield* Console.log(version)
      return ExitCode.ok
    }
    if (argv.length > 0) {
      yield* Console.error(`gossip-max: unknown argument "${argv[0]}"; see gossip-max --help`)
      return ExitCode.badConfig
    }
    const loaded = yield* loadConfiguration(env)
    if (Either.isLeft(loaded)) {
      yield* Console.error("gossip-max: cannot start, the configuration has problems:")
      yield* Effect.forEach(loaded.left, (line) => Console.error(`  - ${line}`))
      return ExitCode.badConfig
    }
    return yield* runPeer(loaded.right.settings, loaded.right.value)
  })
