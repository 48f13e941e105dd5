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

/** Reads one raw value; `nameOf` spells another variable as the source does (`PORT`, `port`). */
type Parser<A> = (raw: string, nameOf: (key: string) => string) => Either.Either<A, string>

interface Setting<K extends keyof Settings> extends SettingDoc {
  readonly field: K
  readonly parse: Parser<Settings[K]>
  readonly fallback: Settings[K]
}

const LONG = 40

/** A raw value as a problem shows it: JSON-quoted, so control characters are escaped, and cut
 * after 40 characters. */
const quote = (raw: string): string =>
  raw.length <= LONG ?
    JSON.stringify(raw) :
    `${JSON.stringify(raw.slice(0, LONG))}... (${raw.length} characters)`

const integer = (min: number, max: number): Parser<number> => (raw) => {
  const text = raw.trim()
  if (!/^[0-9]+$/.test(text)) return Either.left(`expected a whole number, got ${quote(raw)}`)
  const n = Number(text)
  return n < min || n > max ?
    Either.left(
      `expected a number from ${min} to ${max}, got ${text.length <= LONG ? text : quote(text)}`
    ) :
    Either.right(n)
}

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

const readDuration = (raw: string): Duration.Duration | undefined => {
  const match = /^([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|h)?$/.exec(raw.trim())
  return match === null ? undefined : Duration.millis(Number(match[1]) * units[match[2] ?? "ms"])
}

/** Parses `250ms`, `2s`, `5m`, `1h`, or a bare number of milliseconds. */
export const parseDuration = (raw: string): Either.Either<Duration.Duration, string> => {
  const duration = readDuration(raw)
  return duration === undefined ?
    Either.left(`expected a duration such as 500ms, 2s, 5m or 1h, got ${quote(raw)}`) :
    Either.right(duration)
}

/** Writes a duration in the largest unit that keeps it whole, in a form `parseDuration` reads. */
export const formatDuration = (duration: Duration.Duration): string => {
  const millis = Duration.toMillis(duration)
  for (const unit of ["h", "m", "s"]) {
    if (millis > 0 && millis % units[unit] === 0) return `${millis / units[unit]}${unit}`
  }
  return `${millis}ms`
}

/** A duration no shorter than `min`: a shorter round or redial delay only burns CPU and
 * floods the neighbours. */
const durationFrom = (min: Duration.Duration): Parser<Duration.Duration> => (raw) =>
  Either.flatMap(parseDuration(raw), (duration) =>
    Duration.lessThan(duration, min) ?
      Either.left(`expected a duration of at least ${formatDuration(min)}, got ${quote(raw)}`) :
      Either.right(duration))

const MIN_PERIOD = Duration.millis(10)

const optionalDuration: Parser<Option.Option<Duration.Duration>> = (raw) => {
  if (["", "0", "none", "off"].includes(raw.trim().toLowerCase())) {
    return Either.right(Option.none())
  }
  const duration = readDuration(raw)
  return duration === undefined || Duration.isZero(duration) ?
    Either.left(`expected none or a duration above 0 such as 10m or 1h, got ${quote(raw)}`) :
    Either.right(Option.some(duration))
}

const boolean: Parser<boolean> = (raw) => {
  const text = raw.trim().toLowerCase()
  if (["1", "true", "yes", "on"].includes(text)) return Either.right(true)
  if (["0", "false", "no", "off", ""].includes(text)) return Either.right(false)
  return Either.left(`expected true or false, got ${quote(raw)}`)
}

const text: Parser<string> = (raw) => {
  if (raw.trim() === "") return Either.left("expected a path, got an empty value")
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u001f\u007f]/.test(raw) ?
    Either.left(`expected a path without control characters, got ${quote(raw)}`) :
    Either.right(raw.trim())
}

const levels = LogLevel.allLevels.map((level) => level.label)

