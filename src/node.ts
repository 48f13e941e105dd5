/**
 * gossip-max on Node: the TCP transport, the file-based value and result, the log format, and
 * the `gossip-max` command, which composes them.
 *
 * @since 0.1.0
 */

/** The TCP transport: one JSON message per line, with a frame size limit. */
export * as NodeTransport from "./NodeTransport.js"

/** The value read from a file and the result written to one, atomically. */
export * as FileStore from "./FileStore.js"

/** The peer's log format: one `time LEVEL message key=value` line per event on stderr. */
export * as Logging from "./Logging.js"

/** The `gossip-max` command: arguments, settings resolution, help, and the peer composition. */
export * as Cli from "./Cli.js"
