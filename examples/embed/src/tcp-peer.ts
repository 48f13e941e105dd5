/**
 * One peer over TCP on 127.0.0.1, its protocol settings read through Effect `Config` from the
 * application's own configuration (nested under `gossip`, keys as in gossip-max's config file).
 * With no neighbours it is a cluster of one, so it proves its own value at once.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { Peer, PeerConfig } from "gossip-max"
import { NodeTransport } from "gossip-max/node"

const appConfig = ConfigProvider.fromJson({
  gossip: { gossipInterval: "250ms", deadline: "10s", peers: {} }
})

const peer = Peer.layerConfig(7n, Config.nested(PeerConfig.config, "gossip")).pipe(
  Layer.provide(NodeTransport.layer({ port: 0, bind: Option.some("127.0.0.1") })),
  Layer.provide(Layer.setConfigProvider(appConfig))
)

const program = Effect.gen(function*() {
  const { result } = yield* Peer.Peer
  yield* Console.log(`cluster of one over TCP proved ${yield* result}`)
}).pipe(Effect.provide(peer))

NodeRuntime.runMain(program)
