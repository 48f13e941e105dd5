/**
 * Peers on separate hosts: each peer runs in its own Linux network namespace, every one on the
 * same port, wired through a bridge that lives in a namespace of its own. The test subnets
 * exist only inside those namespaces; nothing is routed to or from the machine's own network.
 * Needs root and iproute2; skipped, saying why, without them.
 */
import { execFileSync, spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { mkdirSync, rmSync, writeFileSync } from "node:fs"
import { afterEach, assert, beforeEach, describe, it } from "vitest"
import { type Neighbour, PeerGroup, type PeerProcess } from "./setup/peers.js"

const PORT = 9000

/** Runs `ip` with arguments; throws with its error output on failure. */
const ip = (...args: ReadonlyArray<string>): string =>
  execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })

/** Why these tests cannot run here, or `undefined` when they can. */
const missingCapability = (): string | undefined => {
  if (process.platform !== "linux") return "network namespaces need Linux"
  if (process.getuid?.() !== 0) return "network namespaces need root"
  if (spawnSync("ip", ["-V"]).error !== undefined) return "the `ip` command (iproute2) is missing"
  const probe = `gmprobe${process.pid}`
  const tried = spawnSync("sh", [
    "-c",
    `ip netns add ${probe} && ip netns exec ${probe} ip link add ${probe}b type bridge && ` +
    `ip netns exec ${probe} ip link add ${probe}v type veth peer name ${probe}w`
  ], { encoding: "utf8" })
  spawnSync("ip", ["netns", "del", probe])
  return tried.status === 0 ?
    undefined :
    `cannot create namespaces, bridges and veth pairs: ${tried.stderr.trim()}`
}

const missing = missingCapability()
if (missing !== undefined) console.warn(`Netns.e2e: skipped, ${missing}`)

/** One test network: a switch namespace with a bridge, and one namespace per host. */
class TestNetwork {
  readonly id = randomBytes(3).toString("hex")
  /** A /24 inside 10.231.0.0/16 and a ULA /64, both existing only inside these namespaces. */
  readonly subnet = `10.231.${parseInt(this.id.slice(0, 2), 16)}`
  readonly ula = `fd31:4d5a:${this.id.slice(0, 4)}`
  readonly switchNs = `gm-${this.id}-sw`
  readonly hosts: Array<string> = []

  constructor() {
    try {
      ip("netns", "add", this.switchNs)
      ip("-n", this.switchNs, "link", "add", "br0", "type", "bridge")
      ip("-n", this.switchNs, "link", "set", "br0", "up")
    } catch (error) {
      this.destroy()
      throw error
    }
  }

  namespace(host: string): string {
    return `gm-${this.id}-${host}`
  }

  ipv4(index: number): string {
    return `${this.subnet}.${index + 1}`
  }

  ipv6(index: number): string {
    return `${this.ula}::${index + 1}`
  }

