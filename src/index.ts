/**
 * gossip-max, the core: identical peers with no coordinator agree on the maximum of their
 * values. Everything here runs on any transport and keeps no files; the Node pieces live in
 * `gossip-max/node`, the in-memory network in `gossip-max/testing`.
 *
 * @since 0.1.0
 */

/** The running peer: the `Peer` service and the layers that start one. */
export * as Peer from "./Peer.js"

/** The protocol settings of a peer: neighbours and timings, in code or through `Config`. */
export * as PeerConfig from "./PeerConfig.js"

/** Where a peer's value comes from: the `ValueSource` service. */
export * as ValueSource from "./ValueSource.js"

/** Where a peer's proven result goes: the `ResultSink` service, with no-op and `Ref` sinks. */
export * as ResultSink from "./ResultSink.js"

/** The transport interface peers speak through, and the one form addresses take. */
export * as Transport from "./Transport.js"

/** Every setting defined once, parsed from the environment, a config file or `Config`. */
export * as Settings from "./Settings.js"

/** The pure core: a peer's view of its cluster, merging views, and the proof of the maximum. */
export * as State from "./State.js"

/** The wire protocol: messages, their schemas and the protocol version. */
export * as Wire from "./Wire.js"
