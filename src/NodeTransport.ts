/**
 * The TCP transport, on `@effect/platform` sockets: one JSON message per line, with a frame
 * size limit. Host names are resolved on every dial, so a neighbour whose name does not
 * resolve yet (a container not up) is found once it does.
 *
 * @since 0.1.0
 */
import * as NodeSocket from "@effect/platform-node/NodeSocket"
import * as NodeSocketServer from "@effect/platform-node/NodeSocketServer"
import * as Socket from "@effect/platform/Socket"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"
import { LineSplitter } from "./internal/lines.js"
import { type Connection, formatAddress, Transport, TransportError } from "./Transport.js"
import * as Wire from "./Wire.js"

/** Options of the TCP transport. */
export interface TcpOptions {
  /** Port to listen on; 0 picks a free one. */
  readonly port: number
  /** Address to listen on; by default every interface, IPv6 and IPv4. */
  readonly bind?: Option.Option<string>
  /** Largest accepted frame in bytes (default 1 MiB). */
  readonly maxFrameBytes?: number
  /** How long a dial may take before it counts as failed (default 5s). */
  readonly connectTimeout?: Duration.DurationInput
}

const errorCode = (cause: unknown): string | undefined => {
  const inner = Cause.isCause(cause) ? Cause.squash(cause) : cause
  const nested = inner instanceof Socket.SocketGenericError ? inner.cause : inner
  if (typeof nested === "object" && nested !== null && "code" in nested) {
    return String(nested.code)
  }
  return nested instanceof Error ? nested.message : undefined
}

const describe = (cause: unknown): string => {
  const nested = cause instanceof Socket.SocketGenericError ? cause.cause : cause
  return nested instanceof Error ? nested.message : String(nested)
}

/** Turns a platform socket into a frame connection, open once this effect succeeds. */
const toConnection = (
  socket: Socket.Socket,
  remote: string,
  maxFrameBytes: number,
  reason: "Dial" | "Read"
) =>
  Effect.gen(function*() {
    const frames = yield* Mailbox.make<string, TransportError>()
    const opened = yield* Deferred.make<void, TransportError>()
    const splitter = new LineSplitter(maxFrameBytes)
    const failure = (error: unknown) =>
      error instanceof TransportError ? error : new TransportError({
        reason,
        address: remote,
        ...(errorCode(error) ? { code: errorCode(error)! } : {}),
        detail: describe(error)
      })
    yield* socket.run((chunk) => {
      const lines = splitter.push(chunk)
      if (lines === undefined) {
        return Effect.fail(
          new TransportError({
            reason: "FrameTooLarge",
            address: remote,
            detail: `a message exceeded ${maxFrameBytes} bytes`
          })
        )
      }
      frames.unsafeOfferAll(lines)
    }, { onOpen: Deferred.succeed(opened, undefined) }).pipe(
      Effect.onExit((exit) => {
        if (Exit.isSuccess(exit) || isCleanClose(exit.cause)) return frames.end
        const error = failure(Cause.squash(exit.cause))
        return Effect.zipRight(Deferred.fail(opened, error), frames.fail(error))
      }),
      Effect.ignore,
      Effect.forkScoped
    )
    yield* Deferred.await(opened)
    const write = yield* socket.writer
    const connection: Connection = {
      remote,
      send: (frame) =>
        write(frame + "\n").pipe(
          Effect.mapError((error) =>
            new TransportError({ reason: "Write", address: remote, detail: describe(error) })
          )
        ),
      frames: Mailbox.toStream(frames)
    }
    return connection
  })

const isCleanClose = (cause: Cause.Cause<unknown>): boolean => {
  const error = Cause.squash(cause)
  return Socket.isSocketError(error) && error.reason === "Close" && Cause.isFailType(cause)
}

/** The TCP transport, built from its options. */
export const make = (options: TcpOptions): Effect.Effect<Transport["Type"]> =>
  Effect.sync(() => {
    const maxFrameBytes = options.maxFrameBytes ?? Wire.DEFAULT_MAX_FRAME_BYTES
    const connectTimeout = options.connectTimeout ?? Duration.seconds(5)
    const bind = Option.getOrUndefined(options.bind ?? Option.none())
    return Transport.of({
      listen: (handle) =>
        Effect.gen(function*() {
          const server = yield* NodeSocketServer.make({
            port: options.port,
            ...(bind === undefined ? {} : { host: bind })
          }).pipe(
            Effect.mapError((error) => {
              const code = errorCode(error.cause)
              const where = formatAddress({ host: bind ?? "*", port: options.port })
              return new TransportError({
                reason: "Listen",
                address: where,
                ...(code === undefined ? {} : { code }),
                detail: code === "EADDRINUSE" ?
                  `port ${options.port} is already in use` :
                  describe(error.cause)
              })
            })
          )
          yield* server.run((socket) =>
            Effect.gen(function*() {
              const net = Option.getOrUndefined(yield* Effect.serviceOption(NodeSocket.NetSocket))
              const remote = formatAddress({
                host: net?.remoteAddress ?? "unknown",
                port: net?.remotePort ?? 0
              })
              const connection = yield* toConnection(socket, remote, maxFrameBytes, "Read")
              yield* handle(connection)
            }).pipe(Effect.scoped, Effect.ignore)
          ).pipe(Effect.ignore, Effect.forkScoped)
          const address = server.address
          return address._tag === "TcpAddress" ?
            formatAddress({ host: address.hostname, port: address.port }) :
            address.path
        }),
      dial: (address) =>
        Effect.gen(function*() {
          const socket = yield* NodeSocket.makeNet({
            host: address.host,
            port: address.port,
            openTimeout: connectTimeout
          }).pipe(Effect.orDie)
          return yield* toConnection(socket, formatAddress(address), maxFrameBytes, "Dial")
        })
    })
  })

/** The TCP transport as a layer. */
export const layer = (options: TcpOptions): Layer.Layer<Transport> =>
  Layer.effect(Transport, make(options))
