/**
 * The protocol settings of one peer: its neighbours and its timings. Files, ports and logging
 * belong to the layers that use them, not here.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Settings from "./Settings.js"
import type { Address } from "./Transport.js"

/** The protocol settings. */
export interface PeerConfigShape {
  /** The configured neighbours; none makes a cluster of one. */
  readonly neighbours: ReadonlyArray<Address>
  /** Fixed identity for this peer; by default a random one is drawn at start. */
  readonly id: Option.Option<string>
  /** How often unacknowledged records are sent again (default 500ms). */
  readonly gossipInterval: Duration.Duration
  /** First redial delay for an unreachable neighbour, doubled per try (default 100ms). */
  readonly retryMin: Duration.Duration
  /** Cap on the redial delay (default 5s). */
  readonly retryMax: Duration.Duration
  /** How long a finished peer waits for an unreachable, unfinished neighbour (default 30s). */
  readonly linger: Duration.Duration
  /** Fail when no result is proven within this time (default: never). */
  readonly deadline: Option.Option<Duration.Duration>
  /** Keep serving after finishing, like a daemon (default false). */
  readonly stay: boolean
}

/** The protocol settings service. */
export class PeerConfig extends Context.Tag("gossip-max/PeerConfig")<
  PeerConfig,
  PeerConfigShape
>() {}

/** The documented defaults: no neighbours, random identity. */
export const defaults: PeerConfigShape = {
  neighbours: [],
  id: Option.none(),
  gossipInterval: Duration.millis(500),
  retryMin: Duration.millis(100),
  retryMax: Duration.seconds(5),
  linger: Duration.seconds(30),
  deadline: Option.none(),
  stay: false
}

/** Settings given in code, over the defaults. */
export const make = (options: Partial<PeerConfigShape> = {}): PeerConfigShape => ({
  ...defaults,
  ...options
})

/** A layer with settings given in code, over the defaults. */
export const layer = (options: Partial<PeerConfigShape> = {}): Layer.Layer<PeerConfig> =>
  Layer.succeed(PeerConfig, make(options))

/** The protocol settings among resolved settings. */
export const fromSettings = (settings: Settings.Settings): PeerConfigShape =>
  make({
    neighbours: settings.peers,
    gossipInterval: settings.gossipInterval,
    retryMin: settings.retryMin,
    retryMax: settings.retryMax,
    linger: settings.linger,
    deadline: settings.deadline,
    stay: settings.stay
  })

/** The protocol settings read through Effect `Config`, keyed as in the config file
 * (`peers.<name>.host`, `gossipInterval`...): see `Settings.config`. */
export const config: Config.Config<PeerConfigShape> = Config.map(Settings.config, fromSettings)

/** A layer reading the protocol settings through Effect `Config` (by default `config`). */
export const layerConfig = (
  settings: Config.Config<PeerConfigShape> = config
): Layer.Layer<PeerConfig, ConfigError.ConfigError> => Layer.effect(PeerConfig, settings)