  /** Adds a host with one interface on the bridge; `hosts` lines go to its /etc/hosts. */
  addHost(host: string, options: { readonly ipv6: boolean; readonly hosts?: string }): void {
    const ns = this.namespace(host)
    const index = this.hosts.length
    ip("netns", "add", ns)
    this.hosts.push(host)
    const port = `gm${this.id}p${index}`
    // one end is this host's eth0, the other a port of the bridge in the switch namespace
    ip(...`link add eth0 netns ${ns} type veth peer name ${port} netns ${this.switchNs}`.split(" "))
    ip("-n", this.switchNs, "link", "set", port, "master", "br0", "up")
    ip("-n", ns, "link", "set", "lo", "up")
    ip("-n", ns, "addr", "add", `${this.ipv4(index)}/24`, "dev", "eth0")
    if (options.ipv6) {
      ip("-n", ns, "addr", "add", `${this.ipv6(index)}/64`, "dev", "eth0", "nodad")
    } else {
      ip("netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
      ip("netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.lo.disable_ipv6=1")
    }
    ip("-n", ns, "link", "set", "eth0", "up")
    if (options.hosts !== undefined) {
      // `ip netns exec` mounts /etc/netns/<ns>/hosts over /etc/hosts for the command it runs
      mkdirSync(`/etc/netns/${ns}`, { recursive: true })
      writeFileSync(`/etc/netns/${ns}/hosts`, `127.0.0.1 localhost\n${options.hosts}\n`)
    }
  }

  /** How a peer elsewhere names `host` as its neighbour. */
  neighbour(host: string, family: "ipv4" | "ipv6"): Neighbour {
    const index = this.hosts.indexOf(host)
    return { name: host, host: family === "ipv4" ? this.ipv4(index) : this.ipv6(index), port: PORT }
  }

  /** The command prefix that runs a program on `host`. */
  on(host: string): ReadonlyArray<string> {
    return ["ip", "netns", "exec", this.namespace(host)]
  }

  /** Deletes every namespace (and with them their links) and hosts file; never throws. */
  destroy(): void {
    for (const ns of [...this.hosts.map((host) => this.namespace(host)), this.switchNs]) {
      spawnSync("ip", ["netns", "del", ns])
      rmSync(`/etc/netns/${ns}`, { recursive: true, force: true })
    }
    // the folder iproute2 reads per-namespace files from; left alone unless empty
    spawnSync("rmdir", ["--ignore-fail-on-non-empty", "/etc/netns"])
  }
}

/** Starts one peer per host, all on `PORT`, and expects them all to agree on the maximum. */
const runCluster = async (
  group: PeerGroup,
  net: TestNetwork,
  peers: ReadonlyArray<{ host: string; value: bigint; neighbours: ReadonlyArray<Neighbour> }>
) => {
  const started: Array<PeerProcess> = []
  for (const peer of peers) {
    started.push(group.start({
      name: peer.host,
      value: peer.value,
      port: PORT,
      neighbours: peer.neighbours,
      wrapper: net.on(peer.host)
    }))
  }
  const expected = peers.map((p) => p.value).reduce((a, b) => (a > b ? a : b)).toString()
  for (const peer of started) {
    const ended = await peer.waitForExit()
    assert.strictEqual(ended.code, 0, peer.failure("exit code").message)
    assert.strictEqual(peer.result(), expected, peer.failure("result").message)
  }
  return started
}

describe.skipIf(missing !== undefined)(
  `peers on separate hosts${missing ? ` (${missing})` : ""}`,
  () => {
    let net: TestNetwork
    let group: PeerGroup
    beforeEach(() => {
      group = new PeerGroup()
      net = new TestNetwork()
    })
    afterEach(async () => {
      await group.close()
      net.destroy()
    })

    it("three hosts on the same port, neighbours given by IPv4 address, converge", async () => {
      for (const host of ["a", "b", "c"]) net.addHost(host, { ipv6: true })
      const started = await runCluster(group, net, [
        { host: "a", value: 10n, neighbours: [net.neighbour("b", "ipv4")] },
        {
          host: "b",
          value: -(2n ** 90n),
          neighbours: [net.neighbour("a", "ipv4"), net.neighbour("c", "ipv4")]
        },
        { host: "c", value: 2n ** 64n + 1n, neighbours: [net.neighbour("b", "ipv4")] }
      ])
      const a = net.neighbour("a", "ipv4").host.replace(/\./g, "\\.")
      assert.match(started[1].output, new RegExp(`Neighbour a \\(${a}:9000\\) reached`))
    })

    it("three hosts reached over IPv6 unique local addresses converge", async () => {
      for (const host of ["a", "b", "c"]) net.addHost(host, { ipv6: true })
      const started = await runCluster(group, net, [
        {
          host: "a",
          value: 1n,
          neighbours: [net.neighbour("b", "ipv6"), net.neighbour("c", "ipv6")]
        },
        {
          host: "b",
          value: 2n,
          neighbours: [net.neighbour("a", "ipv6"), net.neighbour("c", "ipv6")]
        },
        {
          host: "c",
          value: 3n,
          neighbours: [net.neighbour("a", "ipv6"), net.neighbour("b", "ipv6")]
        }
      ])
      assert.match(started[0].output, /Neighbour b \(\[fd31:[0-9a-f:]+\]:9000\) reached/)
    })

    it("a neighbour given by host name resolves through the host's own hosts file", async () => {
      net.addHost("a", { ipv6: true, hosts: `${net.ipv4(1)} peer-b` })
      net.addHost("b", { ipv6: true })
      const started = await runCluster(group, net, [
        { host: "a", value: 5n, neighbours: [{ name: "b", host: "peer-b", port: PORT }] },
        { host: "b", value: 6n, neighbours: [net.neighbour("a", "ipv4")] }
      ])
      assert.match(started[0].output, /Neighbour b \(peer-b:9000\) reached/)
    })

    it("a host with IPv6 disabled listens by default and is reached over IPv4", async () => {
      net.addHost("a", { ipv6: false })
      net.addHost("b", { ipv6: true })
      const started = await runCluster(group, net, [
        { host: "a", value: 7n, neighbours: [net.neighbour("b", "ipv4")] },
        { host: "b", value: 8n, neighbours: [net.neighbour("a", "ipv4")] }
      ])
      assert.match(started[0].output, /Listening on \[::\]:9000/)
    })
  }
)
