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
import * as net from "node:net"
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
      peers: { b: { host: "h o", prt: 1 }, c: 3, "d-e": {}, B: {}, e: {}, _f: {} }
    }, "bad.json")
    assert.deepStrictEqual([...read.problems.map(Settings.formatProblem), ...problems(result)], [
      "gossipIntrval (file bad.json): unknown setting; expected one of peers, port, bind, " +
      "valueFile, resultFile, gossipInterval, retryMin, retryMax, linger, deadline, stay, " +
      "maxFrameBytes, logLevel",
      "stay (file bad.json): expected true or false, got an array",
      "peers.b.prt (file bad.json): unknown key; expected host or port",
      `peers.c (file bad.json): expected {"host": "...", "port": 9000}, got a number`,
      "peers.d-e (file bad.json): expected a neighbour name of letters, digits and underscores, " +
      "with no underscore first or last",
      "peers.B (file bad.json): the same neighbour as peers.b (names ignore case)",
      `peers.e (file bad.json): expected {"host": "...", "port": 9000}, got neither host nor port`,
      "peers._f (file bad.json): expected a neighbour name of letters, digits and underscores, " +
      "with no underscore first or last",
      `port (file bad.json): expected a whole number, got "x"`,
      "peers.b.host (file bad.json): expected a host name, IPv4 or IPv6 address; a host name is " +
      "dot-separated labels of 1 to 63 letters, digits, underscores and hyphens, not starting or ending with " +
      `-, got "h o"`,
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
    const duration = fc.integer({ min: 10, max: 10_000_000 })
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

  it("rejects rounds and redial delays under 10ms, naming the variable and the least value", () => {
    assert.deepStrictEqual(
      problems(fromEnv({
        GOSSIP_INTERVAL: "0",
        GOSSIP_RETRY_MIN: "9ms",
        GOSSIP_RETRY_MAX: "0.5ms",
        GOSSIP_LINGER: "0",
        GOSSIP_DEADLINE: "0s"
      })),
      [
        `GOSSIP_INTERVAL (environment): expected a duration of at least 10ms, got "0"`,
        `GOSSIP_RETRY_MIN (environment): expected a duration of at least 10ms, got "9ms"`,
        `GOSSIP_RETRY_MAX (environment): expected a duration of at least 10ms, got "0.5ms"`,
        `GOSSIP_DEADLINE (environment): expected none or a duration above 0 such as 10m or 1h, ` +
        `got "0s"`
      ]
    )
    const least = settled(fromEnv({
      GOSSIP_INTERVAL: "10ms",
      GOSSIP_RETRY_MIN: "10ms",
      GOSSIP_RETRY_MAX: "10ms",
      GOSSIP_LINGER: "0",
      GOSSIP_DEADLINE: "1ms"
    }))
    assert.strictEqual(Duration.toMillis(least.gossipInterval), 10)
    assert.strictEqual(Duration.toMillis(least.linger), 0)
    assert.deepStrictEqual(Option.map(least.deadline, Duration.toMillis), Option.some(1))
    const { result } = merged({}, { gossipInterval: "1ms" })
    assert.deepStrictEqual(problems(result), [
      `gossipInterval (file cluster.json): expected a duration of at least 10ms, got "1ms"`
    ])
  })

  it("a retry max shorter than the retry min is reported beside other problems", () => {
    assert.deepStrictEqual(
      problems(fromEnv({ PORT: "x", GOSSIP_RETRY_MIN: "2s", GOSSIP_RETRY_MAX: "500ms" })),
      [
        `PORT (environment): expected a whole number, got "x"`,
        "GOSSIP_RETRY_MAX (environment): expected a duration of at least GOSSIP_RETRY_MIN (2s), " +
        "got 500ms"
      ]
    )
    const { result } = merged({}, { retryMin: "2s", retryMax: "1s" })
    assert.deepStrictEqual(problems(result), [
      "retryMax (file cluster.json): expected a duration of at least retryMin (2s), got 1s"
    ])
    assert.deepStrictEqual(problems(fromEnv({ GOSSIP_RETRY_MIN: "10s" })), [
      "GOSSIP_RETRY_MIN (environment): expected a duration of at most GOSSIP_RETRY_MAX " +
      "(5s by default), got 10s"
    ])
  })

  it("a bad deadline offers none as the alternative; none, off and 0 mean no deadline", () => {
    assert.deepStrictEqual(problems(fromEnv({ GOSSIP_DEADLINE: "-1s" })), [
      `GOSSIP_DEADLINE (environment): expected none or a duration above 0 such as 10m or 1h, ` +
      `got "-1s"`
    ])
    for (const none of ["none", "off", "0", "NONE", ""]) {
      assert.deepStrictEqual(settled(fromEnv({ GOSSIP_DEADLINE: none })).deadline, Option.none())
    }
  })

  it("documents each duration's least value in its description", () => {
    const described = (key: string) => Settings.docs.find((doc) => doc.key === key)!.description
    assert.include(described("GOSSIP_INTERVAL"), "at least 10ms")
    assert.include(described("GOSSIP_RETRY_MIN"), "At least 10ms")
    assert.include(described("GOSSIP_RETRY_MAX"), "at least 10ms and GOSSIP_RETRY_MIN")
    assert.include(described("GOSSIP_LINGER"), "0 or more")
    assert.include(described("GOSSIP_DEADLINE"), "above 0")
  })

  it("rejects a host holding a port, a bad IPv4 or IPv6 address, or a malformed name", () => {
    const hostProblem = (host: string) =>
      problems(fromEnv({ PEER_B_HOST: host, PEER_B_PORT: "9000" })).join("\n")
    const withPort = (host: string) =>
      `expected a host without a port, got "${host}"; the port goes in PEER_B_PORT`
    const ipv4 = (host: string) =>
      `expected an IPv4 address of four numbers from 0 to 255, got "${host}"`
    const ipv6 = (host: string) =>
      `expected an IPv6 address such as fd00::3 or [::1], got "${host}"`
    const name = (shown: string) =>
      "expected a host name, IPv4 or IPv6 address; a host name is dot-separated labels of 1 to " +
      `63 letters, digits, underscores and hyphens, not starting or ending with -, got ${shown}`
    const cases: Array<readonly [string, string]> = [
      ["127.0.0.1:9000", withPort("127.0.0.1:9000")],
      ["[::1]:9000", withPort("[::1]:9000")],
      ["b.invalid:80", withPort("b.invalid:80")],
      ["999.1.1.1", ipv4("999.1.1.1")],
      ["1.2.3", ipv4("1.2.3")],
      ["010.0.0.1", ipv4("010.0.0.1")],
      ["fd00:::3", ipv6("fd00:::3")],
      ["1:2:3:4:5:6:7:8:9", ipv6("1:2:3:4:5:6:7:8:9")],
      ["[b.invalid]", ipv6("[b.invalid]")],
      ["-bad", name(`"-bad"`)],
      ["bad-.invalid", name(`"bad-.invalid"`)],
      ["a..b", name(`"a..b"`)],
      ["b.invalid.", name(`"b.invalid."`)],
      ["bad space", name(`"bad space"`)],
      [`${"a".repeat(64)}.invalid`, name(`"${"a".repeat(40)}"... (72 characters)`)],
      [`${"a.".repeat(127)}a`, "expected a host name of at most 253 characters, got 255"]
    ]
    for (const [host, message] of cases) {
      assert.strictEqual(hostProblem(host), `PEER_B_HOST (environment): ${message}`, host)
    }
    assert.deepStrictEqual(problems(fromEnv({ GOSSIP_BIND: "127.0.0.1:9000" })), [
      `GOSSIP_BIND (environment): expected a host without a port, got "127.0.0.1:9000"; ` +
      "the port goes in PORT"
    ])
    const { result } = merged({}, { peers: { b: { host: "10.0.0.2:9000", port: 9000 } } })
    assert.deepStrictEqual(problems(result), [
      `peers.b.host (file cluster.json): expected a host without a port, got "10.0.0.2:9000"; ` +
      "the port goes in peers.b.port"
    ])
  })

  it("accepts host names, IPv4 and IPv6 addresses, bracketed or with a zone", () => {
    const hosts = [
      ["localhost", "localhost"],
      ["b.invalid", "b.invalid"],
      ["gossip_peer_1", "gossip_peer_1"],
      ["xn--bcher-kva.invalid", "xn--bcher-kva.invalid"],
      ["0.0.0.0", "0.0.0.0"],
      ["255.255.255.255", "255.255.255.255"],
      ["::", "::"],
      ["[::1]", "::1"],
      ["fd00::3", "fd00::3"],
      ["::ffff:10.0.0.2", "::ffff:10.0.0.2"],
      ["fe80::1%eth0", "fe80::1%eth0"],
      ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"],
      [`${"a".repeat(63)}.invalid`, `${"a".repeat(63)}.invalid`]
    ]
    for (const [host, read] of hosts) {
      const settings = settled(fromEnv({ PEER_B_HOST: host, PEER_B_PORT: "9000" }))
      assert.strictEqual(settings.peers[0].host, read, host)
    }
  })

  it("reads IPv4 and IPv6 literals as node:net does", () => {
    const accepted = (host: string) =>
      Either.isRight(fromEnv({ PEER_B_HOST: host, PEER_B_PORT: "9000" }))
    fc.assert(fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (ip) => accepted(ip)))
    // near-misses: strings of the characters addresses are made of
    const ipLike = fc.string({ unit: fc.constantFrom(..."0123456789abcdef:."), maxLength: 24 })
      .filter((text) => text.includes(":") || /^[0-9.]+$/.test(text))
      .filter((text) => !/^[^:]*:[0-9]+$/.test(text)) // host:port, a problem of its own
    fc.assert(fc.property(ipLike, (text) => accepted(text) === (net.isIP(text) !== 0)), {
      numRuns: 5000
    })
  })

  it("reports every PEER_ variable that is not PEER_<NAME>_HOST or PEER_<NAME>_PORT", () => {
    const expected = "expected PEER_<NAME>_HOST or PEER_<NAME>_PORT; NAME uses letters, digits " +
      "and underscores, with no underscore first or last"
    const typos = [
      "PEER_HOST",
      "PEER_PORT",
      "PEER__HOST",
      "PEER__B_HOST",
      "PEER_B__PORT",
      "PEER_B_HOTS",
      "PEER_B_host",
      "PEER_B-1_HOST",
      "PEER_\u00c9_HOST"
    ]
    const found = problems(fromEnv({
      ...Object.fromEntries(typos.map((key) => [key, "10.0.0.2"])),
      PEER_C_HOST: "10.0.0.3",
      PEER_C_PORT: "9000",
      PEER_SELF_ID: "x",
      HOME: "/root"
    }))
    assert.deepStrictEqual(found, [
      ...typos.map((key) => `${key} (environment): ${expected}`),
      `PEER_SELF_ID (environment): ${expected}`
    ])
    // a typo no longer turns a neighbour into a cluster of one
    assert.deepStrictEqual(problems(fromEnv({ PEER_B_HOTS: "10.0.0.2", PEER_B_PORT: "9000" })), [
      `PEER_B_HOTS (environment): ${expected}`,
      "PEER_B_HOST (environment): missing: PEER_B_PORT is set but PEER_B_HOST is not; " +
      "expected a host name or IP address"
    ])
  })

  it("a neighbour set in two cases is reported; the environment overrides it in any case", () => {
    assert.deepStrictEqual(
      problems(fromEnv({
        PEER_b_HOST: "10.0.0.2",
        PEER_b_PORT: "9000",
        PEER_B_HOST: "10.0.0.3",
        PEER_B_PORT: "9000"
      })),
      [
        "PEER_B_HOST (environment): the same neighbour as PEER_b_HOST (names ignore case); " +
        "expected one",
        "PEER_B_PORT (environment): the same neighbour as PEER_b_PORT (names ignore case); " +
        "expected one"
      ]
    )
    const { result } = merged(
      { PEER_b_HOST: "10.0.0.3" },
      { peers: { b: { host: "10.0.0.2", port: 9000 } } }
    )
    assert.deepStrictEqual(settled(result).peers, [{ name: "b", host: "10.0.0.3", port: 9000 }])
  })

  it("shows a bad value with its control characters escaped, and cuts a long one", () => {
    assert.deepStrictEqual(
      problems(
        fromEnv({ PORT: "90\n00", GOSSIP_STAY: "yes\u0000\u001b[2J", GOSSIP_RESULT_FILE: "r\n" })
      ),
      [
        `PORT (environment): expected a whole number, got "90\\n00"`,
        "GOSSIP_RESULT_FILE (environment): expected a path without control characters, " +
        `got "r\\n"`,
        `GOSSIP_STAY (environment): expected true or false, got "yes\\u0000\\u001b[2J"`
      ]
    )
    assert.deepStrictEqual(problems(fromEnv({ GOSSIP_INTERVAL: "x".repeat(400) })), [
      `GOSSIP_INTERVAL (environment): expected a duration such as 500ms, 2s, 5m or 1h, ` +
      `got "${"x".repeat(40)}"... (400 characters)`
    ])
    assert.deepStrictEqual(problems(fromEnv({ PORT: "9".repeat(400) })), [
      `PORT (environment): expected a number from 0 to 65535, got "${"9".repeat(40)}"... ` +
      "(400 characters)"
    ])
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
