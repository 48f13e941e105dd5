/**
 * The `gossip-max` command, one composition of the library's layers: it resolves its settings
 * (environment over an optional JSON config file) and `value.txt`, then runs one peer over TCP
 * in the current directory, or, as `gossip-max config`, only checks and prints them. Exit codes:
 * 0 done, 1 failed, 2 bad configuration.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as FileStore from "./FileStore.js"
import * as Logging from "./Logging.js"
import * as NodeTransport from "./NodeTransport.js"
import * as Peer from "./Peer.js"
import * as PeerConfig from "./PeerConfig.js"
import * as Settings from "./Settings.js"
import * as State from "./State.js"
import * as ValueSource from "./ValueSource.js"

/** Exit codes of the command. */
export const ExitCode = { ok: 0, failed: 1, badConfig: 2, interrupted: 130 } as const

declare const GOSSIP_MAX_VERSION: string | undefined

/** The package version, set by the bundler; `dev` when run from source or the library. */
export const version = typeof GOSSIP_MAX_VERSION === "string" ? GOSSIP_MAX_VERSION : "dev"

/** What the command line asks for. */
export type Command =
  | { readonly _tag: "Help" }
  | { readonly _tag: "Version" }
  | { readonly _tag: "Run"; readonly configFile: Option.Option<string> }
  | { readonly _tag: "Config"; readonly configFile: Option.Option<string>; readonly json: boolean }

const helpFlags = ["--help", "-h"]

const versionFlags = ["--version", "-v"]

/** Reads the arguments; on failure, says which argument is wrong. `--help` and `--version`
 * stand alone (`config --help` too); any other argument is an error, not ignored. */
export const parseArgs = (argv: ReadonlyArray<string>): Either.Either<Command, string> => {
  const [first, ...rest] = argv
  const check = first === "config"
  const args = check ? rest : argv
  if (args.length === 1 && helpFlags.includes(args[0])) return Either.right({ _tag: "Help" })
  if (!check && args.length === 1 && versionFlags.includes(args[0])) {
    return Either.right({ _tag: "Version" })
  }
  let configFile = Option.none<string>()
  let json = false
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]
    if (arg === "--config" || arg.startsWith("--config=")) {
      const file = arg === "--config" ? args[++i] : arg.slice("--config=".length)
      if (file === undefined || file === "" || file.startsWith("-")) {
        return Either.left("--config needs a file name")
      }
      if (Option.isSome(configFile)) return Either.left("--config is given twice")
      configFile = Option.some(file)
    } else if (arg === "--json" && check) {
      if (json) return Either.left("--json is given twice")
      json = true
    } else if ([...helpFlags, ...versionFlags].includes(arg)) {
      return Either.left(`${arg} takes no other argument`)
    } else {
      return Either.left(`unknown argument ${JSON.stringify(arg)}`)
    }
  }
  return Either.right(check ? { _tag: "Config", configFile, json } : { _tag: "Run", configFile })
}

const WIDTH = 100

/** Fills `text` into lines of at most `width` columns, each starting with `indent` spaces. */
export const wrap = (text: string, width = WIDTH, indent = 0): ReadonlyArray<string> => {
  const lines: Array<string> = []
  let line = ""
  for (const word of text.split(/\s+/).filter((w) => w.length > 0)) {
    if (line !== "" && indent + line.length + 1 + word.length > width) {
      lines.push(" ".repeat(indent) + line)
      line = word
    } else {
      line = line === "" ? word : `${line} ${word}`
    }
  }
  if (line !== "") lines.push(" ".repeat(indent) + line)
  return lines
}

const settingHelp = (doc: Settings.SettingDoc): ReadonlyArray<string> => {
  const file = doc.path === "" ? "" : ` (file: ${doc.path})`
  const [first, ...more] = wrap(`${doc.key}${file}: ${doc.form}; default ${doc.default}`, 98)
  return [`  ${first}`, ...more.map((line) => `      ${line}`), ...wrap(doc.description, WIDTH, 6)]
}

