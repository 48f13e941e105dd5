/**
 * Every setting of a peer, defined once: its variable, config file key, form, default and
 * description. The `--help` text and the README's settings table are generated from `docs`.
 * Settings come from the environment, a JSON config file (which the environment overrides key
 * by key), or Effect `Config`; `parse` reports every problem at once, naming the variable or the
 * file and JSON path. Pure: reading the file is the caller's business.
 *
 * There are no secrets among the settings yet. A secret would be marked `secret`, parsed into a
 * `Redacted`, shown as `<redacted>` by `showValue`, and never echoed in a problem.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as HashMap from "effect/HashMap"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type { Address } from "./Transport.js"

/** The resolved settings of one peer. */
export interface Settings {
  /** TCP port to listen on (default 9000; 0 picks a free one). */
  readonly port: number
  /** Address to listen on (default: every interface). */
  readonly bind: Option.Option<string>
  /** The neighbours, sorted by name (default none). */
  readonly peers: ReadonlyArray<Address>
  /** File holding this peer's integer (default `value.txt`). */
  readonly valueFile: string
  /** File the proven maximum is written to (default `result.txt`). */
  readonly resultFile: string
  /** Round length (default 500ms). */
  readonly gossipInterval: Duration.Duration
  /** First redial delay (default 100ms). */
  readonly retryMin: Duration.Duration
  /** Cap on the redial delay (default 5s). */
  readonly retryMax: Duration.Duration
  /** How long a finished peer waits for an unreachable neighbour (default 30s). */
  readonly linger: Duration.Duration
  /** Give up without a result after this long (default: never). */
  readonly deadline: Option.Option<Duration.Duration>
  /** Keep serving after the result (default false). */
  readonly stay: boolean
  /** Largest accepted message, in bytes (default 1 MiB). */
  readonly maxFrameBytes: number
  /** Least severe log level printed (default Info). */
  readonly logLevel: LogLevel.LogLevel
}

/** One bad setting: where it came from and what was wrong. */
export interface Problem {
  /** The variable at fault, its JSON path in a config file (`peers.b.port`), or the file. */
  readonly key: string
  /** Where it was read: `environment`, `file cluster.json`, `argument`, `config`. */
  readonly source: string
  /** What was wrong, and the form expected. */
  readonly message: string
}

/** Raw settings keyed by variable name, and where each came from. */
export interface Source {
  /** Raw text per variable (`PORT`, `PEER_B_HOST`); `undefined` means unset. */
  readonly values: Readonly<Record<string, string | undefined>>
  /** Where `key` was read (or, when unset, where it would be expected). */
  readonly origin: (key: string) => string
  /** How that source spells `key`: the variable itself unless this is omitted. */
  readonly name?: (key: string) => string
}

/** Describes one setting for help texts, docs and error messages. */
export interface SettingDoc {
  /** The environment variable. */
  readonly key: string
  /** The key in a JSON config file, or `""` when the file cannot hold it. */
  readonly path: string
  /** The form a value takes, with its unit. */
  readonly form: string
  /** The default, as text. */
  readonly default: string
  /** What the setting does, and what raising or lowering it costs. */
  readonly description: string
  /** Set for secrets: parsed into `Redacted`, never printed. */
  readonly secret?: boolean
}

type Parser<A> = (raw: string) => Either.Either<A, string>

interface Setting<K extends keyof Settings> extends SettingDoc {
  readonly field: K
  readonly parse: Parser<Settings[K]>
  readonly fallback: Settings[K]
}