const logLevel: Parser<LogLevel.LogLevel> = (raw) => {
  const found = LogLevel.allLevels.find((l) => l.label.toLowerCase() === raw.trim().toLowerCase())
  return found === undefined ?
    Either.left(`expected one of ${levels.join(", ")} (any case), got ${quote(raw)}`) :
    Either.right(found)
}

/** Four numbers from 0 to 255, without leading zeros (which some resolvers read as octal). */
const isIPv4 = (text: string): boolean => {
  const parts = text.split(".")
  return parts.length === 4 && parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && +p <= 255)
}

/** Eight groups of 1-4 hex digits, `::` standing for a run of zero groups, the last two groups
 * optionally written as an IPv4 address, and an optional `%zone`. */
const isIPv6 = (text: string): boolean => {
  const [address, ...zone] = text.split("%")
  if (zone.length > 1 || (zone.length === 1 && !/^[0-9A-Za-z_.-]+$/.test(zone[0]))) return false
  const halves = address.split("::")
  if (halves.length > 2) return false
  const groups = halves.flatMap((half) => (half === "" ? [] : half.split(":")))
  const last = groups[groups.length - 1] ?? ""
  const embedded = last.includes(".")
  if (embedded && (address.endsWith(":") || !isIPv4(last))) return false
  const hex = embedded ? groups.slice(0, -1) : groups
  if (!hex.every((group) => /^[0-9A-Fa-f]{1,4}$/.test(group))) return false
  const count = hex.length + (embedded ? 2 : 0)
  return halves.length === 2 ? count <= 7 : count === 8
}

// underscores are not valid in DNS names but common in container and hosts-file names
const hostLabel = /^[0-9A-Za-z_](?:[0-9A-Za-z_-]{0,61}[0-9A-Za-z_])?$/

/** A host name, IPv4 or IPv6 address (bracketed or not), checked without resolving it; a port
 * written into it is pointed to `portKey`. */