/** The `--help` text, generated from the settings table; no line is wider than 100 columns. */
export const helpText = (): string =>
  [
    "gossip-max: agree on the maximum of every peer's value, with no coordinator.",
    "",
    "Usage:",
    "  gossip-max [--config FILE]                  run one peer in the current directory",
    "  gossip-max config [--config FILE] [--json]  check the settings and the value, print",
    "                                              them, and exit",
    "  gossip-max --help | --version",
    "",
    "Options:",
    `  --config FILE, --config=FILE  read settings from this JSON file (overrides ` +
    `${Settings.CONFIG_VARIABLE})`,
    "  --json                        with config: print the settings as a config file",
    "  -h, --help                    print this help and exit",
    "  -v, --version                 print the version and exit",
    "",
    ...wrap(
      "A peer reads its integer from value.txt, listens on PORT, gossips with its PEER_<NAME> " +
        "neighbours until it can prove it knows every peer of the cluster, writes the maximum " +
        "to result.txt, and exits 0 once its neighbours are done too."
    ),
    "",
    ...wrap(
      `Settings come from environment variables, or from the keys of a JSON config file named ` +
        `by --config FILE or ${Settings.CONFIG_VARIABLE}; a variable that is set overrides ` +
        `the file's key.`
    ),
    "",
    ...Settings.docs.flatMap(settingHelp),
    "",
    "A config file, for example:",
    `  {"port": 9000, "gossipInterval": "250ms", "peers": {`,
    `    "b": {"host": "10.0.0.2", "port": 9000}, "c": {"host": "fd00::3", "port": 9000}}}`,
    "",
    ...wrap(
      "Exit codes: 0 result written (or, for config, the configuration is valid), 1 failure " +
        "(deadline passed, port in use, result not writable), 2 bad configuration (every " +
        "problem is listed, naming the variable, or the file and JSON path)."
    ),
    ""
  ].join("\n")

/** Settings resolved from the environment over an optional config file. */
export interface Resolved {
  readonly settings: Settings.Settings
  /** The merged source, which knows where each value came from. */
  readonly source: Settings.Source
  /** The config file read, if any. */
  readonly configFile: Option.Option<string>
}

const fileProblem = (key: string, source: string, file: string, reason: string) => ({
  key,
  source,
  message: `cannot read ${file} (${reason}); expected a readable JSON file`
})

const configVariable = (env: Readonly<Record<string, string | undefined>>) =>
  Option.filter(
    Option.fromNullable(env[Settings.CONFIG_VARIABLE]?.trim()),
    (name) => name !== ""
  )

/** Reads the config file named by `--config` or the variable; absent when neither names one. */
const readConfigFile = (
  env: Readonly<Record<string, string | undefined>>,
  flag: Option.Option<string>
) =>
  Effect.gen(function*() {
    const file = Option.getOrUndefined(Option.orElse(flag, () => configVariable(env)))
    if (file === undefined) return Either.right(Option.none<Settings.FileSource>())
    const [key, source] = Option.isSome(flag) ?
      ["--config", "argument"] :
      [Settings.CONFIG_VARIABLE, "environment"]
    const fs = yield* FileSystem.FileSystem
    const text = yield* Effect.either(fs.readFileString(file))
    return Either.mapBoth(text, {
      onLeft: (error) => fileProblem(key, source, file, FileStore.reasonOf(error)),
      onRight: (json) => Option.some(Settings.fromFile(file, json))
    })
  })

/** The settings, or every problem with them, and the merged source they were read from. */
const resolve = (
  env: Readonly<Record<string, string | undefined>>,
  configFile: Option.Option<string>
) =>
  Effect.gen(function*() {
    // an unreadable file is one problem; the environment is still checked for the others
    const file = yield* readConfigFile(env, configFile)
    const read = Either.getOrElse(file, () => Option.none<Settings.FileSource>())
    const environment = Settings.fromEnvironment(env)
    const source = Option.match(read, {
      onNone: () => environment,
      onSome: (fileSource) => Settings.overlay(environment, fileSource.source)
    })
    const problems: Array<Settings.Problem> = [
      ...Either.match(file, { onLeft: (problem) => [problem], onRight: () => [] }),
      ...Option.match(read, { onNone: () => [], onSome: (fileSource) => fileSource.problems })
    ]
    const parsed = Settings.parse(source)
    if (Either.isLeft(parsed)) problems.push(...parsed.left)
    const outcome: Either.Either<Resolved, ReadonlyArray<Settings.Problem>> =
      Either.isLeft(parsed) || problems.length > 0 ?
        Either.left(problems) :
        Either.right({
          settings: parsed.right,
          source,
          configFile: Option.orElse(configFile, () => configVariable(env))
        })
    return { source, outcome }
  })

/** Resolves the settings: the environment over the config file named by `configFile` or
 * `GOSSIP_CONFIG`. On failure, lists every problem. */
