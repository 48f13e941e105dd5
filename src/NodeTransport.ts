/**
 * The TCP transport: one JSON message per line, with a frame size limit. Connections are
 * `@effect/platform` sockets over Node's `net` module.
 *
 * - Host names are resolved on every dial, so a neighbour whose name does not resolve yet (a
 *   container not up) is found once it does.
 * - With no bind address the listener takes `::`, which on Linux also accepts IPv4 clients;
 *   where IPv6 is missing altogether Node falls back to `0.0.0.0` by itself.
 * - A frame over the limit drops that connection only; the listener keeps serving others, and
 *   a failed accept is logged without stopping it.
 * - Closing ends a connection gracefully, so the last message still leaves, but a remote that
 *   stopped reading is cut off after `CLOSE_GRACE_MS` rather than holding the process open.
 *
 * Limitation: there is no idle timeout, as the protocol has no heartbeat; a neighbour whose
 * host vanished without closing its connections is noticed by TCP keepalive, in minutes.
 *
 * @since 0.1.0
 */
import * as NodeSocket from "@effect/platform-node/NodeSocket"
import type * as Socket from "@effect/platform/Socket"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Net from "node:net"
import { LineSplitter } from "./internal/lines.js"
import {
  type Address,
  type Connection,
  formatAddress,
  Transport,
  TransportError
} from "./Transport.js"
import * as Wire from "./Wire.js"

/** Options of the TCP transport. */
export interface TcpOptions {
  /** Port to listen on; 0 picks a free one. */
  readonly port: number
  /** Address to listen on; by default every interface, IPv6 and IPv4. */
  readonly bind?: Option.Option<string>
  /** Largest accepted frame in bytes, newline excluded (default 1 MiB). */
  readonly maxFrameBytes?: number
  /** How long a dial may take before it fails with `ETIMEDOUT` (default 5s). */
  readonly connectTimeout?: Duration.DurationInput
}

/** How long a closing connection may take to flush before it is cut (ms). */
export const CLOSE_GRACE_MS = 2_000

/** Idle time before TCP keepalive probes start on a connection (ms). */
const KEEPALIVE_MS = 15_000

const socketOptions = { noDelay: true, keepAlive: true, keepAliveInitialDelay: KEEPALIVE_MS }

/** The system error code of a Node error (`ECONNREFUSED`...), if it has one. */
const codeOf = (cause: unknown): string | undefined =>
  typeof cause === "object" && cause !== null && "code" in cause &&
    typeof cause.code === "string" ?
    cause.code :
    undefined

const messageOf = (cause: unknown): string => cause instanceof Error ? cause.message : String(cause)

/** Drops the `::ffff:` prefix the dual-stack listener puts on IPv4 clients. */
const plainHost = (host: string): string =>
  /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(host) ? host.slice(7) : host

const listenDetail = (code: string | undefined, port: number, host: string | undefined) => {
  switch (code) {
    case "EADDRINUSE":
      return `port ${port} is already in use by another process`
    case "EACCES":
      return `not permitted to listen on port ${port} (ports below 1024 need privileges)`
    case "EADDRNOTAVAIL":
      return `${host} is not an address of this host`
    case "EAFNOSUPPORT":
      return `this host does not support the address family of ${host}`
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return `cannot resolve ${host}`
    default:
      return undefined
  }
}

const socketDetail = (code: string | undefined, host: string) => {
  switch (code) {
    case "ECONNREFUSED":
      return "connection refused: nothing listens there (yet)"
    case "ENOTFOUND":
      return `host name ${host} not found`
    case "EAI_AGAIN":
      return `host name lookup for ${host} failed for now`
    case "EHOSTUNREACH":
      return "host unreachable"
    case "ENETUNREACH":
      return "network unreachable"
    case "ECONNRESET":
      return "connection reset by the remote side"
    default:
      return undefined
  }
}

const transportError = (
  reason: TransportError["reason"],
  address: string,
  code: string | undefined,
  detail: string
) => new TransportError({ reason, address, detail, ...(code === undefined ? {} : { code }) })

/** Sockets already closing, so a second close does not arm a second timer. */
const closing = new WeakSet<Net.Socket>()

