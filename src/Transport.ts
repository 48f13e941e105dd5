/**
 * The transport a peer speaks through: it listens for connections and dials neighbours, and
 * moves whole frames (strings) both ways. TCP (`NodeTransport`) and the in-memory network
 * (`MemoryNetwork`) implement it.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"

/** Where a neighbour listens. `name` is the label from configuration, used in logs. */
export interface Address {
  readonly name: string
  readonly host: string
  readonly port: number
}

/** `host:port`, with IPv6 literals bracketed: the one form addresses take in logs. */
export const formatAddress = (address: Pick<Address, "host" | "port">): string =>
  address.host.includes(":")
    ? `[${address.host}]:${address.port}`
    : `${address.host}:${address.port}`

/** A failure of the transport. `reason` says which step failed; `code` is the system's error
 * code when there is one (`ECONNREFUSED`, `EADDRINUSE`, `ENOTFOUND`...). */
export class TransportError extends Data.TaggedError("TransportError")<{
  readonly reason: "Listen" | "Dial" | "Read" | "Write" | "FrameTooLarge"
  readonly address: string
  readonly code?: string
  readonly detail: string
}> {
  override get message(): string {
    return `${this.reason} ${this.address}: ${this.code ? `${this.code} ` : ""}${this.detail}`
  }
}

/** An open connection. Closing its scope closes it. */
export interface Connection {
  /** The remote side as the transport sees it, for logs. */
  readonly remote: string
  /** Sends one frame. Fails once the connection is broken. */
  readonly send: (frame: string) => Effect.Effect<void, TransportError>
  /** The frames received, in order; ends when the remote side closes. */
  readonly frames: Stream.Stream<string, TransportError>
}

/** The transport service. */
export class Transport extends Context.Tag("gossip-max/Transport")<Transport, {
  /** Starts listening; `handle` runs (forked, in its own scope) for each inbound connection.
   * Listening stops when the surrounding scope closes. Succeeds with the bound address. */
  readonly listen: (
    handle: (connection: Connection) => Effect.Effect<void, never, Scope.Scope>
  ) => Effect.Effect<string, TransportError, Scope.Scope>
  /** Opens a connection to `address`; it closes with the surrounding scope. */
  readonly dial: (address: Address) => Effect.Effect<Connection, TransportError, Scope.Scope>
}>() {}
