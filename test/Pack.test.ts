/**
 * The package as a user gets it: `npm pack` of a copy of this repository (its `prepare` script
 * builds the command bundle and the library), installed from the tarball into a fresh project
 * outside the repository, a copy of `examples/embed`. There the example type-checks against
 * the published declarations and runs, and the installed `gossip-max` command answers.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Command from "@effect/platform/Command"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"

interface Outcome {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

const text = <E>(stream: Stream.Stream<Uint8Array, E>) =>
  stream.pipe(Stream.decodeText(), Stream.mkString)

/** Runs a program to its end in `cwd`, keeping its exit code and both outputs. */
const run = (cwd: string, command: string, ...args: Array<string>) =>
  Effect.scoped(Effect.gen(function*() {
    const process = yield* Command.make(command, ...args).pipe(
      Command.workingDirectory(cwd),
      Command.env({ npm_config_update_notifier: "false", npm_config_fund: "false" }),
      Command.start
    )
    const [stdout, stderr, code] = yield* Effect.all(
      [text(process.stdout), text(process.stderr), process.exitCode],
      { concurrency: "unbounded" }
    )
    return { code, stdout, stderr } satisfies Outcome
  }))

/** Runs a program that must succeed; otherwise fails with everything it printed. */
const succeed = (cwd: string, command: string, ...args: Array<string>) =>
  Effect.flatMap(run(cwd, command, ...args), (outcome) =>
    outcome.code === 0 ?
      Effect.succeed(outcome) :
      Effect.dieMessage(
        `${command} ${args.join(" ")} exited ${outcome.code}\n${outcome.stdout}\n${outcome.stderr}`
      ))

/** Entries of the repository not needed to pack it; dot entries (`.git`...) are skipped too. */
const skipped = new Set(["node_modules", "dist", "examples"])

/** Packs a copy of the repository (so the repository's own `dist` is left alone). */
const pack = (root: string, work: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const stage = path.join(work, "stage")
    const out = path.join(work, "out")
    yield* fs.makeDirectory(stage)
    yield* fs.makeDirectory(out)
    for (const entry of yield* fs.readDirectory(root)) {
      if (skipped.has(entry) || entry.startsWith(".") || entry.endsWith(".tgz")) continue
      yield* fs.copy(path.join(root, entry), path.join(stage, entry))
    }
    yield* fs.symlink(path.join(root, "node_modules"), path.join(stage, "node_modules"))
    yield* succeed(stage, "npm", "pack", "--pack-destination", out, "--loglevel=error")
    const [tarball] = yield* fs.readDirectory(out)
    assert.match(tarball, /^gossip-max-.*\.tgz$/)
    return path.join(out, tarball)
  })

/** A fresh project outside the repository: the example, with the tarball installed. */
const consumer = (root: string, work: string, tarball: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const project = path.join(work, "consumer")
    yield* fs.copy(path.join(root, "examples", "embed"), project)
    for (const generated of ["node_modules", "dist", "package-lock.json"]) {
      yield* fs.remove(path.join(project, generated), { recursive: true, force: true })
    }
    // the versions this repository is locked to, which a fresh `npm ci` has already cached
    const own = JSON.parse(yield* fs.readFileString(path.join(root, "package.json")))
    const pinned = [
      "effect",
      "@effect/platform",
      "@effect/platform-node",
      "@types/node",
      "typescript"
    ]
      .map((name) => `${name}@${own.devDependencies[name]}`)
    yield* succeed(
      project,
      "npm",
      "install",
      "--prefer-offline",
      "--no-audit",
      "--no-fund",
      "--no-package-lock",
      "--loglevel=error",
      tarball,
      ...pinned
    )
    return project
  })

const root = new URL("..", import.meta.url).pathname

describe("Pack", () => {
  it.scoped(
    "the packed tarball installs into a fresh project, type-checks, embeds and runs",
    () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const path = yield* Path.Path
        const work = yield* fs.makeTempDirectoryScoped({ prefix: "gossip-max-pack-" })
        assert.isTrue(path.relative(root, work).startsWith(".."), "works outside the repository")
        const tarball = yield* pack(root, work)
        const project = yield* consumer(root, work, tarball)

        yield* succeed(project, "node", "node_modules/typescript/bin/tsc", "-p", ".")
        const memory = yield* succeed(project, "node", "dist/three-peers.js")
        assert.include(memory.stdout, "all three peers proved the maximum: 42")
        const tcp = yield* succeed(project, "node", "dist/tcp-peer.js")
        assert.include(tcp.stdout, "cluster of one over TCP proved 7")

        const deep = yield* run(project, "node", "-e", "import('gossip-max/dist/Peer.js')")
        assert.notStrictEqual(deep.code, 0)
        assert.include(deep.stderr, "ERR_PACKAGE_PATH_NOT_EXPORTED")

        const bin = path.join(project, "node_modules", ".bin", "gossip-max")
        const help = yield* succeed(project, bin, "--help")
        assert.include(help.stdout, "GOSSIP_CONFIG")
        assert.isTrue(help.stdout.split("\n").every((line) => line.length <= 100))

        const config = yield* succeed(project, bin, "config", "--config", "cluster.json")
        assert.match(config.stdout, /PEER_EDGE_EU_1 +10\.0\.0\.2:9000 +file cluster\.json/)
        assert.match(config.stdout, /value +42 +value\.txt/)

        yield* fs.writeFileString(
          path.join(project, "bad.json"),
          JSON.stringify({ port: 9000, peers: { b: { host: "10.0.0.2", port: 70000 } } })
        )
        const bad = yield* run(project, bin, "config", "--config", "bad.json")
        assert.strictEqual(bad.code, 2)
        assert.include(bad.stderr, "peers.b.port (file bad.json): expected a number from 1")
      }).pipe(Effect.provide(NodeContext.layer)),
    180_000
  )
})
