import { assert, describe, it } from "@effect/vitest"
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as fc from "fast-check"
import * as PeerConfig from "../src/PeerConfig.js"
import * as Settings from "../src/Settings.js"

const fromEnv = (env: Record<string, string>) => Settings.parse(Settings.fromEnvironment(env))

const settled = (result: Either.Either<Settings.Settings, ReadonlyArray<Settings.Problem>>) => {
  if (Either.isLeft(result)) assert.fail(result.left.map(Settings.formatProblem).join("\n"))
  return result.right
}

const problems = (result: Either.Either<Settings.Settings, ReadonlyArray<Settings.Problem>>) =>
  Either.isLeft(result) ? result.left.map(Settings.formatProblem) : []

/** The environment over a config file, as the command merges them. */
const merged = (env: Record<string, string>, file: unknown, name = "cluster.json") => {
  const read = Settings.fromFile(name, typeof file === "string" ? file : JSON.stringify(file))
  const source = Settings.overlay(Settings.fromEnvironment(env), read.source)
  return { read, source, result: Settings.parse(source) }
}

describe("Settings", () => {
  it("reads every setting of the environment contract", () => {
    const settings = settled(fromEnv({
      PORT: "9100",
      GOSSIP_BIND: "[::1]",
      PEER_EDGE_EU_1_HOST: "[fd00::3]",
      PEER_EDGE_EU_1_PORT: "9001",
      PEER_B_HOST: "b.internal",
      PEER_B_PORT: "9002",
      GOSSIP_INTERVAL: "250ms",
      GOSSIP_DEADLINE: "2m",
      GOSSIP_STAY: "yes",
      GOSSIP_LOG_LEVEL: "debug"
    }))
    assert.strictEqual(settings.port, 9100)
    assert.deepStrictEqual(settings.bind, Option.some("::1"))
    assert.deepStrictEqual(settings.peers, [
      { name: "b", host: "b.internal", port: 9002 },
      { name: "edge_eu_1", host: "fd00::3", port: 9001 }
    ])
    assert.strictEqual(Duration.toMillis(settings.gossipInterval), 250)
    assert.deepStrictEqual(Option.map(settings.deadline, Duration.toMillis), Option.some(120_000))
    assert.isTrue(settings.stay)
    assert.strictEqual(settings.logLevel, LogLevel.Debug)
  })

  it("an empty environment gives the documented defaults", () => {
    const settings = settled(fromEnv({}))
    for (const setting of Settings.settings) {
      const value: unknown = settings[setting.field]
      const shown = Option.isOption(value) && Option.isNone(value) ?
        setting.default :
        Settings.showValue(value)
      assert.strictEqual(shown, setting.default, setting.key)
    }
    assert.deepStrictEqual(settings.peers, [])
  })

  it("lists every bad variable at once, each with the form expected", () => {
    const found = problems(fromEnv({
      PORT: "x",
      GOSSIP_INTERVAL: "fast",
      GOSSIP_STAY: "maybe",
      PEER_B_HOST: "10.0.0.2",
      PEER_C_PORT: "70000"
    }))
    assert.deepStrictEqual(found, [
      `PORT (environment): expected a whole number, got "x"`,
      `GOSSIP_INTERVAL (environment): expected a duration such as 500ms, 2s, 5m or 1h, got "fast"`,
      `GOSSIP_STAY (environment): expected true or false, got "maybe"`,
      "PEER_B_PORT (environment): missing: PEER_B_HOST is set but PEER_B_PORT is not; " +
      "expected a port from 1 to 65535",
      "PEER_C_HOST (environment): missing: PEER_C_PORT is set but PEER_C_HOST is not; " +
      "expected a host name or IP address",
      "PEER_C_PORT (environment): expected a number from 1 to 65535, got 70000"
    ])
  })

  it("reads a config file's keys as the variables they stand for", () => {
    const { read, result } = merged({}, {
      port: 9100,
      peers: { edge_eu_1: { host: "10.0.0.2", port: 9000 }, b: { host: "fd00::3", port: "9001" } },
      gossipInterval: "2s",
      stay: true,
      maxFrameBytes: 4096
    })
    assert.deepStrictEqual(read.problems, [])
    const settings = settled(result)
    assert.strictEqual(settings.port, 9100)
    assert.deepStrictEqual(settings.peers.map((p) => `${p.name} ${p.host} ${p.port}`), [
      "b fd00::3 9001",
      "edge_eu_1 10.0.0.2 9000"
    ])
    assert.strictEqual(Duration.toMillis(settings.gossipInterval), 2000)
    assert.isTrue(settings.stay)
    assert.strictEqual(settings.maxFrameBytes, 4096)
  })

  it("the environment overrides the config file one setting at a time", () => {
    const { result, source } = merged(
      { PORT: "9200", PEER_B_PORT: "9300", PEER_C_HOST: "10.0.0.3", PEER_C_PORT: "9000" },
      { port: 9100, gossipInterval: "2s", peers: { b: { host: "10.0.0.2", port: 9000 } } }
    )
    const settings = settled(result)
    assert.strictEqual(settings.port, 9200)
    assert.strictEqual(Duration.toMillis(settings.gossipInterval), 2000)
    assert.deepStrictEqual(settings.peers.map((p) => `${p.name} ${p.host}:${p.port}`), [
      "b 10.0.0.2:9300",
      "c 10.0.0.3:9000"
    ])
    const from = Object.fromEntries(Settings.rows(settings, source).map((r) => [r.key, r.from]))
    assert.strictEqual(from.PORT, "environment")
    assert.strictEqual(from.GOSSIP_INTERVAL, "file cluster.json at gossipInterval")
    assert.strictEqual(from.PEER_B, "file cluster.json at peers.b.host; environment")
    assert.strictEqual(from.PEER_C, "environment")
    assert.strictEqual(from.GOSSIP_LINGER, "default")
  })

  it("names the file and JSON path of every problem in a config file", () => {
    const { read, result } = merged({}, {
      port: "x",
      gossipIntrval: "1s",
      stay: [true],
      peers: { b: { host: "h o", prt: 1 }, c: 3, "d-e": {}, B: {}, e: {} }
    }, "bad.json")
    assert.deepStrictEqual([...read.problems.map(Settings.formatProblem), ...problems(result)], [
      "gossipIntrval (file bad.json): unknown setting; expected one of peers, port, bind, " +
      "valueFile, resultFile, gossipInterval, retryMin, retryMax, linger, deadline, stay, " +
      "maxFrameBytes, logLevel",
      "stay (file bad.json): expected true or false, got an array",
      "peers.b.prt (file bad.json): unknown key; expected host or port",
      `peers.c (file bad.json): expected {"host": "...", "port": 9000}, got a number`,
      "peers.d-e (file bad.json): expected a neighbour name of letters, digits and underscores",
      "peers.B (file bad.json): the same neighbour as peers.b (names ignore case)",
      `peers.e (file bad.json): expected {"host": "...", "port": 9000}, got neither host nor port`,
      `port (file bad.json): expected a whole number, got "x"`,
      `peers.b.host (file bad.json): expected a host name, IPv4 or IPv6 address, got "h o"`,
      "peers.b.port (file bad.json): missing: peers.b.host is set but peers.b.port is not; " +
      "expected a port from 1 to 65535"
    ])
  })

  it("a file that is not JSON is reported with its line and column", () => {
    const { problems: found } = Settings.fromFile("c.json", `{\n  "port": 9000,\n}`)
    assert.strictEqual(found.length, 1)
    // the parser's own words vary with the Node version; the place does not
    assert.match(
      Settings.formatProblem(found[0]),
      /^c\.json \(config file\): not valid JSON: .* \(line 3, column 1\)$/
    )
    const array = Settings.fromFile("c.json", "[]").problems
    assert.match(
      Settings.formatProblem(array[0]),
      /^c\.json \(config file\): expected a JSON object/
    )
  })

  it("the resolved settings written as JSON read back as the same settings", () => {
    const duration = fc.integer({ min: 1, max: 10_000_000 })
    fc.assert(fc.property(
      fc.record({
        PORT: fc.integer({ min: 0, max: 65535 }).map(String),
        GOSSIP_INTERVAL: duration.map((ms) => `${ms}ms`),
        GOSSIP_DEADLINE: fc.option(duration, { nil: undefined }).map((ms) => `${ms ?? "none"}`),
        GOSSIP_STAY: fc.boolean().map(String),
        GOSSIP_LOG_LEVEL: fc.constantFrom(...LogLevel.allLevels.map((l) => l.label)),
        PEER_X_1_HOST: fc.constantFrom("10.0.0.2", "::1", "host.example"),
        PEER_X_1_PORT: fc.integer({ min: 1, max: 65535 }).map(String)
      }),
      (env) => {
        const first = settled(fromEnv(env))
        const read = Settings.fromFile("round.json", JSON.stringify(Settings.toJson(first)))
        assert.deepStrictEqual(read.problems, [])
        const again = settled(Settings.parse(read.source))
        assert.deepStrictEqual(Settings.toJson(again), Settings.toJson(first))
        assert.deepStrictEqual(again.peers, first.peers)
      }
    ))
  })

  it("shows secrets as <redacted> and durations in their unit", () => {
    assert.strictEqual(Settings.showValue(Redacted.make("hunter2")), "<redacted>")
    assert.strictEqual(Settings.showValue(Option.some(Redacted.make("hunter2"))), "<redacted>")
    assert.strictEqual(Settings.showValue(Duration.seconds(90)), "90s")
    assert.strictEqual(Settings.showValue(Duration.minutes(120)), "2h")
    assert.strictEqual(Settings.showValue(Duration.millis(1500)), "1500ms")
  })

  it.effect("Effect Config reads the config file's keys, nested anywhere", () =>
    Effect.gen(function*() {
      const provider = ConfigProvider.fromJson({
        app: { gossip: { peers: { b: { host: "10.0.0.2", port: 9000 } }, linger: "1m" } }
      })
      const config = yield* Effect.withConfigProvider(
        Config.nested(Config.nested(PeerConfig.config, "gossip"), "app"),
        provider
      )
      assert.deepStrictEqual(config.neighbours, [{ name: "b", host: "10.0.0.2", port: 9000 }])
      assert.strictEqual(Duration.toMillis(config.linger), 60_000)
      assert.strictEqual(Duration.toMillis(config.gossipInterval), 500)
    }))

  it.effect("Effect Config reports every problem in one error", () =>
    Effect.gen(function*() {
      const provider = ConfigProvider.fromJson({ port: "x", peers: { b: { host: "10.0.0.2" } } })
      const result = yield* Effect.either(Effect.withConfigProvider(Settings.config, provider))
      assert.isTrue(Either.isLeft(result))
      const message = Either.isLeft(result) ? String(result.left) : ""
      assert.include(message, `port (config): expected a whole number, got "x"`)
      assert.include(message, "peers.b.port (config): missing: peers.b.host is set")
    }))
})
