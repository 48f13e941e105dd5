import * as NodeContext from "@effect/platform-node/NodeContext"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { assert, describe, it } from "@effect/vitest"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Cli from "../src/Cli.js"
import * as Settings from "../src/Settings.js"

/** Runs the command in-process, keeping what it prints. */
const command = (argv: ReadonlyArray<string>, env: Record<string, string>) =>
  Effect.gen(function*() {
    const out: Array<string> = []
    const err: Array<string> = []
    const code = yield* Console.consoleWith((current) =>
      Effect.withConsole(Cli.main(argv, env), {
        ...current,
        log: (...args) => Effect.sync(() => void out.push(args.join(" "))),
        error: (...args) => Effect.sync(() => void err.push(args.join(" ")))
      })
    )
    return { code, stdout: out.join("\n"), stderr: err.join("\n") }
  })

/** A working directory with a value file and a config file, and the variables naming them. */
const deployment = (value: string, config: unknown) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const dir = yield* fs.makeTempDirectoryScoped({ prefix: "gossip-max-cli-" })
    yield* fs.writeFileString(path.join(dir, "value.txt"), value)
    yield* fs.writeFileString(path.join(dir, "cluster.json"), JSON.stringify(config))
    return {
      dir,
      file: path.join(dir, "cluster.json"),
      env: {
        GOSSIP_VALUE_FILE: path.join(dir, "value.txt"),
        GOSSIP_RESULT_FILE: path.join(dir, "result.txt"),
        GOSSIP_LOG_LEVEL: "OFF"
      }
    }
  })

