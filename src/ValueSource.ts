/**
 * Where a peer's starting value comes from: a file for the CLI, code for an embedder.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

/** The value could not be read or is not an integer; `source` names the file or origin. */
export class ValueError extends Data.TaggedError("ValueError")<{
  readonly source: string
  readonly detail: string
}> {
  override get message(): string {
    return `${this.source}: ${this.detail}`
  }
}

/** Supplies the value this peer contributes. */
export class ValueSource extends Context.Tag("gossip-max/ValueSource")<ValueSource, {
  readonly value: Effect.Effect<bigint, ValueError>
}>() {}

/** A value given in code. */
export const layer = (value: bigint): Layer.Layer<ValueSource> =>
  Layer.succeed(ValueSource, { value: Effect.succeed(value) })

const integerPattern = /^-?[0-9]+$/

/** Parses the text of a value file: one integer, surrounding whitespace allowed. */
export const parseInteger = (text: string): Effect.Effect<bigint, string> => {
  const trimmed = text.trim()
  if (trimmed === "") return Effect.fail("is empty; expected one integer such as 42 or -7")
  if (!integerPattern.test(trimmed)) {
    const shown = trimmed.length > 40 ? `${trimmed.slice(0, 40)}...` : trimmed
    return Effect.fail(
      `expected one integer such as 42 or -7 (digits with an optional ` +
        `leading -), found "${shown}"`
    )
  }
  return Effect.succeed(BigInt(trimmed))
}