const integer = (min: number, max: number): Parser<number> => (raw) => {
  const text = raw.trim()
  if (!/^[0-9]+$/.test(text)) return Either.left(`expected a whole number, got "${raw}"`)
  const n = Number(text)
  return n < min || n > max ?
    Either.left(`expected a number from ${min} to ${max}, got ${text}`) :
    Either.right(n)
}

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/** Parses `250ms`, `2s`, `5m`, `1h`, or a bare number of milliseconds. */
export const parseDuration: Parser<Duration.Duration> = (raw) => {
  const match = /^([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|h)?$/.exec(raw.trim())
  if (match === null) {
    return Either.left(`expected a duration such as 500ms, 2s, 5m or 1h, got "${raw}"`)
  }
  return Either.right(Duration.millis(Number(match[1]) * units[match[2] ?? "ms"]))
}

/** Writes a duration in the largest unit that keeps it whole, in a form `parseDuration` reads. */
export const formatDuration = (duration: Duration.Duration): string => {
  const millis = Duration.toMillis(duration)
  for (const unit of ["h", "m", "s"]) {
    if (millis > 0 && millis % units[unit] === 0) return `${millis / units[unit]}${unit}`
  }
  return `${millis}ms`
}

const optionalDuration: Parser<Option.Option<Duration.Duration>> = (raw) =>
  ["", "0", "none", "off"].includes(raw.trim().toLowerCase()) ?
    Either.right(Option.none()) :
    Either.mapBoth(parseDuration(raw), {
      onLeft: (message) => `${message}, or none`,
      onRight: Option.some
    })

const boolean: Parser<boolean> = (raw) => {
  const text = raw.trim().toLowerCase()
  if (["1", "true", "yes", "on"].includes(text)) return Either.right(true)
  if (["0", "false", "no", "off", ""].includes(text)) return Either.right(false)
  return Either.left(`expected true or false, got "${raw}"`)
}

const text: Parser<string> = (raw) =>
  raw.trim() === "" ? Either.left("expected a path, got an empty value") : Either.right(raw.trim())

const levels = LogLevel.allLevels.map((level) => level.label)

const logLevel: Parser<LogLevel.LogLevel> = (raw) => {
  const found = LogLevel.allLevels.find((l) => l.label.toLowerCase() === raw.trim().toLowerCase())
  return found === undefined ?
    Either.left(`expected one of ${levels.join(", ")} (any case), got "${raw}"`) :
    Either.right(found)
}

const unbracket = (host: string): string =>
  host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host

const validHost = (raw: string): boolean => {
  const host = unbracket(raw.trim())
  return host.length > 0 && host.length <= 253 && /^[0-9A-Za-z.:%_-]+$/.test(host)
}

const host: Parser<string> = (raw) =>
  validHost(raw) ?
    Either.right(unbracket(raw.trim())) :
    Either.left(`expected a host name, IPv4 or IPv6 address, got "${raw}"`)

const setting = <K extends keyof Settings>(s: Setting<K>): Setting<K> => s

const durationForm = "duration: 500ms, 2s, 5m, 1h"

/** The fixed settings, in the order `--help` lists them. */
export const settings = [
  setting({
    key: "PORT",
    path: "port",
    field: "port",
    form: "port, 0-65535",
    default: "9000",
    description: "TCP port this peer listens on (0 picks a free one).",
    parse: integer(0, 65535),
    fallback: 9000
  }),
  setting({
    key: "GOSSIP_BIND",
    path: "bind",
    field: "bind",
    form: "host name or IP address",
    default: "all interfaces",
    description: "Address to listen on, e.g. 127.0.0.1 or ::1. Default: IPv6 and IPv4, all " +
      "interfaces.",
    parse: (raw) => Either.map(host(raw), Option.some),
    fallback: Option.none()
  }),
  setting({
    key: "GOSSIP_VALUE_FILE",
    path: "valueFile",
    field: "valueFile",
    form: "path",
    default: "value.txt",
    description: "File holding this peer's integer, relative to the working directory.",
    parse: text,
    fallback: "value.txt"
  }),
  setting({
    key: "GOSSIP_RESULT_FILE",
    path: "resultFile",
    field: "resultFile",
    form: "path",
    default: "result.txt",
    description: "File the proven maximum is written to, atomically and once.",
    parse: text,
    fallback: "result.txt"
  }),
  setting({
    key: "GOSSIP_INTERVAL",
    path: "gossipInterval",
    field: "gossipInterval",
    form: durationForm,
    default: "500ms",
    description: "Round length: how often unacknowledged records are sent again. News is " +
      "pushed at once regardless; lower costs more resends on a slow network.",
    parse: parseDuration,
    fallback: Duration.millis(500)
  }),
  setting({
    key: "GOSSIP_RETRY_MIN",
    path: "retryMin",
    field: "retryMin",
    form: durationForm,
    default: "100ms",
    description: "First delay before dialling an unreachable neighbour again; doubles each " +
      "try, with jitter.",
    parse: parseDuration,
    fallback: Duration.millis(100)
  }),
  setting({
    key: "GOSSIP_RETRY_MAX",
    path: "retryMax",
    field: "retryMax",
    form: durationForm,
    default: "5s",
    description: "Cap on the redial delay. Lower finds late peers sooner at the cost of more " +
      "connection attempts.",
    parse: parseDuration,
    fallback: Duration.seconds(5)
  }),
  setting({
    key: "GOSSIP_LINGER",
    path: "linger",
    field: "linger",
    form: durationForm,
    default: "30s",
    description: "After its result, how long a peer keeps waiting for a neighbour that is " +
      "unreachable and not known complete before leaving without it.",
    parse: parseDuration,
    fallback: Duration.seconds(30)
  }),
  setting({
    key: "GOSSIP_DEADLINE",
    path: "deadline",
    field: "deadline",
    form: `${durationForm}; or none`,
    default: "none",
    description: "Give up after this long without a result: exit 1 naming each missing peer.",
    parse: optionalDuration,
    fallback: Option.none()
  }),
  setting({
    key: "GOSSIP_STAY",
    path: "stay",
    field: "stay",
    form: "true or false",
    default: "false",
    description: "Keep running and serving neighbours after the result, like a daemon, " +
      "until SIGINT/SIGTERM.",
    parse: boolean,
    fallback: false
  }),
  setting({
    key: "GOSSIP_MAX_FRAME",
    path: "maxFrameBytes",
    field: "maxFrameBytes",
    form: "bytes, 1024-268435456",
    default: "1048576",
    description: "Largest message accepted, in bytes; a bigger one drops the connection.",
    parse: integer(1024, 256 * 1024 * 1024),
    fallback: 1024 * 1024
  }),
  setting({
    key: "GOSSIP_LOG_LEVEL",
    path: "logLevel",
    field: "logLevel",
    form: levels.join(", "),
    default: "INFO",
    description: "Least severe log level printed: DEBUG shows each round and retry.",
    parse: logLevel,
    fallback: LogLevel.Info
  })
] as const

/** The variable naming the config file; the `--config FILE` flag takes precedence. */
export const CONFIG_VARIABLE = "GOSSIP_CONFIG"

/** The documentation rows of every setting, the `PEER_*` pairs and the config file included. */
export const docs: ReadonlyArray<SettingDoc> = [
  settings[0],
  {
    key: "PEER_<NAME>_HOST",
    path: "peers.<name>.host",
    form: "host name, IPv4 or IPv6 address",
    default: "none",
    description: "Host of the neighbour NAME (letters, digits, underscores; any case). Any " +
      "number of neighbours; none makes a cluster of one."
  },
  {
    key: "PEER_<NAME>_PORT",
    path: "peers.<name>.port",
    form: "port, 1-65535",
    default: "none",
    description: "Port of the neighbour NAME; required with its host."
  },
  ...settings.slice(1),
  {
    key: CONFIG_VARIABLE,
    path: "",
    form: "path",
    default: "none",
    description: "JSON config file holding any of the settings above by their file keys; " +
      "each variable that is set overrides its key. `--config FILE` overrides this variable."
  }
]

const peerKey = /^PEER_(.+)_(HOST|PORT)$/

/** The JSON path of a variable in a config file: `port`, `peers.b.host`; `""` when none. */
export const pathOf = (key: string): string => {
  const peer = peerKey.exec(key)
  if (peer !== null) return `peers.${peer[1].toLowerCase()}.${peer[2].toLowerCase()}`
  return settings.find((s) => s.key === key)?.path ?? ""
}

const nameIn = (source: Source, key: string): string => source.name?.(key) ?? key

const parsePeers = (source: Source): readonly [ReadonlyArray<Address>, ReadonlyArray<Problem>] => {
  const pairs = new Map<string, { host?: string; port?: string }>()
  for (const [key, raw] of Object.entries(source.values)) {
    const match = peerKey.exec(key)
    if (match === null || raw === undefined) continue
    const entry = pairs.get(match[1]) ?? {}
    if (match[2] === "HOST") entry.host = raw
    else entry.port = raw
    pairs.set(match[1], entry)
  }
  const peers: Array<Address> = []
  const problems: Array<Problem> = []
  for (const name of [...pairs.keys()].sort()) {
    const pair = pairs.get(name)!
    const hostKey = `PEER_${name}_HOST`
    const portKey = `PEER_${name}_PORT`
    const fail = (key: string, message: string) =>
      problems.push({ key: nameIn(source, key), source: source.origin(key), message })
    const missing = (absent: string, present: string, form: string) =>
      Either.left(
        `missing: ${nameIn(source, present)} is set but ${nameIn(source, absent)} is not; ` +
          `expected ${form}`
      )
    const parsedHost = pair.host === undefined ?
      missing(hostKey, portKey, "a host name or IP address") :
      host(pair.host)
    const parsedPort = pair.port === undefined ?
      missing(portKey, hostKey, "a port from 1 to 65535") :
      integer(1, 65535)(pair.port)
    if (Either.isLeft(parsedHost)) fail(hostKey, parsedHost.left)
    if (Either.isLeft(parsedPort)) fail(portKey, parsedPort.left)
    if (Either.isRight(parsedHost) && Either.isRight(parsedPort)) {
      peers.push({ name: name.toLowerCase(), host: parsedHost.right, port: parsedPort.right })
    }
  }
  return [peers, problems]
}

/** Reads every setting from `source`; on failure, lists every problem found. */
export const parse = (source: Source): Either.Either<Settings, ReadonlyArray<Problem>> => {
  const problems: Array<Problem> = []
  const result: Record<string, unknown> = {}
  for (const s of settings) {
    const raw = source.values[s.key]
    if (raw === undefined) {
      result[s.field] = s.fallback
      continue
    }
    const parsed = (s.parse as Parser<unknown>)(raw)
    if (Either.isLeft(parsed)) {
      const message = (s as SettingDoc).secret
        ? parsed.left.replace(raw, "<redacted>")
        : parsed.left
      problems.push({ key: nameIn(source, s.key), source: source.origin(s.key), message })
    } else {
      result[s.field] = parsed.right
    }
  }
  const [peers, peerProblems] = parsePeers(source)
  problems.push(...peerProblems)
  const settled = { ...result, peers } as unknown as Settings
  if (problems.length === 0 && Duration.lessThan(settled.retryMax, settled.retryMin)) {
    problems.push({
      key: nameIn(source, "GOSSIP_RETRY_MAX"),
      source: source.origin("GOSSIP_RETRY_MAX"),
      message: `must not be shorter than ${nameIn(source, "GOSSIP_RETRY_MIN")} ` +
        `(${formatDuration(settled.retryMin)}); expected a longer duration`
    })
  }
  return problems.length > 0 ? Either.left(problems) : Either.right(settled)
}

/** A source over environment variables. */
export const fromEnvironment = (env: Readonly<Record<string, string | undefined>>): Source => ({
  values: env,
  origin: () => "environment"
})

/** A config file read into a source, and the problems of its shape. */
export interface FileSource {
  readonly source: Source
  readonly problems: ReadonlyArray<Problem>
}

const kindOf = (value: unknown): string =>
  value === null ? "null" : Array.isArray(value) ? "an array" : `a ${typeof value}`

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const scalar = (value: unknown): string | undefined => {
  if (typeof value === "string") return value
  return typeof value === "number" || typeof value === "boolean" ? String(value) : undefined
}

const fileExample = `{"port": 9000, "peers": {"b": {"host": "10.0.0.2", "port": 9000}}}`

/** Where JSON.parse stopped, as line and column, when its message says. */
const jsonPosition = (message: string, text: string): string => {
  const at = /at position ([0-9]+)/.exec(message)
  if (at === null) return ""
  const before = text.slice(0, Number(at[1])).split("\n")
  return ` (line ${before.length}, column ${before[before.length - 1].length + 1})`
}

/** Reads the text of a JSON config file named `file`: its keys become variables (`port` is
 * `PORT`, `peers.b.host` is `PEER_B_HOST`); unknown keys and wrong shapes are problems. */
export const fromFile = (file: string, text: string): FileSource => {
  const values: Record<string, string> = {}
  const problems: Array<Problem> = []
  const origin = `file ${file}`
  const fail = (key: string, message: string) => problems.push({ key, source: origin, message })
  const source: Source = { values, origin: () => origin, name: pathOf }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error)
    problems.push({
      key: file,
      source: "config file",
      message: `not valid JSON: ${detail}${jsonPosition(detail, text)}`
    })
    return { source, problems }
  }
  if (!isObject(json)) {
    problems.push({
      key: file,
      source: "config file",
      message: `expected a JSON object such as ${fileExample}, got ${kindOf(json)}`
    })
    return { source, problems }
  }
  const known = settings.map((s) => s.path)
  for (const [key, value] of Object.entries(json)) {
    const s = settings.find((candidate) => candidate.path === key)
    if (key === "peers") {
      readPeers(value, values, fail)
    } else if (s === undefined) {
      fail(key, `unknown setting; expected one of peers, ${known.join(", ")}`)
    } else if (scalar(value) === undefined) {
      fail(key, `expected ${s.form}, got ${kindOf(value)}`)
    } else {
      values[s.key] = scalar(value)!
    }
  }
  return { source, problems }
}

