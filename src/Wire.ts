/**
 * The wire protocol: one JSON message per frame (a line on TCP), validated by a schema.
 * Integers travel as strict decimal strings. The set of message tags is append-only; a change
 * to an existing message bumps `PROTOCOL_VERSION`.
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

const decimalPattern = /^(0|-?[1-9][0-9]*)$/

/** A bigint written as decimal digits with an optional `-`: no `+`, no hex, no leading zeros. */
export const Decimal = Schema.String.pipe(
  Schema.pattern(decimalPattern, { message: () => "expected decimal digits, e.g. -42" }),
  Schema.compose(Schema.BigInt)
)

/** A peer identity on the wire. */
export const PeerId = Schema.String.pipe(Schema.pattern(/^[0-9A-Za-z._:-]{1,64}$/))

const Slot = Schema.transform(
  Schema.Tuple(Schema.String.pipe(Schema.maxLength(512)), Schema.NullOr(PeerId)),
  Schema.Struct({ address: Schema.String, id: Schema.NullOr(PeerId) }),
  {
    strict: true,
    decode: ([address, id]) => ({ address, id }),
    encode: ({ address, id }) => [address, id] as const
  }
)

/** One member record: identity, value, neighbour slots, version and completion. */
export const Member = Schema.Struct({
  id: PeerId,
  value: Decimal,
  slots: Schema.Array(Slot),
  version: Schema.Int.pipe(Schema.positive()),
  complete: Schema.Boolean
})

/** First frame on every connection, in both directions: who is speaking. */
export class Hello extends Schema.TaggedClass<Hello>()("hello", {
  v: Schema.Literal(PROTOCOL_VERSION),
  id: PeerId
}) {}

/** Records the receiver may lack, and acknowledgements of records received from it. */
export class Sync extends Schema.TaggedClass<Sync>()("sync", {
  v: Schema.Literal(PROTOCOL_VERSION),
  members: Schema.Array(Member),
  acks: Schema.Array(Schema.Tuple(PeerId, Schema.Int))
}) {}

/** Every message a peer may receive. */
export const Message = Schema.Union(Hello, Sync)
export type Message = typeof Message.Type

const MessageFromJson = Schema.parseJson(Message)
const decodeEither = Schema.decodeUnknownEither(MessageFromJson, { onExcessProperty: "ignore" })
const encodeSync = Schema.encodeSync(MessageFromJson)

/** Encodes a message as one frame (JSON without a newline). */
export const encode = (message: Message): string => encodeSync(message)

/** Builds a `Sync` frame's message from core records. */
export const sync = (
  members: ReadonlyArray<State.Member>,
  acks: ReadonlyArray<readonly [State.PeerId, number]>
): Sync => new Sync({ v: PROTOCOL_VERSION, members, acks })

/** Builds a `Hello`. */
export const hello = (id: State.PeerId): Hello => new Hello({ v: PROTOCOL_VERSION, id })

/** Why a frame was refused: a short text fit for a log line. */
export const decode = (frame: string): Either.Either<Message, string> =>
  Either.mapLeft(decodeEither(frame), (error) => describe(frame, error))

const describe = (frame: string, error: ParseResult.ParseError): string => {
  const version = versionOf(frame)
  if (version !== undefined && version !== PROTOCOL_VERSION) {
    return `protocol version ${String(version)} is not supported (this peer speaks ` +
      `${PROTOCOL_VERSION})`
  }
  return ParseResult.TreeFormatter.formatErrorSync(error).split("\n").slice(0, 6).join(" ")
}

const versionOf = (frame: string): unknown => {
  try {
    const parsed: unknown = JSON.parse(frame)
    return typeof parsed === "object" && parsed !== null && "v" in parsed ? parsed.v : undefined
  } catch {
    return undefined
  }
}
