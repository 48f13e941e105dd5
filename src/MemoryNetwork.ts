/**
 * An in-memory network: any number of peers in one process, connected through queues, with
 * delays read from Effect's `Clock` so `TestClock` (or the simulator) moves them.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { type Connection, formatAddress, Transport, TransportError } from "./Transport.js"

type Handler = (connection: Connection) => Effect.Effect<void, never, Scope.Scope>

interface Listener {
  readonly handle: Handler
  readonly scope: Scope.Scope
}

/** Options of the whole network. */
export interface NetworkOptions {
  /** One-way delay of every frame (default 1ms). */
  readonly latency?: Duration.DurationInput
}

/** The shared network that in-memory transports attach to. */
export class MemoryNetwork extends Context.Tag("gossip-max/MemoryNetwork")<MemoryNetwork, {
  readonly listeners: Map<string, Listener>
  readonly latency: Duration.Duration
  readonly stats: { frames: number; bytes: number }
}>() {}

/** A fresh network. */
export const layer = (options: NetworkOptions = {}): Layer.Layer<MemoryNetwork> =>
  Layer.sync(MemoryNetwork, () => ({
    listeners: new Map(),
    latency: Duration.decode(options.latency ?? Duration.millis(1)),
    stats: { frames: 0, bytes: 0 }
  }))

const pipeOf = (
  network: Context.Tag.Service<MemoryNetwork>,
  label: string,
  outbound: Queue.Queue<string>,
  inbound: Queue.Queue<string>
): Connection => ({
  remote: label,
  send: (frame) =>
    Effect.gen(function*() {
      if (yield* Queue.isShutdown(outbound)) {
        return yield* new TransportError({ reason: "Write", address: label, detail: "closed" })
      }
      network.stats.frames++
      network.stats.bytes += frame.length + 1
      yield* Effect.forkDaemon(
        Effect.sleep(network.latency).pipe(Effect.zipRight(Queue.offer(outbound, frame)))
      )
    }),
  frames: Stream.fromQueue(inbound)
})

/** The transport of the peer listening at `host:port` on the shared network. */
export const layerTransport = (
  host: string,
  port = 9000
): Layer.Layer<Transport, never, MemoryNetwork> =>
  Layer.effect(
    Transport,
    Effect.gen(function*() {
      const network = yield* MemoryNetwork
      const self = formatAddress({ host, port })
      return {
        listen: (handle) =>
          Effect.gen(function*() {
            network.listeners.set(self, { handle, scope: yield* Effect.scope })
            yield* Effect.addFinalizer(() => Effect.sync(() => network.listeners.delete(self)))
            return self
          }),
        dial: (address) =>
          Effect.gen(function*() {
            const target = formatAddress(address)
            const listener = network.listeners.get(target)
            if (listener === undefined) {
              return yield* new TransportError({
                reason: "Dial",
                address: target,
                code: "ECONNREFUSED",
                detail: "nobody listens there"
              })
            }
            const toServer = yield* Queue.unbounded<string>()
            const toClient = yield* Queue.unbounded<string>()
            const close = Effect.zipRight(Queue.shutdown(toServer), Queue.shutdown(toClient))
            yield* Effect.addFinalizer(() => close)
            yield* Effect.forkIn(
              Effect.scoped(listener.handle(pipeOf(network, self, toClient, toServer))).pipe(
                Effect.ensuring(close)
              ),
              listener.scope
            )
            return pipeOf(network, target, toServer, toClient)
          })
      }
    })
  )
