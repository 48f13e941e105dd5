import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { spawn } from "node:child_process"
import * as Net from "node:net"
import * as Os from "node:os"
import { LineSplitter } from "../src/internal/lines.js"
import * as NodeTransport from "../src/NodeTransport.js"
import type { Connection, TransportError } from "../src/Transport.js"

const hasIpv6Loopback = Object.values(Os.networkInterfaces())
  .flat()
  .some((info) => info?.address === "::1")

const portOf = (bound: string): number => Number(bound.slice(bound.lastIndexOf(":") + 1))

const address = (host: string, port: number) => ({ name: "test", host, port })

/** What a listener saw on one inbound connection. */
interface Inbound {
  readonly connection: Connection
  readonly frames: Queue.Queue<string>
  /** How its frame stream ended: success when the remote closed it. */
  readonly ended: Queue.Queue<Exit.Exit<void, TransportError>>
}

/** Listens with a handler that replies `echo:<frame>` to every frame and records what it saw. */
const echoServer = (options: NodeTransport.TcpOptions) =>
  Effect.gen(function*() {
    const transport = yield* NodeTransport.make(options)
    const accepted = yield* Queue.unbounded<Inbound>()
    const bound = yield* transport.listen((connection) =>
      Effect.gen(function*() {
        const inbound: Inbound = {
          connection,
          frames: yield* Queue.unbounded<string>(),
          ended: yield* Queue.unbounded<Exit.Exit<void, TransportError>>()
        }
        yield* Queue.offer(accepted, inbound)
        const exit = yield* connection.frames.pipe(
          Stream.runForEach((frame) =>
            Queue.offer(inbound.frames, frame).pipe(
              Effect.zipRight(connection.send(`echo:${frame}`))
            )
          ),
          Effect.exit
        )
        yield* Queue.offer(inbound.ended, exit)
      })
    )
    return { transport, bound, port: portOf(bound), accepted }
  })

/** Receives `count` frames from a connection. */
const receive = (connection: Connection, count: number) =>
  connection.frames.pipe(Stream.take(count), Stream.runCollect, Effect.map(Chunk.toReadonlyArray))

const dialer = NodeTransport.make({ port: 0 })

const exchangesFramesOver = (host: string) =>
  Effect.gen(function*() {
    const server = yield* echoServer({ port: 0, bind: Option.some(host) })
    const client = yield* dialer
    const connection = yield* client.dial(address(host, server.port))
    yield* connection.send("one")
    yield* connection.send("two")
    assert.deepStrictEqual(yield* receive(connection, 2), ["echo:one", "echo:two"])
    const inbound = yield* Queue.take(server.accepted)
    assert.deepStrictEqual(Chunk.toReadonlyArray(yield* Queue.takeAll(inbound.frames)), [
      "one",
      "two"
    ])
  })

/** Opens a raw socket, for sending bytes the transport itself would never send. */
const rawSocket = (host: string, port: number): Effect.Effect<Net.Socket, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.interruptible(Effect.async<Net.Socket>((resume) => {
      const socket = Net.createConnection({ host, port }, () => resume(Effect.succeed(socket)))
      // a reset is expected in these tests; the assertions look at the close instead
      socket.on("error", () => undefined)
      return Effect.sync(() => socket.destroy())
    })),
    (socket) => Effect.sync(() => socket.destroy())
  )

/** Waits until the remote side closes `socket`. */
const closedByRemote = (socket: Net.Socket) =>
  Effect.async<void>((resume) => {
    if (socket.closed) return resume(Effect.void)
    socket.resume()
    socket.once("close", () => resume(Effect.void))
  })

/** Starts a process that listens with a backlog of one and then stops itself, so the
 * kernel's accept queue fills and further connection attempts go unanswered. */
const stalledListener = Effect.acquireRelease(
  Effect.async<{ readonly pid: number; readonly port: number }>((resume) => {
    const script = "const s=require('net').createServer();s.listen({port:0,host:'127.0.0.1'," +
      "backlog:1},()=>{console.log(s.address().port);process.kill(process.pid,'SIGSTOP')})"
    const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] })
    child.stdout.once(
      "data",
      (data) => resume(Effect.succeed({ pid: child.pid!, port: Number(data) }))
    )
  }),
  ({ pid }) => Effect.sync(() => process.kill(pid, "SIGKILL"))
)