/** Ends `conn` after its pending writes, and destroys it if that takes too long. */
const closeGracefully = (conn: Net.Socket): void => {
  if (conn.destroyed || closing.has(conn)) return
  closing.add(conn)
  conn.end()
  // unref'd: the socket itself keeps the process alive until it closes or this timer fires
  const timer = setTimeout(() => conn.destroy(), CLOSE_GRACE_MS).unref()
  conn.once("close", () => clearTimeout(timer))
}

/** Keeps an `error` event from crashing the process before the socket's reader is attached;
 * the reader reports errors itself. */
const guard = (conn: Net.Socket): Net.Socket => conn.on("error", () => undefined)

/** The frame limit of one transport, and how many connections it dropped for it. */
interface FrameLimit {
  readonly maxFrameBytes: number
  dropped: number
}

/** A peer that keeps sending oversized messages is redialled again and again: say so at
 * Warning the 1st, 2nd, 4th, 8th... time only. */
const logDropped = (limit: FrameLimit, remote: string) => {
  limit.dropped++
  const text = `Dropping ${remote}: a message exceeded the frame limit of ` +
    `${limit.maxFrameBytes} bytes (${limit.dropped} connection(s) dropped so far)`
  return (limit.dropped & (limit.dropped - 1)) === 0
    ? Effect.logWarning(text)
    : Effect.logDebug(text)
}

/** Turns an open Node socket into a frame connection, closed with the current scope. */
const toConnection = Effect.fn("NodeTransport.toConnection")(function*(
  conn: Net.Socket,
  remote: string,
  limit: FrameLimit
) {
  const { maxFrameBytes } = limit
  yield* Effect.addFinalizer(() => Effect.sync(() => closeGracefully(conn)))
  const socket: Socket.Socket = yield* NodeSocket.fromDuplex(Effect.succeed(conn))
  const frames = yield* Mailbox.make<string, TransportError>()
  const ended = yield* Deferred.make<never, TransportError>()
  const splitter = new LineSplitter(maxFrameBytes)
  let overflowed = false

  const finish = (exit: Exit.Exit<void, unknown>) =>
    Effect.gen(function*() {
      let failure = Exit.isFailure(exit) ? failureOf(exit.cause, remote) : undefined
      if (overflowed) {
        failure = transportError("FrameTooLarge", remote, undefined, `over ${maxFrameBytes} bytes`)
        yield* logDropped(limit, remote)
      }
      closeGracefully(conn)
      const closed = transportError("Write", remote, undefined, "the connection is closed")
      yield* Deferred.fail(ended, failure ?? closed)
      yield* failure === undefined ? frames.end : frames.fail(failure)
    })

  yield* socket.run((chunk) => {
    const lines = splitter.push(chunk)
    if (lines !== undefined) {
      frames.unsafeOfferAll(lines)
    } else if (!overflowed) {
      // cut at once: the rest of that message is never read, and the reader ends on the close
      overflowed = true
      conn.destroy()
    }
  }).pipe(Effect.onExit(finish), Effect.ignore, Effect.forkScoped)

  const write = yield* socket.writer
  const connection: Connection = {
    remote,
    send: (frame) =>
      write(frame + "\n").pipe(
        Effect.mapError((error) =>
          transportError("Write", remote, codeOf(error.cause), error.message)
        ),
        // the socket's writer waits for a reopen that never comes once the socket has closed
        Effect.raceFirst(Deferred.await(ended))
      ),
    frames: Mailbox.toStream(frames)
  }
  return connection
})

/** The error a finished read loop ends the connection with; `undefined` for a clean close. */
const failureOf = (cause: Cause.Cause<unknown>, remote: string): TransportError | undefined => {
  if (Cause.isInterruptedOnly(cause)) return undefined
  const error = Cause.squash(cause)
  if (error instanceof TransportError) return error
  if (typeof error === "object" && error !== null && "reason" in error) {
    if (error.reason === "Close") return undefined
    const inner = "cause" in error ? error.cause : error
    const code = codeOf(inner)
    return transportError("Read", remote, code, socketDetail(code, remote) ?? messageOf(inner))
  }
  return transportError("Read", remote, codeOf(error), messageOf(error))
}

