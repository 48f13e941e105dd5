/**
 * Where a peer's proven result goes: a file for the CLI, code for an embedder.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"

/** The result could not be stored; `target` names the file or destination. */
export class ResultError extends Data.TaggedError("ResultError")<{
  readonly target: string
  readonly detail: string
}> {
  override get message(): string {
    return `${this.target}: ${this.detail}`
  }
}

/** Stores the proven maximum, once. */
export class ResultSink extends Context.Tag("gossip-max/ResultSink")<ResultSink, {
  /** Stores the result; called once per run of a peer. */
  readonly write: (result: bigint) => Effect.Effect<void, ResultError>
  /** A result stored by an earlier run that survives a restart, if this sink keeps one. */
  readonly previous: Effect.Effect<Option.Option<bigint>>
}>() {}

/** A sink that keeps nothing: the result is only observed through the `Peer` service. */
export const layerNoop: Layer.Layer<ResultSink> = Layer.succeed(ResultSink, {
  write: () => Effect.void,
  previous: Effect.succeedNone
})

/** A sink backed by a `Ref`, which outlives the peer when the caller holds it. */
export const layerRef = (ref: Ref.Ref<Option.Option<bigint>>): Layer.Layer<ResultSink> =>
  Layer.succeed(ResultSink, {
    write: (result) => Ref.set(ref, Option.some(result)),
    previous: Ref.get(ref)
  })