const peerName = /^[A-Za-z0-9_]+$/

const readPeers = (
  value: unknown,
  values: Record<string, string>,
  fail: (key: string, message: string) => void
) => {
  if (!isObject(value)) {
    fail(
      "peers",
      `expected an object of neighbours by name, such as ` +
        `{"b": {"host": "10.0.0.2", "port": 9000}}, got ${kindOf(value)}`
    )
    return
  }
  const seen = new Map<string, string>()
  for (const [name, peer] of Object.entries(value)) {
    const path = `peers.${name}`
    const upper = name.toUpperCase()
    if (!peerName.test(name)) {
      fail(path, "expected a neighbour name of letters, digits and underscores")
      continue
    }
    if (seen.has(upper)) {
      fail(path, `the same neighbour as peers.${seen.get(upper)} (names ignore case)`)
      continue
    }
    seen.set(upper, name)
    if (!isObject(peer) || (!("host" in peer) && !("port" in peer))) {
      const got = isObject(peer) ? "neither host nor port" : kindOf(peer)
      fail(path, `expected {"host": "...", "port": 9000}, got ${got}`)
      continue
    }
    for (const [field, raw] of Object.entries(peer)) {
      if (field !== "host" && field !== "port") {
        fail(`${path}.${field}`, "unknown key; expected host or port")
      } else if (scalar(raw) === undefined) {
        fail(
          `${path}.${field}`,
          `expected ${field === "host" ? "a host" : "a port"}, ` +
            `got ${kindOf(raw)}`
        )
      } else {
        values[`PEER_${upper}_${field.toUpperCase()}`] = scalar(raw)!
      }
    }
  }
}