const host = (portKey: string): Parser<string> => (raw, nameOf) => {
  const given = raw.trim()
  const bracketed = given.startsWith("[") && given.endsWith("]")
  const address = bracketed ? given.slice(1, -1) : given
  if (given === "") {
    return Either.left("expected a host name, IPv4 or IPv6 address, got an empty value")
  }
  if (/^(\[[^\]]*\]|[^:[\]]*):[0-9]+$/.test(given)) {
    return Either.left(
      `expected a host without a port, got ${quote(raw)}; the port goes in ${nameOf(portKey)}`
    )
  }
  if (bracketed || address.includes(":")) {
    return isIPv6(address) ?
      Either.right(address) :
      Either.left(`expected an IPv6 address such as fd00::3 or [::1], got ${quote(raw)}`)
  }
  if (/^[0-9.]+$/.test(address)) {
    return isIPv4(address) ?
      Either.right(address) :
      Either.left(`expected an IPv4 address of four numbers from 0 to 255, got ${quote(raw)}`)
  }
  if (address.length > 253) {
    return Either.left(`expected a host name of at most 253 characters, got ${address.length}`)
  }
  return address.split(".").every((label) => hostLabel.test(label)) ?
    Either.right(address) :
    Either.left(
      "expected a host name, IPv4 or IPv6 address; a host name is dot-separated labels of " +
        `1 to 63 letters, digits, underscores and hyphens, not starting or ending with -, ` +
        `got ${quote(raw)}`
    )
}

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
    parse: (raw, nameOf) => Either.map(host("PORT")(raw, nameOf), Option.some),
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
    description: "Round length: how often unacknowledged records are sent again; at least " +
      "10ms. News is pushed at once regardless; lower costs more resends on a slow network.",
    parse: durationFrom(MIN_PERIOD),
    fallback: Duration.millis(500)
  }),
  setting({
    key: "GOSSIP_RETRY_MIN",
    path: "retryMin",
    field: "retryMin",
    form: durationForm,
    default: "100ms",
    description: "First delay before dialling an unreachable neighbour again; doubles each " +
      "try, with jitter. At least 10ms.",
    parse: durationFrom(MIN_PERIOD),
    fallback: Duration.millis(100)
  }),
  setting({
    key: "GOSSIP_RETRY_MAX",
    path: "retryMax",
    field: "retryMax",
    form: durationForm,
    default: "5s",
    description: "Cap on the redial delay; at least 10ms and GOSSIP_RETRY_MIN. Lower finds " +
      "late peers sooner at the cost of more connection attempts.",
    parse: durationFrom(MIN_PERIOD),
    fallback: Duration.seconds(5)
  }),
  setting({
    key: "GOSSIP_LINGER",
    path: "linger",
    field: "linger",
    form: durationForm,
    default: "30s",
    description: "After its result, how long a peer keeps waiting for a neighbour that is " +
      "unreachable and not known complete before leaving without it; 0 or more (0 leaves " +
      "without waiting).",
    parse: parseDuration,
    fallback: Duration.seconds(30)
  }),
  setting({
    key: "GOSSIP_DEADLINE",
    path: "deadline",
    field: "deadline",
    form: `${durationForm}; or none`,
    default: "none",
    description: "Give up after this long without a result (above 0): exit 1 naming each " +
      "missing peer. none, off or 0 never gives up.",
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
    description: "Host of the neighbour NAME (letters, digits and underscores, no underscore " +
      "first or last; any case), without its port; a host name is dot-separated labels of " +
      "letters, digits, underscores and hyphens. Any number of neighbours; none makes a " +
      "cluster of one. " +
      "Any other variable starting with PEER_ is a problem."
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

/** A neighbour's name: letters, digits and underscores, no underscore first or last. */
const nameForm = "[A-Za-z0-9](?:[A-Za-z0-9_]*[A-Za-z0-9])?"

const peerName = new RegExp(`^${nameForm}$`)

const peerVariable = new RegExp(`^PEER_(${nameForm})_(HOST|PORT)$`)

const peerNameForm = "letters, digits and underscores, with no underscore first or last"

/** The JSON path of a variable in a config file: `port`, `peers.b.host`; `""` when none. */
export const pathOf = (key: string): string => {
  const peer = peerKey.exec(key)
  if (peer !== null) return `peers.${peer[1].toLowerCase()}.${peer[2].toLowerCase()}`
  return settings.find((s) => s.key === key)?.path ?? ""
}

const nameIn = (source: Source, key: string): string => source.name?.(key) ?? key

const problemIn = (source: Source, key: string, message: string): Problem => ({
  key: nameIn(source, key),
  source: source.origin(key),
  message
})

/** The `PEER_*` variables by neighbour (upper case), each field under the variable that set it;
 * a misspelt variable or one neighbour set twice, in two cases, is a problem. */
const groupPeers = (source: Source, problems: Array<Problem>) => {
  const pairs = new Map<string, { HOST?: string; PORT?: string }>()
  for (const [key, raw] of Object.entries(source.values)) {
    if (raw === undefined || !key.startsWith("PEER_")) continue
    const match = peerVariable.exec(key)
    if (match === null) {
      // a typo here would silently make a cluster of one that writes its own value
      problems.push(problemIn(
        source,
        key,
        nameIn(source, key) === key ?
          `expected PEER_<NAME>_HOST or PEER_<NAME>_PORT; NAME uses ${peerNameForm}` :
          `expected a neighbour name of ${peerNameForm}`
      ))
      continue
    }
    const name = match[1].toUpperCase()
    const field = match[2] as "HOST" | "PORT"
    const entry = pairs.get(name) ?? {}
    const earlier = entry[field]
    if (earlier === undefined) {
      entry[field] = key
      pairs.set(name, entry)
    } else {
      problems.push(problemIn(
        source,
        key,
        `the same neighbour as ${nameIn(source, earlier)} (names ignore case); expected one`
      ))
    }
  }
  return pairs
}

const parsePeers = (source: Source): readonly [ReadonlyArray<Address>, ReadonlyArray<Problem>] => {
  const problems: Array<Problem> = []
  const pairs = groupPeers(source, problems)
  const peers: Array<Address> = []
  const nameOf = (key: string) => nameIn(source, key)
  for (const name of [...pairs.keys()].sort()) {
    const pair = pairs.get(name)!
    const hostKey = pair.HOST ?? siblingOf(pair.PORT!)!
    const portKey = pair.PORT ?? siblingOf(pair.HOST!)!
    const missing = (absent: string, present: string, form: string) =>
      Either.left(
        `missing: ${nameOf(present)} is set but ${nameOf(absent)} is not; expected ${form}`
      )
    const parsedHost = pair.HOST === undefined ?
      missing(hostKey, portKey, "a host name or IP address") :
      host(portKey)(source.values[hostKey]!, nameOf)
    const parsedPort = pair.PORT === undefined ?
      missing(portKey, hostKey, "a port from 1 to 65535") :
      integer(1, 65535)(source.values[portKey]!, nameOf)
    if (Either.isLeft(parsedHost)) problems.push(problemIn(source, hostKey, parsedHost.left))
    if (Either.isLeft(parsedPort)) problems.push(problemIn(source, portKey, parsedPort.left))
    if (Either.isRight(parsedHost) && Either.isRight(parsedPort)) {
      peers.push({ name: name.toLowerCase(), host: parsedHost.right, port: parsedPort.right })
    }
  }
  return [peers, problems]
}

/** Hides a secret's raw value in a problem: everything from "got" on. */
const redact = (message: string, raw: string): string => {
  const at = message.indexOf("got ")
  if (at !== -1) return `${message.slice(0, at)}got <redacted>`
  return raw === "" ? message : message.split(raw).join("<redacted>")
}

/** Reads every setting from `source`; on failure, lists every problem found. */
export const parse = (source: Source): Either.Either<Settings, ReadonlyArray<Problem>> => {
  const problems: Array<Problem> = []
  const result: Record<string, unknown> = {}
  const nameOf = (key: string) => nameIn(source, key)
  for (const s of settings) {
    const raw = source.values[s.key]
    if (raw === undefined) {
      result[s.field] = s.fallback
      continue
    }
    const parsed = (s.parse as Parser<unknown>)(raw, nameOf)
    if (Either.isLeft(parsed)) {
      const message = (s as SettingDoc).secret ? redact(parsed.left, raw) : parsed.left
      problems.push(problemIn(source, s.key, message))
    } else {
      result[s.field] = parsed.right
    }
  }
  const [peers, peerProblems] = parsePeers(source)
  problems.push(...peerProblems)
  const { retryMax, retryMin } = result as Partial<Settings>
  if (retryMin !== undefined && retryMax !== undefined && Duration.lessThan(retryMax, retryMin)) {
    // blame the one that was set: a retry min above the default max is the min's problem
    problems.push(
      source.values["GOSSIP_RETRY_MAX"] === undefined ?
        problemIn(
          source,
          "GOSSIP_RETRY_MIN",
          `expected a duration of at most ${nameOf("GOSSIP_RETRY_MAX")} ` +
            `(${formatDuration(retryMax)} by default), got ${formatDuration(retryMin)}`
        ) :
        problemIn(
          source,
          "GOSSIP_RETRY_MAX",
          `expected a duration of at least ${nameOf("GOSSIP_RETRY_MIN")} ` +
            `(${formatDuration(retryMin)}), got ${formatDuration(retryMax)}`
        )
    )
  }
  return problems.length > 0 ?
    Either.left(problems) :
    Either.right({ ...result, peers } as unknown as Settings)
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
      fail(path, `expected a neighbour name of ${peerNameForm}`)
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
    if (value === undefined) continue
    values[key] = value
    // neighbour names ignore case: PEER_b_HOST replaces the file's peers.b.host (PEER_B_HOST)
    if (!peerKey.test(key)) continue
    for (const other of Object.keys(base.values)) {
      const same = other !== key && other.toUpperCase() === key.toUpperCase()
      if (same && top.values[other] === undefined) delete values[other]
    }
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