/** Opens a TCP connection, failing with a `Dial` error that carries the system code. */
const connect = (address: Address, timeout: Duration.Duration) => {
  const where = formatAddress(address)
  const opening = Effect.async<Net.Socket, TransportError>((resume) => {
    const conn = Net.createConnection({ host: address.host, port: address.port, ...socketOptions })
    const onError = (cause: Error) => {
      const code = codeOf(cause)
      resume(Effect.fail(
        transportError("Dial", where, code, socketDetail(code, address.host) ?? cause.message)
      ))
    }
    conn.once("error", onError)
    conn.once("connect", () => {
      conn.off("error", onError)
      resume(Effect.succeed(guard(conn)))
    })
    return Effect.sync(() => conn.destroy())
  })
  const timed = Effect.timeoutFail(opening, {
    duration: timeout,
    onTimeout: () =>
      transportError("Dial", where, "ETIMEDOUT", `no answer within ${Duration.format(timeout)}`)
  })
  // an acquisition is uninterruptible unless told otherwise, and the timeout must interrupt it
  return Effect.acquireRelease(
    Effect.interruptible(timed),
    (conn) => Effect.sync(() => closeGracefully(conn))
  )
}

/** Starts a listening server; `onConnection` sees every accepted socket. */
const openServer = (
  port: number,
  host: string | undefined,
  onConnection: (conn: Net.Socket) => void,
  onAcceptError: (cause: Error) => void
) =>
  Effect.acquireRelease(
    Effect.async<Net.Server, TransportError>((resume) => {
      const server = Net.createServer(socketOptions, (conn) => onConnection(guard(conn)))
      const onError = (cause: Error) => {
        server.close()
        const code = codeOf(cause)
        const where = formatAddress({ host: host ?? "*", port })
        resume(Effect.fail(
          transportError("Listen", where, code, listenDetail(code, port, host) ?? cause.message)
        ))
      }
      server.once("error", onError)
      server.listen({ port, ...(host === undefined ? {} : { host }) }, () => {
        server.off("error", onError)
        server.on("error", onAcceptError)
        resume(Effect.succeed(server))
      })
      return Effect.sync(() => server.close())
    }),
    // stops accepting at once; open connections close through their own scopes
    (server) => Effect.sync(() => server.close())
  )

const boundAddress = (server: Net.Server): string => {
  const address = server.address()
  return typeof address === "object" && address !== null ?
    formatAddress({ host: address.address, port: address.port }) :
    String(address)
}

/** The TCP transport, built from its options. */
export const make = (options: TcpOptions): Effect.Effect<Transport["Type"]> =>
  Effect.sync(() => {
    const limit: FrameLimit = {
      maxFrameBytes: options.maxFrameBytes ?? Wire.DEFAULT_MAX_FRAME_BYTES,
      dropped: 0
    }
    const connectTimeout = Duration.decode(options.connectTimeout ?? Duration.seconds(5))
    const bind = Option.getOrUndefined(options.bind ?? Option.none())

    const serveInbound = (
      conn: Net.Socket,
      handle: (connection: Connection) => Effect.Effect<void, never, Scope.Scope>
    ) => {
      const remote = formatAddress({
        host: plainHost(conn.remoteAddress ?? "unknown"),
        port: conn.remotePort ?? 0
      })
      return toConnection(conn, remote, limit).pipe(
        Effect.flatMap(handle),
        Effect.ensuring(Effect.sync(() => closeGracefully(conn))),
        Effect.scoped
      )
    }

    const listen = Effect.fn("NodeTransport.listen")(function*(
      handle: (connection: Connection) => Effect.Effect<void, never, Scope.Scope>
    ) {
      const fibers = yield* FiberSet.make()
      const run = yield* FiberSet.runtime(fibers)<never>()
      const server = yield* openServer(
        options.port,
        bind,
        (conn) => run(serveInbound(conn, handle)),
        (cause) => run(Effect.logWarning("Could not accept a connection", messageOf(cause)))
      )
      return boundAddress(server)
    })

    const dial = Effect.fn("NodeTransport.dial")(function*(address: Address) {
      const conn = yield* connect(address, connectTimeout)
      return yield* toConnection(conn, formatAddress(address), limit)
    })

    return Transport.of({ listen, dial })
  })

/** The TCP transport as a layer. */
export const layer = (options: TcpOptions): Layer.Layer<Transport> =>
  Layer.effect(Transport, make(options))