const siblingOf = (key: string): string | undefined => {
  const match = peerKey.exec(key)
  if (match === null) return undefined
  return `PEER_${match[1]}_${match[2] === "HOST" ? "PORT" : "HOST"}`
}

/** `top` over `base`, key by key: a variable set in `top` hides the same key in `base`. */
export const overlay = (top: Source, base: Source): Source => {
  const values: Record<string, string | undefined> = { ...base.values }
  for (const [key, value] of Object.entries(top.values)) {
    if (value !== undefined) values[key] = value
  }
  const has = (source: Source, key: string | undefined) =>
    key !== undefined && source.values[key] !== undefined
  const owner = (key: string): Source => {
    if (has(top, key)) return top
    if (has(base, key)) return base
    return has(top, siblingOf(key)) || !has(base, siblingOf(key)) ? top : base
  }
  return {
    values,
    origin: (key) => owner(key).origin(key),
    name: (key) => nameIn(owner(key), key)
  }
}

/** One line per problem: `PORT (environment): expected a whole number, got "x"`. */
export const formatProblem = (problem: Problem): string =>
  `${problem.key} (${problem.source}): ${problem.message}`

/** Shows a setting's value: durations in their unit, secrets as `<redacted>`. */
export const showValue = (value: unknown): string => {
  if (Redacted.isRedacted(value)) return "<redacted>"
  if (Duration.isDuration(value)) return formatDuration(value)
  const level = LogLevel.allLevels.find((l) => l === value)
  if (level !== undefined) return level.label
  if (Option.isOption(value)) return Option.isSome(value) ? showValue(value.value) : "none"
  return String(value)
}