describe("LineSplitter", () => {
  it("joins a frame split over several chunks", () => {
    const splitter = new LineSplitter(100)
    assert.deepStrictEqual(splitter.push("{\"a\":"), [])
    assert.deepStrictEqual(splitter.push("1}\n{\"b\""), ["{\"a\":1}"])
    assert.deepStrictEqual(splitter.push(":2}\r\n\n"), ["{\"b\":2}"])
  })

  it("keeps a multi-byte character split between chunks intact", () => {
    const bytes = new TextEncoder().encode("né\n")
    const splitter = new LineSplitter(100)
    assert.deepStrictEqual(splitter.push(bytes.subarray(0, 2)), [])
    assert.deepStrictEqual(splitter.push(bytes.subarray(2)), ["né"])
  })

  it("accepts a frame of exactly the limit in bytes and refuses one byte more", () => {
    assert.deepStrictEqual(new LineSplitter(4).push("abcd\n"), ["abcd"])
    assert.isUndefined(new LineSplitter(4).push("abcde\n"))
    assert.isUndefined(new LineSplitter(4).push("é\u00e9\u00e9\n"), "6 bytes, 3 characters")
  })

  it("refuses an unfinished frame as soon as it passes the limit", () => {
    const splitter = new LineSplitter(4)
    assert.deepStrictEqual(splitter.push("abc"), [])
    assert.isUndefined(splitter.push("de"))
  })

  it("refuses everything after a frame over the limit", () => {
    const splitter = new LineSplitter(4)
    assert.isUndefined(splitter.push("abcdef"))
    assert.isUndefined(splitter.push("\nok\n"))
  })
})

