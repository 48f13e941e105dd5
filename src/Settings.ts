/**
 * Every setting of a peer, defined once: its variable, type, unit, default and description.
 * The `--help` text and the README's settings table are generated from `settings`; `parse`
 * reads a flat source (the environment, or a config file flattened to the same names) and
 * reports every problem at once.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import type { Address } from "./Transport.js"

/** The resolved settings of one peer. */
export interface Settings {
  readonly port: number
  readonly bind: Option.Option<string>
  readonly peers: ReadonlyArray<Address>
  readonly valueFile: string
  readonly resultFile: string
  readonly gossipInterval: Duration.Duration
  readonly retryMin: Duration.Duration
  readonly retryMax: Duration.Duration
  readonly linger: Duration.Duration
  readonly deadline: Option.Option<Duration.Duration>
  readonly stay: boolean
  readonly maxFrameBytes: number
  readonly logLevel: LogLevel.LogLevel
}

/** One bad setting: where it came from and what was wrong. */
export interface Problem {
  /** The variable (or `PEER_<NAME>` pair) at fault. */
  readonly key: string
  /** Where the value was read: `environment`, or a file and JSON path. */
  readonly source: string
  readonly message: string
}

/** A flat map of setting names to raw strings, and where each came from. */
export interface Source {
  readonly values: Readonly<Record<string, string | undefined>>
  readonly origin: (key: string) => string
}