export const loadSettings = (
  env: Readonly<Record<string, string | undefined>>,
  configFile: Option.Option<string> = Option.none()
): Effect.Effect<
  Either.Either<Resolved, ReadonlyArray<Settings.Problem>>,
  never,
  FileSystem.FileSystem
> => Effect.map(resolve(env, configFile), ({ outcome }) => outcome)

/** A file setting as resolved or, when other settings are bad, as it was given (its default
 * when unset); `undefined` when it is bad itself, which is already reported. */
const fileSetting = (
  outcome: Either.Either<Resolved, ReadonlyArray<Settings.Problem>>,
  source: Settings.Source,
  field: "valueFile" | "resultFile"
): string | undefined => {
  if (Either.isRight(outcome)) return outcome.right.settings[field]
  const setting = Settings.settings.find((s) => s.field === field)!
  const raw = source.values[setting.key] ?? setting.default
  return Either.getOrUndefined(setting.parse(raw, (key) => key) as Either.Either<string, string>)
}

const nameIn = (source: Settings.Source, key: string): string => source.name?.(key) ?? key

/** A problem with a setting of `source`, named as the source spells it. */
const problemAt = (source: Settings.Source, key: string, message: string): Settings.Problem => ({
  key: nameIn(source, key),
  source: source.values[key] === undefined ? "default" : source.origin(key),
  message
})

/** What only the file system can tell about the result file: the folder it goes in must
 * exist, and it must be neither a folder nor the value file, which it would overwrite. */
const checkResultFile = (source: Settings.Source, resultFile: string, valueFile?: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const problem = (message: string) => [problemAt(source, "GOSSIP_RESULT_FILE", message)]
    const target = path.resolve(resultFile)
    const folder = path.dirname(target)
    const kind = yield* Effect.either(fs.stat(folder))
    if (Either.isLeft(kind)) {
      return kind.left._tag === "SystemError" && kind.left.reason === "NotFound" ?
        problem(`the folder ${folder} does not exist; expected a file in an existing folder`) :
        problem(`cannot check the folder ${folder} (${FileStore.reasonOf(kind.left)})`)
    }
    if (kind.right.type !== "Directory") {
      return problem(`${folder} is not a folder; expected a file in an existing folder`)
    }
    const existing = yield* Effect.option(fs.stat(target))
    if (Option.isSome(existing) && existing.value.type === "Directory") {
      return problem(`${target} is a folder; expected a file name`)
    }
    // the same file by another spelling (./value.txt, a symlinked folder) counts as the same
    const real = (file: string) =>
      fs.realPath(path.dirname(path.resolve(file))).pipe(
        Effect.map((dir) => path.join(dir, path.basename(file))),
        Effect.orElseSucceed(() => path.resolve(file))
      )
    if (valueFile !== undefined && (yield* real(target)) === (yield* real(valueFile))) {
      return problem(
        `names the value file (${nameIn(source, "GOSSIP_VALUE_FILE")}, ` +
          `${path.resolve(valueFile)}), which the result would overwrite; expected another file`
      )
    }
    return []
  })

/** Settings and value together, so every configuration problem is reported at once. */
const loadConfiguration = (
  env: Readonly<Record<string, string | undefined>>,
  configFile: Option.Option<string>
) =>
  Effect.gen(function*() {
    const { outcome, source } = yield* resolve(env, configFile)
    // with bad settings, the files are still checked, by the names they were given
    const valueFile = fileSetting(outcome, source, "valueFile")
    const resultFile = fileSetting(outcome, source, "resultFile")
    const resultProblems = resultFile === undefined ?
      [] :
      yield* checkResultFile(source, resultFile, valueFile)
    const value = valueFile === undefined ?
      Either.left<ReadonlyArray<string>>([]) :
      yield* Effect.either(Effect.mapError(FileStore.readValue(valueFile), (e) => [e.message]))
    if (Either.isRight(outcome) && resultProblems.length === 0 && Either.isRight(value)) {
      return Either.right({ resolved: outcome.right, value: value.right })
    }
    return Either.left([
      ...Either.match(outcome, { onLeft: (l) => l.map(Settings.formatProblem), onRight: () => [] }),
      ...resultProblems.map(Settings.formatProblem),
      ...Either.match(value, { onLeft: (lines) => lines, onRight: () => [] })
    ])
  })