describe("NodeTransport", () => {
  it.scopedLive("exchanges frames both ways over 127.0.0.1", () => exchangesFramesOver("127.0.0.1"))

  it.scopedLive.skipIf(!hasIpv6Loopback)(
    "exchanges frames both ways over ::1",
    () => exchangesFramesOver("::1")
  )

  it.scopedLive("reads frames that arrive together in one chunk or split across chunks", () =>
    Effect.gen(function*() {
      const server = yield* echoServer({ port: 0, bind: Option.some("127.0.0.1") })
      const socket = yield* rawSocket("127.0.0.1", server.port)
      socket.write("a\nb\nc")
      const inbound = yield* Queue.take(server.accepted)
      assert.deepStrictEqual(
        [yield* Queue.take(inbound.frames), yield* Queue.take(inbound.frames)],
        [
          "a",
          "b"
        ]
      )
      socket.write("d\n")
      assert.strictEqual(yield* Queue.take(inbound.frames), "cd")
    }))

  it.scopedLive("drops a connection that sends a frame over the limit and serves others", () =>
    Effect.gen(function*() {
      const server = yield* echoServer({
        port: 0,
        bind: Option.some("127.0.0.1"),
        maxFrameBytes: 1024
      })
      const client = yield* dialer
      const before = yield* client.dial(address("127.0.0.1", server.port))
      yield* before.send("first")
      assert.deepStrictEqual(yield* receive(before, 1), ["echo:first"])
      yield* Queue.take(server.accepted)

      const bad = yield* rawSocket("127.0.0.1", server.port)
      bad.write("x".repeat(1025) + "\n")
      const inbound = yield* Queue.take(server.accepted)
      const ended = yield* Queue.take(inbound.ended)
      assert.isTrue(Exit.isFailure(ended))
      const error = Exit.isFailure(ended) ? Option.getOrThrow(Exit.causeOption(ended)) : undefined
      assert.include(String(error), "FrameTooLarge")
      yield* closedByRemote(bad)

      yield* before.send("still here")
      assert.deepStrictEqual(yield* receive(before, 1), ["echo:still here"])
      const after = yield* client.dial(address("127.0.0.1", server.port))
      yield* after.send("x".repeat(1024))
      assert.deepStrictEqual(yield* receive(after, 1), ["echo:" + "x".repeat(1024)])
    }))

  it.scopedLive("warns of dropped connections at a slowing rate: 1st, 2nd, 4th...", () => {
    const levels: Array<string> = []
    const logger = Logger.make(({ logLevel, message }) => {
      if (String(message).includes("frame limit")) levels.push(logLevel.label)
    })
    return Effect.gen(function*() {
      const server = yield* echoServer({
        port: 0,
        bind: Option.some("127.0.0.1"),
        maxFrameBytes: 1024
      })
      for (let i = 0; i < 3; i++) {
        const bad = yield* rawSocket("127.0.0.1", server.port)
        bad.write("x".repeat(2000))
        yield* Queue.take((yield* Queue.take(server.accepted)).ended)
      }
      assert.deepStrictEqual(levels, ["WARN", "WARN", "DEBUG"])
    }).pipe(
      Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
      Logger.withMinimumLogLevel(LogLevel.Debug)
    )
  })

  it.scopedLive("fails a send on a connection the remote has closed instead of waiting", () =>
    Effect.gen(function*() {
      const transport = yield* NodeTransport.make({ port: 0, bind: Option.some("127.0.0.1") })
      const bound = yield* transport.listen(() => Effect.void)
      const connection = yield* (yield* dialer).dial(address("127.0.0.1", portOf(bound)))
      yield* Stream.runDrain(connection.frames).pipe(Effect.ignore)
      const sent = yield* Effect.either(connection.send("anyone there?"))
      assert.isTrue(sent._tag === "Left")
    }))

  it.scopedLive("fails a refused dial with code ECONNREFUSED", () =>
    Effect.gen(function*() {
      const closed = yield* Effect.scoped(
        Effect.map(echoServer({ port: 0, bind: Option.some("127.0.0.1") }), (s) => s.port)
      )
      const error = yield* Effect.flip((yield* dialer).dial(address("127.0.0.1", closed)))
      assert.strictEqual(error.reason, "Dial")
      assert.strictEqual(error.code, "ECONNREFUSED")
      assert.include(error.message, `127.0.0.1:${closed}`)
    }))

  it.scopedLive("fails to listen on a port in use with EADDRINUSE, saying so", () =>
    Effect.gen(function*() {
      const first = yield* echoServer({ port: 0 })
      const second = yield* NodeTransport.make({ port: first.port })
      const error = yield* Effect.flip(second.listen(() => Effect.void))
      assert.strictEqual(error.reason, "Listen")
      assert.strictEqual(error.code, "EADDRINUSE")
      assert.include(error.message, `port ${first.port} is already in use`)
    }))

  it.scopedLive("fails a dial to a host name that does not resolve with a lookup code", () =>
    Effect.gen(function*() {
      const host = "no-such-peer.gossip-max.invalid"
      const error = yield* Effect.flip((yield* dialer).dial(address(host, 9000)))
      assert.strictEqual(error.reason, "Dial")
      assert.include(["ENOTFOUND", "EAI_AGAIN"], error.code)
      assert.include(error.message, host)
    }))

  it.scopedLive("fails a dial that gets no answer with ETIMEDOUT after the connect timeout", () =>
    Effect.gen(function*() {
      const stalled = yield* stalledListener
      // fill the stopped listener's accept queue, so later handshakes are never completed
      yield* Effect.forEach([1, 2, 3], () =>
        Effect.either(Effect.timeout(
          rawSocket("127.0.0.1", stalled.port),
          "300 millis"
        )))
      const transport = yield* NodeTransport.make({ port: 0, connectTimeout: "300 millis" })
      const error = yield* Effect.flip(transport.dial(address("127.0.0.1", stalled.port)))
      assert.strictEqual(error.code, "ETIMEDOUT")
      assert.include(error.message, "no answer within")
    }))

  it.scopedLive.skipIf(!hasIpv6Loopback)(
    "listens on IPv4 and IPv6 at once when no bind address is given",
    () =>
      Effect.gen(function*() {
        const server = yield* echoServer({ port: 0 })
        const client = yield* dialer
        const v4 = yield* client.dial(address("127.0.0.1", server.port))
        yield* v4.send("over IPv4")
        assert.deepStrictEqual(yield* receive(v4, 1), ["echo:over IPv4"])
        const v6 = yield* client.dial(address("::1", server.port))
        yield* v6.send("over IPv6")
        assert.deepStrictEqual(yield* receive(v6, 1), ["echo:over IPv6"])
        const remotes = [
          (yield* Queue.take(server.accepted)).connection.remote,
          (yield* Queue.take(server.accepted)).connection.remote
        ]
        assert.match(remotes[0], /^127\.0\.0\.1:\d+$/, "IPv4 clients show without ::ffff:")
        assert.match(remotes[1], /^\[::1\]:\d+$/)
      })
  )
})
