/**
 * The file-based value and result, as the CLI uses them: `value.txt` in, `result.txt` out.
 * The result is written to a temporary file in the same folder, flushed to disk, then renamed
 * over the target, so a reader never sees a partial or intermediate value.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Random from "effect/Random"
import { ResultError, ResultSink } from "./ResultSink.js"
import * as ValueSource from "./ValueSource.js"

/** A short reason for a failed file operation: `file not found`, or the system's message. */
export const reasonOf = (error: { readonly message: string; readonly reason?: string }): string =>
  error.reason === "NotFound" ? "file not found" : error.message

/** Reads and parses the value file. */
export const readValue = (path: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs.readFileString(path).pipe(
      Effect.mapError((error) =>
        new ValueSource.ValueError({
          source: path,
          detail: `cannot read it (${reasonOf(error)}); expected a file holding one integer`
        })
      )
    )
    return yield* ValueSource.parseInteger(text).pipe(
      Effect.mapError((detail) => new ValueSource.ValueError({ source: path, detail }))
    )
  })

/** The value, read from a file once when the peer starts. */
export const layerValueFile = (
  path: string
): Layer.Layer<ValueSource.ValueSource, never, FileSystem.FileSystem> =>
  Layer.effect(
    ValueSource.ValueSource,
    Effect.map(FileSystem.FileSystem, (fs) => ({
      value: readValue(path).pipe(Effect.provideService(FileSystem.FileSystem, fs))
    }))
  )

/** Writes `text` to `path` atomically: temporary file, flush, rename. */
export const writeAtomically = Effect.fn("FileStore.writeAtomically")(
  function*(path: string, text: string) {
    const fs = yield* FileSystem.FileSystem
    const paths = yield* Path.Path
    const suffix = (yield* Random.nextIntBetween(0, 0x7fffffff)).toString(36)
    const temporary = paths.join(paths.dirname(path), `.${paths.basename(path)}.${suffix}.tmp`)
    const write = Effect.scoped(Effect.gen(function*() {
      const file = yield* fs.open(temporary, { flag: "w" })
      yield* file.writeAll(new TextEncoder().encode(text))
      yield* file.sync
    })).pipe(
      Effect.zipRight(fs.rename(temporary, path)),
      Effect.tapError(() => Effect.ignore(fs.remove(temporary)))
    )
    yield* Effect.uninterruptible(write).pipe(
      Effect.mapError((error) => new ResultError({ target: path, detail: reasonOf(error) }))
    )
  }
)

/** The result, written once to a file. A file left by an earlier run is not trusted as this
 * run's result: the peer proves its result again and replaces the file. */
export const layerResultFile = (
  path: string
): Layer.Layer<ResultSink, never, FileSystem.FileSystem | Path.Path> =>
  Layer.effect(
    ResultSink,
    Effect.gen(function*() {
      const context = yield* Effect.context<FileSystem.FileSystem | Path.Path>()
      return {
        write: (result) => writeAtomically(path, result.toString()).pipe(Effect.provide(context)),
        previous: Effect.succeedNone
      }
    })
  )
