/**
 * The wire protocol: one JSON message per frame (a line on TCP). Every incoming frame is
 * validated by the schemas below; integers travel as strict decimal strings. The set of
 * message tags is append-only; a change to an existing message bumps `PROTOCOL_VERSION`.
 *
 * The schemas describe the wire shape only (plain structs, no transformations), which keeps
 * validation cheap enough for simulated clusters of thousands; turning a validated frame into
 * core values is a few lines of plain code.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type * as State from "./State.js"

/** The protocol version this build speaks; a peer speaking another is dropped. */
export const PROTOCOL_VERSION = 1

/** Default upper bound on one encoded frame, in bytes (1 MiB). */
export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024

/** A bigint written as decimal digits with an optional `-`: no `+`, no hex, no leading zeros. */
export const Decimal = Schema.String.pipe(
  Schema.pattern(/^(0|-?[1-9][0-9]*)$/, { message: () => "expected decimal digits, e.g. -42" })
)

/** A peer identity on the wire. */
export const PeerId = Schema.String.pipe(Schema.pattern(/^[0-9A-Za-z._:-]{1,64}$/))

/** One member record: identity, value, neighbour slots (`[address, id or null]`), version and
 * completion. */
export const Member = Schema.Struct({
  id: PeerId,
  value: Decimal,
  slots: Schema.Array(
    Schema.Tuple(Schema.String.pipe(Schema.maxLength(512)), Schema.NullOr(PeerId))
  ),
  version: Schema.Int.pipe(Schema.positive()),
  complete: Schema.Boolean
})

/** First frame on every connection, in both directions: who is speaking. */
export const Hello = Schema.Struct({
  _tag: Schema.Literal("hello"),
  v: Schema.Literal(PROTOCOL_VERSION),
  id: PeerId
})

/** Records the receiver may lack, and acknowledgements (`[id, version]`) of records received
 * from it. */
export const Sync = Schema.Struct({
  _tag: Schema.Literal("sync"),
  v: Schema.Literal(PROTOCOL_VERSION),
  members: Schema.Array(Member),
  acks: Schema.Array(Schema.Tuple(PeerId, Schema.Int))
})

/** Every message a peer may receive, as it travels. */
export const Frame = Schema.Union(Hello, Sync)

/** A decoded message, in core terms. */
export type Message =
  | { readonly _tag: "hello"; readonly id: State.PeerId }
  | {
    readonly _tag: "sync"
    readonly members: ReadonlyArray<State.Member>
    readonly acks: ReadonlyArray<readonly [State.PeerId, number]>
  }

const validate = Schema.decodeUnknownEither(Frame, { onExcessProperty: "ignore" })

/** The `hello` message. */
export const hello = (id: State.PeerId): Message => ({ _tag: "hello", id })

/** A `sync` message. */
export const sync = (
  members: ReadonlyArray<State.Member>,
  acks: ReadonlyArray<readonly [State.PeerId, number]>
): Message => ({ _tag: "sync", members, acks })

/** Encodes a message as one frame (JSON without a newline). */
export const encode = (message: Message): string =>
  message._tag === "hello" ?
    JSON.stringify({ _tag: "hello", v: PROTOCOL_VERSION, id: message.id }) :
    JSON.stringify({
      _tag: "sync",
      v: PROTOCOL_VERSION,
      members: message.members.map((member) => ({
        id: member.id,
        value: member.value.toString(),
        slots: member.slots.map((slot) => [slot.address, slot.id]),
        version: member.version,
        complete: member.complete
      })),
      acks: message.acks
    })

/** Parses and validates a frame; on failure, a short reason fit for a log line. */
export const decode = (frame: string): Either.Either<Message, string> => {
  let parsed: unknown
  try {
    parsed = JSON.parse(frame)
  } catch {
    return Either.left("not JSON")
  }
  const version = typeof parsed === "object" && parsed !== null && "v" in parsed ?
    parsed.v :
    undefined
  if (version !== undefined && version !== PROTOCOL_VERSION) {
    return Either.left(
      `protocol version ${String(version)} is not supported (this peer speaks ` +
        `${PROTOCOL_VERSION})`
    )
  }
  return Either.match(validate(parsed), {
    onLeft: (error) => Either.left(summarize(error)),
    onRight: (valid) => Either.right(toMessage(valid))
  })
}

const toMessage = (frame: typeof Frame.Type): Message =>
  frame._tag === "hello" ? hello(frame.id) : sync(
    frame.members.map((member) => ({
      id: member.id,
      value: BigInt(member.value),
      slots: member.slots.map(([address, id]) => ({ address, id })),
      version: member.version,
      complete: member.complete
    })),
    frame.acks
  )

const summarize = (error: ParseResult.ParseError): string =>
  ParseResult.TreeFormatter.formatErrorSync(error).split("\n").slice(0, 6).join(" ")