/** The peer over TCP and files, from resolved settings: the command's composition. */
export const layerPeer = (settings: Settings.Settings, value: bigint) =>
  Peer.layer.pipe(
    Layer.provide([
      NodeTransport.layer({
        port: settings.port,
        bind: settings.bind,
        maxFrameBytes: settings.maxFrameBytes
      }),
      PeerConfig.layer(PeerConfig.fromSettings(settings)),
      ValueSource.layer(value),
      FileStore.layerResultFile(settings.resultFile)
    ])
  )

const runPeer = (settings: Settings.Settings, value: bigint) =>
  Effect.gen(function*() {
    const peer = yield* Peer.Peer
    yield* peer.done.pipe(
      Effect.onInterrupt(() =>
        Effect.flatMap(peer.view, (view) =>
          Effect.logInfo(
            State.isComplete(view, view.self) ?
              "Stopping on a signal; the result was written" :
              "Stopping on a signal before any result; nothing was written"
          ))
      )
    )
    yield* Effect.logInfo("Done: every neighbour has its result")
    return ExitCode.ok
  }).pipe(
    Effect.provide(layerPeer(settings, value)),
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

/** A long value shown by its ends and its length. */
const showValue = (value: bigint): string => {
  const digits = value.toString()
  return digits.length <= 60 ?
    digits :
    `${digits.slice(0, 24)}...${digits.slice(-12)} (${digits.replace("-", "").length} digits)`
}

const escapes: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" }

/** `text` with control characters escaped as in JSON (`\n`, `\u0000`), so that a value read
 * from a file or the environment cannot break a line or drive the terminal. */
const printable = (text: string): string =>
  // eslint-disable-next-line no-control-regex
  text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) =>
    escapes[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)

/** The `config` listing: each setting, its value, and where the value came from. */
export const configText = (resolved: Resolved, value: bigint): string => {
  const rows = [
    ...Settings.rows(resolved.settings, resolved.source),
    { key: "value", value: showValue(value), from: resolved.settings.valueFile }
  ]
  const keyWidth = Math.max(...rows.map((row) => row.key.length)) + 2
  const valueWidth = Math.min(40, Math.max(...rows.map((row) => row.value.length))) + 2
  const file = Option.match(resolved.configFile, {
    onNone: () => "no config file",
    onSome: (name) => `config file ${name}; the environment overrides it`
  })
  return [
    `gossip-max configuration (${file}):`,
    // a value wider than its column still keeps two spaces before its origin
    ...rows.map((row) =>
      printable(`  ${row.key.padEnd(keyWidth)}${row.value.padEnd(valueWidth - 2)}  ${row.from}`)
        .trimEnd()
    ),
    "The configuration is valid."
  ].join("\n")
}

const check = (
  env: Readonly<Record<string, string | undefined>>,
  configFile: Option.Option<string>,
  json: boolean
) =>
  Effect.gen(function*() {
    const loaded = yield* loadConfiguration(env, configFile)
    if (Either.isLeft(loaded)) {
      yield* reportProblems("the configuration has problems", loaded.left)
      return ExitCode.badConfig
    }
    const { resolved, value } = loaded.right
    yield* Console.log(
      json ?
        JSON.stringify(Settings.toJson(resolved.settings), null, 2) :
        configText(resolved, value)
    )
    return ExitCode.ok
  })

const reportProblems = (headline: string, problems: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    yield* Console.error(`gossip-max: ${headline}:`)
    yield* Effect.forEach(problems, (line) => Console.error(`  - ${printable(line)}`), {
      discard: true
    })
  })

/** The whole command, given its arguments and environment; succeeds with the exit code. */
export const main = (
  argv: ReadonlyArray<string>,
  env: Readonly<Record<string, string | undefined>>
): Effect.Effect<number, never, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const command = parseArgs(argv)
    if (Either.isLeft(command)) {
      yield* Console.error(`gossip-max: ${printable(command.left)}; see gossip-max --help`)
      return ExitCode.badConfig
    }
    switch (command.right._tag) {
      case "Help":
        yield* Console.log(helpText())
        return ExitCode.ok
      case "Version":
        yield* Console.log(version)
        return ExitCode.ok
      case "Config":
        return yield* check(env, command.right.configFile, command.right.json)
      case "Run": {
        const loaded = yield* loadConfiguration(env, command.right.configFile)
        if (Either.isLeft(loaded)) {
          yield* reportProblems("cannot start, the configuration has problems", loaded.left)
          return ExitCode.badConfig
        }
        return yield* runPeer(loaded.right.resolved.settings, loaded.right.value)
      }
    }
  })
