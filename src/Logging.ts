/**
 * The peer's log format: one line per event on standard error, `time LEVEL message`, followed
 * by the annotations as `key=value`. Times come from the fiber's `Clock`.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as HashMap from "effect/HashMap"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import type * as LogLevel from "effect/LogLevel"

const render = (value: unknown): string =>
  Cause.isCause(value) ? Cause.pretty(value) : typeof value === "string" ? value : String(value)

/** Formats one log event as a single line. */
export const lineLogger = Logger.make<unknown, string>(
  ({ annotations, cause, date, logLevel, message }) => {
    const parts = Array.isArray(message) ? message.map(render) : [render(message)]
    const [head, ...rest] = parts
    let line = `${date.toISOString()} ${logLevel.label.padEnd(5)} ${head ?? ""}`
    if (rest.length > 0) line += `: ${rest.join(" ")}`
    if (!Cause.isEmpty(cause)) {
      line += ` cause=${JSON.stringify(Cause.pretty(cause).split("\n")[0])}`
    }
    for (const [key, value] of HashMap.toEntries(annotations)) {
      line += ` ${key}=${render(value)}`
    }
    return line
  }
)

/** Replaces the default logger with `lineLogger` writing to standard error. */
export const layer = (level: LogLevel.LogLevel): Layer.Layer<never> =>
  Layer.mergeAll(
    Logger.replace(
      Logger.defaultLogger,
      Logger.map(lineLogger, (line) => void process.stderr.write(line + "\n"))
    ),
    Logger.minimumLogLevel(level)
  )