describe("Cli", () => {
  it("reads the subcommand and its flags", () => {
    const none = Option.none()
    assert.deepStrictEqual(Cli.parseArgs([]), Either.right({ _tag: "Run", configFile: none }))
    assert.deepStrictEqual(
      Cli.parseArgs(["--config", "c.json"]),
      Either.right({ _tag: "Run", configFile: Option.some("c.json") })
    )
    assert.deepStrictEqual(
      Cli.parseArgs(["config", "--config=c.json", "--json"]),
      Either.right({ _tag: "Config", configFile: Option.some("c.json"), json: true })
    )
    assert.deepStrictEqual(Cli.parseArgs(["config", "-h"]), Either.right({ _tag: "Help" }))
    assert.deepStrictEqual(Cli.parseArgs(["--config"]), Either.left("--config needs a file name"))
    assert.deepStrictEqual(Cli.parseArgs(["--json"]), Either.left(`unknown argument "--json"`))
    assert.deepStrictEqual(Cli.parseArgs(["start"]), Either.left(`unknown argument "start"`))
  })

  it("rejects anything beside --help or --version, and a flag given twice", () => {
    const fails = (argv: ReadonlyArray<string>, message: string) =>
      assert.deepStrictEqual(Cli.parseArgs(argv), Either.left(message), argv.join(" "))
    fails(["--help", "extra"], "--help takes no other argument")
    fails(["extra", "--help"], `unknown argument "extra"`)
    fails(["--version", "-h"], "--version takes no other argument")
    fails(["--config", "c.json", "--help"], "--help takes no other argument")
    fails(["config", "--version"], "--version takes no other argument")
    fails(["--config", "a.json", "--config=b.json"], "--config is given twice")
    fails(["config", "--json", "--json"], "--json is given twice")
    fails(["--config", "--json"], "--config needs a file name")
    fails(["--config="], "--config needs a file name")
    assert.deepStrictEqual(Cli.parseArgs(["--help"]), Either.right({ _tag: "Help" }))
    assert.deepStrictEqual(Cli.parseArgs(["-v"]), Either.right({ _tag: "Version" }))
  })

  it.effect("--help with an extra argument exits 2, prints no help and points to --help", () =>
    Effect.gen(function*() {
      const { code, stderr, stdout } = yield* command(["--help", "extra"], {})
      assert.strictEqual(code, 2)
      assert.strictEqual(stdout, "")
      assert.strictEqual(
        stderr,
        "gossip-max: --help takes no other argument; see gossip-max --help"
      )
    }).pipe(Effect.provide(NodeContext.layer)))

  it("the help text lists every setting and fits in 100 columns", () => {
    const help = Cli.helpText()
    for (const doc of Settings.docs) {
      assert.include(help, doc.key)
      if (doc.path !== "") assert.include(help, `(file: ${doc.path})`)
    }
    const widest = Math.max(...help.split("\n").map((line) => line.length))
    assert.isAtMost(widest, 100)
    // both spellings of the flag work, so both are documented
    assert.match(help, /^ {2}--config FILE, --config=FILE +\S/m)
    for (const argv of [["--config", "c.json"], ["--config=c.json"]]) {
      assert.deepStrictEqual(
        Cli.parseArgs(argv),
        Either.right({ _tag: "Run", configFile: Option.some("c.json") })
      )
    }
  })

  it("wraps words into lines of the width asked", () => {
    assert.deepStrictEqual(Cli.wrap("aa bb cc dd", 8, 2), ["  aa bb", "  cc dd"])
    assert.deepStrictEqual(Cli.wrap("a-very-long-word x", 5), ["a-very-long-word", "x"])
  })

  it.scoped("config prints each resolved setting with its origin and exits 0", () =>
    Effect.gen(function*() {
      const { env, file } = yield* deployment("123456789012345678901234567890\n", {
        port: 9100,
        peers: { edge_eu_1: { host: "10.0.0.2", port: 9000 } },
        deadline: "10m"
      })
      const { code, stderr, stdout } = yield* command(["config", "--config", file], {
        ...env,
        GOSSIP_INTERVAL: "250ms"
      })
      assert.strictEqual(code, 0, stderr)
      assert.match(stdout, /PORT +9100 +file .*cluster\.json at port/)
      assert.match(
        stdout,
        /PEER_EDGE_EU_1 +10\.0\.0\.2:9000 +file .*cluster\.json at peers\.edge_eu_1/
      )
      assert.match(stdout, /GOSSIP_INTERVAL +250ms +environment/)
      assert.match(stdout, /GOSSIP_LINGER +30s +default/)
      assert.match(stdout, /value +123456789012345678901234567890 /)
      assert.include(stdout, "The configuration is valid.")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("config keeps a long value apart from the file it came from", () =>
    Effect.gen(function*() {
      const { env } = yield* deployment("7".repeat(400), {})
      const { code, stderr, stdout } = yield* command(["config"], {
        ...env,
        PEER_B_HOST: `${"h".repeat(60)}.invalid`,
        PEER_B_PORT: "9000"
      })
      assert.strictEqual(code, 0, stderr)
      const value = `${"7".repeat(24)}...${"7".repeat(12)} (400 digits)`
      assert.include(stdout, `  ${"value".padEnd(20)}${value}  ${env.GOSSIP_VALUE_FILE}\n`)
      assert.include(
        stdout,
        `  ${"PEER_B".padEnd(20)}${"h".repeat(60)}.invalid:9000  environment`
      )
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("a value file's control characters are shown escaped, on one line", () =>
    Effect.gen(function*() {
      const { env } = yield* deployment("12\n\u000034\u001b[2J", {})
      const { code, stderr } = yield* command(["config"], env)
      assert.strictEqual(code, 2)
      assert.deepStrictEqual(stderr.split("\n"), [
        "gossip-max: the configuration has problems:",
        `  - ${env.GOSSIP_VALUE_FILE}: expected one integer such as 42 or -7 (digits with an ` +
        `optional leading -), found "12\\n\\u000034\\u001b[2J"`
      ])
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("a result file that would overwrite the value, or has no folder, is a problem", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const { dir, env, file } = yield* deployment("5", {})
      yield* fs.symlink(dir, `${dir}/link`)
      const reported = (resultFile: string) =>
        Effect.map(command(["config"], { ...env, GOSSIP_RESULT_FILE: resultFile }), (run) => {
          assert.strictEqual(run.code, 2, resultFile)
          assert.strictEqual(run.stdout, "")
          return run.stderr.split("\n").slice(1).join("\n")
        })
      const sameAsValue = "(environment): names the value file (GOSSIP_VALUE_FILE, " +
        `${dir}/value.txt), which the result would overwrite; expected another file`
      assert.strictEqual(
        yield* reported(`${dir}/nowhere/r.txt`),
        `  - GOSSIP_RESULT_FILE (environment): the folder ${dir}/nowhere does not exist; ` +
          "expected a file in an existing folder"
      )
      assert.strictEqual(
        yield* reported(`${dir}/value.txt/r.txt`),
        `  - GOSSIP_RESULT_FILE (environment): ${dir}/value.txt is not a folder; expected a file ` +
          "in an existing folder"
      )
      assert.strictEqual(
        yield* reported(dir),
        `  - GOSSIP_RESULT_FILE (environment): ${dir} is a folder; expected a file name`
      )
      for (
        const same of [`${dir}/value.txt`, `${dir}/./sub/../value.txt`, `${dir}/link/value.txt`]
      ) {
        assert.strictEqual(yield* reported(same), `  - GOSSIP_RESULT_FILE ${sameAsValue}`)
      }
      // in a config file, beside other problems, and at start-up too; nothing is written
      yield* fs.writeFileString(file, JSON.stringify({ resultFile: `${dir}/value.txt` }))
      const { GOSSIP_RESULT_FILE: _, ...rest } = env
      const start = yield* command(["--config", file], { ...rest, PORT: "x" })
      assert.strictEqual(start.code, 2)
      assert.deepStrictEqual(
        start.stderr.split("\n").map((line) => line.replace(file, "cluster.json")),
        [
          "gossip-max: cannot start, the configuration has problems:",
          `  - PORT (environment): expected a whole number, got "x"`,
          `  - resultFile (file cluster.json): names the value file (GOSSIP_VALUE_FILE, ` +
          `${dir}/value.txt), which the result would overwrite; expected another file`
        ]
      )
      assert.strictEqual(yield* fs.readFileString(`${dir}/value.txt`), "5")
      assert.deepStrictEqual((yield* fs.readDirectory(dir)).sort(), [
        "cluster.json",
        "link",
        "value.txt"
      ])
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("config --json prints the settings in the config file's shape", () =>
    Effect.gen(function*() {
      const { env } = yield* deployment("7", {})
      const { code, stdout } = yield* command(["config", "--json"], {
        ...env,
        PEER_B_HOST: "::1",
        PEER_B_PORT: "9001",
        GOSSIP_STAY: "true"
      })
      assert.strictEqual(code, 0)
      const json = JSON.parse(stdout)
      assert.deepStrictEqual(json.peers, { b: { host: "::1", port: 9001 } })
      assert.strictEqual(json.stay, true)
      assert.strictEqual(json.logLevel, "OFF")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("config lists every problem, from every source, and exits 2", () =>
    Effect.gen(function*() {
      const { env, file } = yield* deployment("12.5", {
        peers: { b: { host: "10.0.0.2", port: 70000 } },
        linger: "soon"
      })
      const { code, stderr, stdout } = yield* command(["config"], {
        ...env,
        GOSSIP_CONFIG: file,
        PORT: "http"
      })
      assert.strictEqual(code, 2)
      assert.strictEqual(stdout, "")
      const lines = stderr.split("\n")
      assert.strictEqual(lines[0], "gossip-max: the configuration has problems:")
      assert.deepStrictEqual(
        lines.slice(1).map((line) => line.replace(/ \(file .*cluster\.json\)/, " (file)")),
        [
          `  - PORT (environment): expected a whole number, got "http"`,
          `  - linger (file): expected a duration such as 500ms, 2s, 5m or 1h, got "soon"`,
          "  - peers.b.port (file): expected a number from 1 to 65535, got 70000",
          `  - ${env.GOSSIP_VALUE_FILE}: expected one integer such as 42 or -7 (digits with an ` +
          `optional leading -), found "12.5"`
        ]
      )
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("an unreadable config file is named with the variable that named it", () =>
    Effect.gen(function*() {
      const { dir, env } = yield* deployment("1", {})
      const missing = `${dir}/nowhere.json`
      const viaVariable = yield* command([], { ...env, GOSSIP_CONFIG: missing, PORT: "x" })
      assert.strictEqual(viaVariable.code, 2)
      assert.include(
        viaVariable.stderr,
        `GOSSIP_CONFIG (environment): cannot read ${missing} (file not found); ` +
          "expected a readable JSON file"
      )
      assert.include(viaVariable.stderr, "PORT (environment)")
      const viaFlag = yield* command(["config", "--config", missing], env)
      assert.include(viaFlag.stderr, `--config (argument): cannot read ${missing}`)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("runs a cluster of one over TCP from a config file and writes its result", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const { env, file } = yield* deployment("-42", { port: 0, bind: "127.0.0.1" })
      const { code, stderr } = yield* command(["--config", file], env)
      assert.strictEqual(code, 0, stderr)
      assert.strictEqual(yield* fs.readFileString(env.GOSSIP_RESULT_FILE), "-42")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("an unknown argument exits 2 and points to --help", () =>
    Effect.gen(function*() {
      const { code, stderr } = yield* command(["--verbose"], {})
      assert.strictEqual(code, 2)
      assert.strictEqual(stderr, `gossip-max: unknown argument "--verbose"; see gossip-max --help`)
    }).pipe(Effect.provide(NodeContext.layer)))
})