/** One resolved setting: its variable, value, and where the value came from. */
export interface Row {
  readonly key: string
  readonly value: string
  readonly from: string
}

/** The resolved settings, each with its origin (`default` when unset), for `gossip-max config`. */
export const rows = (resolved: Settings, source: Source): ReadonlyArray<Row> => {
  const from = (key: string) => {
    if (source.values[key] === undefined) return "default"
    const name = nameIn(source, key)
    return name === key ? source.origin(key) : `${source.origin(key)} at ${name}`
  }
  const fixed = settings.map((s) => {
    const value: unknown = resolved[s.field]
    return {
      key: s.key,
      value: Option.isOption(value) && Option.isNone(value) ? s.default : showValue(value),
      from: from(s.key)
    }
  })
  const keyOf = (wanted: string) =>
    Object.keys(source.values).find((key) => key.toUpperCase() === wanted) ?? wanted
  const peers = resolved.peers.map((peer) => {
    const hostKey = keyOf(`PEER_${peer.name.toUpperCase()}_HOST`)
    const portKey = keyOf(`PEER_${peer.name.toUpperCase()}_PORT`)
    const name = nameIn(source, hostKey).replace(/\.host$/, "")
    const both = name === hostKey ? source.origin(hostKey) : `${source.origin(hostKey)} at ${name}`
    return {
      key: `PEER_${peer.name.toUpperCase()}`,
      value: `${peer.host.includes(":") ? `[${peer.host}]` : peer.host}:${peer.port}`,
      from: source.origin(hostKey) === source.origin(portKey) ?
        both :
        `${from(hostKey)}; ${from(portKey)}`
    }
  })
  return [fixed[0], ...peers, ...fixed.slice(1)]
}