/** Describes one setting for help texts and docs. */
export interface SettingDoc {
  readonly key: string
  readonly default: string
  readonly description: string
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

const optionalDuration: Parser<Option.Option<Duration.Duration>> = (raw) =>
  ["", "0", "none", "off"].includes(raw.trim().toLowerCase()) ?
    Either.right(Option.none()) :
    Either.map(parseDuration(raw), Option.some)

const boolean: Parser<boolean> = (raw) => {
  const text = raw.trim().toLowerCase()
  if (["1", "true", "yes", "on"].includes(text)) return Either.right(true)
  if (["0", "false", "no", "off", ""].includes(text)) return Either.right(false)
  return Either.left(`expected true or false, got "${raw}"`)
}

const text: Parser<string> = (raw) =>
  raw.trim() === "" ? Either.left("must not be empty") : Either.right(raw.trim())

const logLevel: Parser<LogLevel.LogLevel> = (raw) => {
  const found = LogLevel.allLevels.find((l) => l.label.toLowerCase() === raw.trim().toLowerCase())
  return found === undefined ?
    Either.left(`expected one of ${LogLevel.allLevels.map((l) => l.label).join(", ")}`) :
    Either.right(found)
}

const setting = <K extends keyof Settings>(s: Setting<K>): Setting<K> => s

/** The fixed settings, in the order `--help` lists them. */
export const settings = [
  setting({
    key: "PORT",
    field: "port",
    default: "9000",
    description: "TCP port this peer listens on (0 picks a free one).",
    parse: integer(0, 65535),
    fallback: 9000
  }),
  setting({
    key: "GOSSIP_BIND",
    field: "bind",
    default: "all interfaces",
    description: "Address to listen on, e.g. 127.0.0.1 or ::1. Default: IPv6 and IPv4, all " +
      "interfaces.",
    parse: (raw) => Either.map(text(raw), Option.some),
    fallback: Option.none()
  }),
  setting({
    key: "GOSSIP_VALUE_FILE",
    field: "valueFile",
    default: "value.txt",
    description: "File holding this peer's integer, relative to the working directory.",
    parse: text,
    fallback: "value.txt"
  }),
  setting({
    key: "GOSSIP_RESULT_FILE",
    field: "resultFile",
    default: "result.txt",
    description: "File the proven maximum is written to, atomically and once.",
    parse: text,
    fallback: "result.txt"
  }),
  setting({
    key: "GOSSIP_INTERVAL",
    field: "gossipInterval",
    default: "500ms",
    description: "Round length: how often unacknowledged records are sent again. News is " +
      "pushed at once regardless; lower costs more resends on a slow network.",
    parse: parseDuration,
    fallback: Duration.millis(500)
  }),
  setting({
    key: "GOSSIP_RETRY_MIN",
    field: "retryMin",
    default: "100ms",
    description: "First delay before dialling an unreachable neighbour again; doubles each " +
      "try, with jitter.",
    parse: parseDuration,
    fallback: Duration.millis(100)
  }),
  setting({
    key: "GOSSIP_RETRY_MAX",
    field: "retryMax",
    default: "5s",
    description: "Cap on the redial delay. Lower finds late peers sooner at the cost of more " +
      "connection attempts.",
    parse: parseDuration,
    fallback: Duration.seconds(5)
  }),
  setting({
    key: "GOSSIP_LINGER",
    field: "linger",
    default: "30s",
    description: "After its result, how long a peer keeps waiting for a neighbour that is " +
      "unreachable and not known complete before leaving without it.",
    parse: parseDuration,
    fallback: Duration.seconds(30)
  }),
  setting({
    key: "GOSSIP_DEADLINE",
    field: "deadline",
    default: "none",
    description: "Give up after this long without a result: exit 1 naming each missing peer.",
    parse: optionalDuration,
    fallback: Option.none()
  }),
  setting({
    key: "GOSSIP_STAY",
    field: "stay",
    default: "false",
    description: "Keep running and serving neighbours after the result, like a daemon, " +
      "until SIGINT/SIGTERM.",
    parse: boolean,
    fallback: false
  }),
  setting({
    key: "GOSSIP_MAX_FRAME",
    field: "maxFrameBytes",
    default: "1048576",
    description: "Largest message accepted, in bytes; a bigger one drops the connection.",
    parse: integer(1024, 256 * 1024 * 1024),
    fallback: 1024 * 1024
  }),
  setting({
    key: "GOSSIP_LOG_LEVEL",
    field: "logLevel",
    default: "Info",
    description: "Least severe log level printed: Debug shows each round and retry.",
    parse: logLevel,
    fallback: LogLevel.Info
  })
] as const

/** The documentation rows of every setting, the `PEER_*` pairs included. */
export const docs: ReadonlyArray<SettingDoc> = [
  settings[0],
  {
    key: "PEER_<NAME>_HOST",
    default: "none",
    description: "Host (name, IPv4 or IPv6 literal) of the neighbour NAME. Any number of pairs; " +
      "none makes a cluster of one."
  },
  {
    key: "PEER_<NAME>_PORT",
    default: "none",
    description: "Port of the neighbour NAME; required with its host."
  },
  ...settings.slice(1)
]

const peerKey = /^PEER_(.+)_(HOST|PORT)$/

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
    const { host, port } = pairs.get(name)!
    const key = `PEER_${name}`
    const fail = (field: string, message: string) =>
      problems.push({ key: `${key}_${field}`, source: source.origin(`${key}_${field}`), message })
    if (host === undefined) fail("HOST", `missing: ${key}_PORT is set but ${key}_HOST is not`)
    else if (!validHost(host)) fail("HOST", `expected a host name or IP address, got "${host}"`)
    const parsedPort = port === undefined ?
      Either.left(`missing: ${key}_HOST is set but ${key}_PORT is not`) :
      integer(1, 65535)(port)
    if (Either.isLeft(parsedPort)) fail("PORT", parsedPort.left)
    if (host !== undefined && validHost(host) && Either.isRight(parsedPort)) {
      peers.push({ name: name.toLowerCase(), host: unbracket(host.trim()), port: parsedPort.right })
    }
  }
  return [peers, problems]
}

const unbracket = (host: string): string =>
  host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host

const validHost = (raw: string): boolean => {
  const host = unbracket(raw.trim())
  return host.length > 0 && host.length <= 253 && /^[0-9A-Za-z.:%_-]+$/.test(host)
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
      problems.push({ key: s.key, source: source.origin(s.key), message: parsed.left })
    } else {
      result[s.field] = parsed.right
    }
  }
  const [peers, peerProblems] = parsePeers(source)
  problems.push(...peerProblems)
  const settled = { ...result, peers } as unknown as Settings
  if (problems.length === 0 && Duration.lessThan(settled.retryMax, settled.retryMin)) {
    problems.push({
      key: "GOSSIP_RETRY_MAX",
      source: source.origin("GOSSIP_RETRY_MAX"),
      message: "must not be shorter than GOSSIP_RETRY_MIN"
    })
  }
  return problems.length > 0 ? Either.left(problems) : Either.right(settled)
}

/** A source over environment variables. */
export const fromEnvironment = (env: Readonly<Record<string, string | undefined>>): Source => ({
  values: env,
  origin: () => "environment"
})

/** One line per problem: `PORT (environment): expected a whole number, got "x"`. */
export const formatProblem = (problem: Problem): string =>
  `${problem.key} (${problem.source}): ${problem.message}`
