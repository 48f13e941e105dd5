/**
 * Real `gossip-max` processes on loopback: start orders, exact big and negative values, bad
 * configuration, deadlines, signals, and a peer killed and restarted.
 */
import * as Net from "node:net"
import * as Os from "node:os"
import { afterEach, assert, beforeEach, describe, it } from "vitest"
import { freePorts, type Neighbour, pause, PeerGroup, type PeerProcess } from "./setup/peers.js"

const hasIpv6Loopback = Object.values(Os.networkInterfaces())
  .flat()
  .some((info) => info?.address === "::1")

const maxOf = (values: ReadonlyArray<bigint>): bigint =>
  values.reduce((best, value) => (value > best ? value : best))

/** A line a - b - c, each neighbour named in a different form of loopback address. */
const line = (ports: ReadonlyArray<number>): Record<string, ReadonlyArray<Neighbour>> => ({
  a: [{ name: "b", host: "localhost", port: ports[1] }],
  b: [
    { name: "a", host: "127.0.0.1", port: ports[0] },
    { name: "c", host: hasIpv6Loopback ? "::1" : "127.0.0.1", port: ports[2] }
  ],
  c: [{ name: "b", host: "127.0.0.1", port: ports[1] }]
})

/** Starts a, b and c of a line in `order`, `staggerMs` apart; returns them by name. */
const startLine = async (
  group: PeerGroup,
  order: string,
  staggerMs: number,
  values: Record<string, bigint>
): Promise<Record<string, PeerProcess>> => {
  const ports = await freePorts(3)
  const neighbours = line(ports)
  const started: Record<string, PeerProcess> = {}
  for (const [i, name] of [...order].entries()) {
    if (i > 0) await pause(staggerMs)
    const port = ports["abc".indexOf(name)]
    started[name] = group.start({ name, port, value: values[name], neighbours: neighbours[name] })
  }
  return started
}

/** Every peer exits 0 with `expected` in result.txt and no other file left behind. */
const assertConverged = async (peers: ReadonlyArray<PeerProcess>, expected: bigint) => {
  for (const peer of peers) {
    const ended = await peer.waitForExit()
    assert.strictEqual(ended.code, 0, peer.failure("exit code").message)
    assert.strictEqual(peer.result(), expected.toString(), peer.failure("result").message)
    assert.deepStrictEqual(peer.files(), ["result.txt", "value.txt"])
  }
}

describe("gossip-max processes on loopback", () => {
  let group: PeerGroup
  beforeEach(() => {
    group = new PeerGroup()
  })
  afterEach(() => group.close())

  const big = 2n ** 200n + 1n
  const orders = [
    { order: "abc", staggerMs: 300, values: { a: -(2n ** 70n), b: 17n, c: big } },
    { order: "cba", staggerMs: 800, values: { a: big, b: -3n, c: 0n } },
    { order: "bca", staggerMs: 2_000, values: { a: -5n, b: big, c: -(2n ** 90n) } }
  ]

  it.each(orders)(
    "three peers started in the order $order, $staggerMs ms apart, agree on the exact maximum",
    async ({ order, staggerMs, values }) => {
      const peers = await startLine(group, order, staggerMs, values)
      await assertConverged(Object.values(peers), maxOf(Object.values(values)))
    }
  )

  it("a cluster of negative values beyond 2^53 writes its maximum exactly", async () => {
    const values = { a: -(2n ** 64n) - 7n, b: -(2n ** 64n) - 1n, c: -(2n ** 80n) }
    const peers = await startLine(group, "acb", 300, values)
    await assertConverged(Object.values(peers), -(2n ** 64n) - 1n)
  })

  it("bad configuration exits 2 listing every problem and writes nothing", async () => {
    const peer = group.start({
      name: "bad",
      value: "12abc",
      port: "not-a-port",
      env: { PEER_X_HOST: "127.0.0.1" }
    })
    const ended = await peer.waitForExit()
    assert.strictEqual(ended.code, 2, peer.output)
    assert.match(peer.output, /PORT.*not-a-port/)
    assert.match(peer.output, /PEER_X_PORT/)
    assert.match(peer.output, /value\.txt.*12abc/)
    assert.deepStrictEqual(peer.files(), ["value.txt"])
  })

  it("a port in use exits 1 saying so", async () => {
    const blocker = Net.createServer()
    await new Promise<void>((resolve) => blocker.listen(0, resolve))
    try {
      const port = (blocker.address() as Net.AddressInfo).port
      const peer = group.start({ name: "a", value: 1n, port })
      const ended = await peer.waitForExit()
      assert.strictEqual(ended.code, 1, peer.output)
      assert.match(peer.output, new RegExp(`port ${port} is already in use`))
      assert.deepStrictEqual(peer.files(), ["value.txt"])
    } finally {
      blocker.close()
    }
  })

  it("a deadline with a missing neighbour exits 1 naming its address and last error", async () => {
    const [port, missing] = await freePorts(2)
    const peer = group.start({
      name: "a",
      value: 1n,
      port,
      neighbours: [{ name: "b", host: "127.0.0.1", port: missing }],
      env: { GOSSIP_DEADLINE: "1500ms" }
    })
    const ended = await peer.waitForExit()
    assert.strictEqual(ended.code, 1, peer.output)
    assert.match(peer.output, new RegExp(`missing: .*127\\.0\\.0\\.1:${missing}.*ECONNREFUSED`))
    assert.deepStrictEqual(peer.files(), ["value.txt"])
  })

  it("SIGTERM while waiting ends the peer with no result or temporary file", async () => {
    const [port, missing] = await freePorts(2)
    const peer = group.start({
      name: "a",
      value: 1n,
      port,
      neighbours: [{ name: "b", host: "127.0.0.1", port: missing }]
    })
    await peer.waitForOutput(/unreachable/)
    const ended = await peer.stop("SIGTERM")
    assert.isNull(ended.signal, "the peer handles SIGTERM and exits by itself")
    assert.deepStrictEqual(peer.files(), ["value.txt"])
  })

  it("a peer killed before the others are up, then restarted, lets them converge", async () => {
    const ports = await freePorts(3)
    const neighbours = line(ports)
    const values = { a: 3n, b: 2n ** 100n, c: -1n }
    const start = (name: "a" | "b" | "c") =>
      group.start({
        name,
        value: values[name],
        port: ports["abc".indexOf(name)],
        neighbours: neighbours[name]
      })

    const a = start("a")
    const first = start("b")
    await first.waitForOutput(/Neighbour a .* reached/)
    await a.waitForOutput(/Neighbour b .* reached/)
    assert.strictEqual((await first.stop("SIGKILL")).signal, "SIGKILL")

    const c = start("c")
    await c.waitForOutput(/unreachable/)
    const b = start("b")
    await assertConverged([a, b, c], 2n ** 100n)
  })
})