/** The resolved settings in the config file's shape; reading it back gives the same settings.
 * Unset optional settings are left out; secrets are `<redacted>`. */
export const toJson = (resolved: Settings): Record<string, unknown> => {
  const json: Record<string, unknown> = {}
  for (const s of settings) {
    const value: unknown = resolved[s.field]
    if (Option.isOption(value) && Option.isNone(value) && s.default !== "none") continue
    json[s.path] = typeof value === "number" || typeof value === "boolean" ?
      value :
      showValue(value)
    if (s.key === "PORT") {
      json.peers = Object.fromEntries(
        resolved.peers.map((peer) => [peer.name, { host: peer.host, port: peer.port }])
      )
    }
  }
  return json
}

const rawPeer = Config.all({
  host: Config.option(Config.string("host")),
  port: Config.option(Config.string("port"))
})

/** The settings read through Effect `Config`, keyed as in the config file (`port`,
 * `peers.<name>.host`, `gossipInterval`...); nest them with `Config.nested`. Every problem is
 * reported in one `InvalidData` error. */
export const config: Config.Config<Settings> = Config.all({
  fixed: Config.all(settings.map((s) => Config.option(Config.string(s.path)))),
  peers: Config.hashMap(rawPeer, "peers")
}).pipe(
  Config.mapOrFail(({ fixed, peers }) => {
    const values: Record<string, string | undefined> = {}
    settings.forEach((s, i) => values[s.key] = Option.getOrUndefined(fixed[i]))
    for (const [name, peer] of HashMap.toEntries(peers)) {
      values[`PEER_${name.toUpperCase()}_HOST`] = Option.getOrUndefined(peer.host)
      values[`PEER_${name.toUpperCase()}_PORT`] = Option.getOrUndefined(peer.port)
    }
    return Either.mapLeft(
      parse({ values, origin: () => "config", name: pathOf }),
      (problems) => ConfigError.InvalidData([], problems.map(formatProblem).join("; "))
    )
  })
)
