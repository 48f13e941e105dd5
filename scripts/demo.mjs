// `npm run demo`: runs a real gossip-max cluster on this machine. Every peer is its own process
// in its own temporary folder, listening on 127.0.0.1; their logs are shown live, prefixed with
// the peer's name, and a table of outcomes ends the run. Exits 0 only when every peer exited 0
// with the true maximum in its result.txt. See `npm run demo -- --help`.
import { spawn, spawnSync } from "node:child_process"
import { randomInt } from "node:crypto"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"

const root = fileURLToPath(new URL("..", import.meta.url))
const bundle = join(root, "dist", "gossip-max.cjs")
const bin = join(root, "bin", "gossip-max")
const topologies = ["line", "ring", "mesh", "star"]

const usage = `Usage: npm run demo -- [options]

Starts a cluster of gossip-max peers on 127.0.0.1, each in its own temporary folder, one
after another, shows their logs live, and ends with a table of every peer's value, result,
exit code and timings. Exits 0 when every peer exited 0 with the true maximum.

Options:
  --peers N          number of peers, 1 to 26 (default 3, or the number of --values)
  --topology T       who neighbours whom: line, ring, mesh or star (default line)
                       line  a-b-c-d, the maximum may travel several hops
                       ring  a line closed into a circle
                       mesh  everyone neighbours everyone
                       star  a is the hub; every other peer neighbours only a
  --values LIST      the peers' integers, e.g. 3,-5,99 (default: random, with a negative
                       one, and now and then one far beyond 2^53)
  --stagger D        time between two starts, e.g. 0, 500ms, 2s (default: random 1-2s)
  --base-port P      listen on P, P+1, ... (default: free ports picked by the system)
  --keep             keep the peers' folders (value.txt, result.txt) and print where
  --help             show this text

Peers get GOSSIP_RETRY_MAX=1s, so late starters are found quickly, and a GOSSIP_DEADLINE a
minute after the last start, so none is left running if the demo dies. Any GOSSIP_* variable
you set (GOSSIP_LOG_LEVEL=Debug, GOSSIP_RETRY_MAX=5s...) is passed on and wins.

Ctrl-C stops every peer (SIGTERM) and still prints the table.`

/** Stops with a message and the usage hint; exit code 2, as for bad configuration. */
const fail = (message) => {
  console.error(`demo: ${message}\nRun \`npm run demo -- --help\` for the options.`)
  process.exit(2)
}

/** Parses `500ms`, `1.5s`, `2m` or `0` into milliseconds. */
const parseDuration = (text) => {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(text.trim())
  if (text.trim() === "0") return 0
  if (match === null) fail(`--stagger expects a duration with a unit (500ms, 2s), got "${text}"`)
  return Number(match[1]) * { ms: 1, s: 1000, m: 60_000 }[match[2]]
}

const readOptions = () => {
  let parsed
  try {
    parsed = parseArgs({
      options: {
        peers: { type: "string" },
        topology: { type: "string", default: "line" },
        values: { type: "string" },
        stagger: { type: "string" },
        "base-port": { type: "string" },
        keep: { type: "boolean", default: false },
        help: { type: "boolean", default: false }
      }
    }).values
  } catch (error) {
    fail(error.message)
  }
  if (parsed.help) {
    console.log(usage)
    process.exit(0)
  }
  const values = parsed.values?.split(",").map((text) => {
    if (!/^\s*-?\d+\s*$/.test(text)) fail(`--values expects integers such as 3,-5,99, got "${text}"`)
    return BigInt(text.trim())
  })
  const peers = parsed.peers === undefined ? values?.length ?? 3 : Number(parsed.peers)
  if (!Number.isInteger(peers) || peers < 1 || peers > 26) {
    fail(`--peers expects a whole number from 1 to 26, got "${parsed.peers}"`)
  }
  if (values !== undefined && values.length !== peers) {
    fail(`--values gives ${values.length} value(s) but --peers asks for ${peers}`)
  }
  if (!topologies.includes(parsed.topology)) {
    fail(`--topology expects one of ${topologies.join(", ")}, got "${parsed.topology}"`)
  }
  const basePort = parsed["base-port"] === undefined ? undefined : Number(parsed["base-port"])
  if (basePort !== undefined && !(Number.isInteger(basePort) && basePort > 0 && basePort + peers <= 65536)) {
    fail(`--base-port expects a port from 1 to ${65536 - peers}, got "${parsed["base-port"]}"`)
  }
  return {
    peers,
    topology: parsed.topology,
    values: values ?? randomValues(peers),
    stagger: parsed.stagger === undefined ? undefined : parseDuration(parsed.stagger),
    basePort,
    keep: parsed.keep
  }
}

/** Random values: small ones, at least one negative, and now and then one beyond 2^53. */
const randomValues = (count) => {
  const values = Array.from({ length: count }, () => BigInt(randomInt(-1000, 1001)))
  if (count > 1) values[randomInt(count)] = -BigInt(randomInt(1, 1001))
  if (randomInt(2) === 0) {
    const digits = Array.from({ length: 30 }, (_, i) => (i === 0 ? randomInt(1, 10) : randomInt(10)))
    let huge = BigInt(digits.join(""))
    if (randomInt(3) === 0) huge = -huge
    values[randomInt(count)] = huge
  }
  return values
}

/** Each peer's neighbours (indexes) in the chosen topology; every link goes both ways. */
const neighboursOf = (topology, count) =>
  Array.from({ length: count }, (_, i) => {
    const all = Array.from({ length: count }, (_, j) => j).filter((j) => j !== i)
    switch (topology) {
      case "mesh":
        return all
      case "star":
        return i === 0 ? all : [0]
      case "ring":
        return [...new Set([(i + count - 1) % count, (i + 1) % count])].filter((j) => j !== i)
      default:
        return [i - 1, i + 1].filter((j) => j >= 0 && j < count)
    }
  })

/** Whether `port` can be listened on at 127.0.0.1 right now. */
const portIsFree = (port) =>
  new Promise((resolve) => {
    const server = createServer()
    server.once("error", () => resolve(false))
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)))
  })

/** Ports picked by the system; free a moment ago. */
const freePorts = async (count) => {
  const servers = await Promise.all(Array.from({ length: count }, () =>
    new Promise((resolve) => {
      const server = createServer()
      server.listen(0, "127.0.0.1", () => resolve(server))
    })))
  const ports = servers.map((server) => server.address().port)
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))))
  return ports
}

const color = process.stdout.isTTY && !process.env.NO_COLOR
const paint = (code, text) => (color ? `\x1b[${code}m${text}\x1b[0m` : text)
const palette = [36, 33, 35, 32, 34, 91, 96, 93, 95, 92]
const levelColors = { WARN: 33, ERROR: 31, FATAL: 31, DEBUG: 90 }

const started = performance.now()
const seconds = (ms) => `${(ms / 1000).toFixed(2)}s`

/** Prints one line for a peer (or for the demo itself when `peer` is undefined). */
const say = (peer, text) => {
  const label = peer === undefined ? paint(1, "demo".padEnd(5)) : paint(peer.color, peer.name.padEnd(5))
  console.log(`${paint(90, `+${seconds(performance.now() - started).padStart(7)}`)} ${label} ${text}`)
}

/** Shortens a peer's log line: the demo shows its own clock, so the peer's timestamp and
 * identity annotation go, and the level is coloured. */
const formatLog = (line) => {
  const match = /^\d{4}-\d\d-\d\dT[\d:.]+Z (\w+)(\s+)(.*?)(?: peer=[0-9a-f]+)?$/.exec(line)
  if (match === null) return line
  const [, level, space, rest] = match
  return `${levelColors[level] ? paint(levelColors[level], level) : level}${space}${rest}`
}

/** Hands each complete line of a stream to `onLine`. */
const eachLine = (stream, onLine) => {
  let buffer = ""
  stream.setEncoding("utf8")
  stream.on("data", (chunk) => {
    buffer += chunk
    const lines = buffer.split("\n")
    buffer = lines.pop()
    for (const line of lines) if (line.length > 0) onLine(line)
  })
  stream.on("end", () => buffer.length > 0 && onLine(buffer))
}

const ensureBundle = () => {
  if (existsSync(bundle)) return
  say(undefined, "dist/ has no bundle yet; building it (node scripts/build.mjs)")
  const built = spawnSync(process.execPath, ["scripts/build.mjs"], { cwd: root, stdio: "inherit" })
  if (built.status !== 0) {
    console.error("demo: the build failed; see above")
    process.exit(1)
  }
}

/** The environment of one peer: the caller's, minus any peer settings, plus its own. */
const peerEnv = (peer, peers, deadline) => {
  // the deadline is a safety net: a peer left behind by a crashed demo gives up by itself
  const env = { GOSSIP_RETRY_MAX: "1s", GOSSIP_DEADLINE: `${Math.ceil(deadline / 1000)}s` }
  for (const [key, value] of Object.entries(process.env)) {
    if (key !== "PORT" && !key.startsWith("PEER_")) env[key] = value
  }
  Object.assign(env, { PORT: String(peer.port), GOSSIP_BIND: "127.0.0.1" })
  for (const index of peer.neighbours) {
    const other = peers[index]
    env[`PEER_${other.name.toUpperCase()}_HOST`] = "127.0.0.1"
    env[`PEER_${other.name.toUpperCase()}_PORT`] = String(other.port)
  }
  return env
}

const startPeer = (peer, peers, deadline) => {
  peer.startedAt = performance.now()
  // a process group of its own: Ctrl-C reaches the demo only, which then stops each peer once
  // (a second signal would make the peer skip its clean shutdown)
  peer.child = spawn(process.execPath, [bin], { cwd: peer.dir, env: peerEnv(peer, peers, deadline), detached: true })
  const names = peer.neighbours.map((i) => peers[i].name).join(", ") || "none"
  say(peer, paint(1, `started: port ${peer.port}, value ${peer.value}, neighbours ${names}`))
  eachLine(peer.child.stdout, (line) => say(peer, formatLog(line)))
  eachLine(peer.child.stderr, (line) => say(peer, formatLog(line)))
  // result.txt is renamed into place whole, so seeing it means the result is final
  peer.watch = setInterval(() => {
    if (peer.resultAt === undefined && existsSync(join(peer.dir, "result.txt"))) {
      peer.resultAt = performance.now()
      peer.result = readFileSync(join(peer.dir, "result.txt"), "utf8")
    }
  }, 20)
  peer.exited = new Promise((resolve) => {
    peer.child.once("close", (code, signal) => {
      clearInterval(peer.watch)
      peer.exitedAt = performance.now()
      if (peer.resultAt === undefined && existsSync(join(peer.dir, "result.txt"))) {
        peer.resultAt = peer.exitedAt
        peer.result = readFileSync(join(peer.dir, "result.txt"), "utf8")
      }
      peer.code = code ?? signal
      say(peer, paint(1, `exited with ${code ?? signal}`))
      resolve()
    })
  })
}

const table = (peers, expected) => {
  const rows = [["peer", "port", "value", "result", "exit", "result after", "exit after"]]
  for (const peer of peers) {
    const since = (at) => (at === undefined || peer.startedAt === undefined ? "-" : seconds(at - peer.startedAt))
    rows.push([
      peer.name,
      String(peer.port),
      String(peer.value),
      peer.result ?? "(none)",
      peer.code === undefined ? "-" : String(peer.code),
      since(peer.resultAt),
      since(peer.exitedAt)
    ])
  }
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)))
  const render = (row) =>
    row.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join("  ").trimEnd()
  console.log()
  console.log(paint(1, render(rows[0])))
  for (const [i, row] of rows.slice(1).entries()) {
    const ok = peers[i].code === 0 && peers[i].result === expected
    console.log(ok ? render(row) : paint(31, render(row)))
  }
  console.log()
}

const main = async () => {
  const options = readOptions()
  ensureBundle()

  const ports = options.basePort === undefined ?
    await freePorts(options.peers) :
    Array.from({ length: options.peers }, (_, i) => options.basePort + i)
  for (const port of ports) {
    if (!(await portIsFree(port))) fail(`port ${port} is in use; choose another --base-port or leave it out`)
  }

  const base = mkdtempSync(join(tmpdir(), "gossip-max-demo-"))
  const neighbours = neighboursOf(options.topology, options.peers)
  const peers = options.values.map((value, i) => ({
    name: String.fromCharCode(97 + i),
    value,
    port: ports[i],
    dir: join(base, String.fromCharCode(97 + i)),
    neighbours: neighbours[i],
    color: palette[i % palette.length]
  }))
  for (const peer of peers) {
    mkdirSync(peer.dir)
    writeFileSync(join(peer.dir, "value.txt"), `${peer.value}\n`)
  }
  const expected = peers.map((p) => p.value).reduce((a, b) => (a > b ? a : b)).toString()

  let stopping = false
  const stopAll = async (signal) => {
    const running = peers.filter((peer) => peer.child !== undefined && peer.code === undefined)
    for (const peer of running) peer.child.kill(signal)
    const grace = setTimeout(() => running.forEach((peer) => peer.child.kill("SIGKILL")), 5000)
    await Promise.all(running.map((peer) => peer.exited))
    clearTimeout(grace)
  }
  const cleanUp = () => {
    if (options.keep) say(undefined, `the peers' folders are kept in ${base}`)
    else rmSync(base, { recursive: true, force: true })
  }
  const interrupted = async (signal) => {
    if (stopping) return
    stopping = true
    console.log()
    say(undefined, `${signal}: stopping every peer`)
    await stopAll("SIGTERM")
    table(peers, expected)
    cleanUp()
    process.exit(130)
  }
  process.on("SIGINT", () => interrupted("SIGINT"))
  process.on("SIGTERM", () => interrupted("SIGTERM"))
  // last resort if the demo itself crashes: leave no peer behind
  process.on("exit", () => peers.forEach((peer) => peer.code === undefined && peer.child?.kill("SIGKILL")))

  const names = peers.map((peer) => `${peer.name}: ${peer.neighbours.map((i) => peers[i].name).join(",") || "-"}`)
  say(undefined, `${options.peers} peer(s), ${options.topology} topology (${names.join("; ")})`)
  say(undefined, `values ${peers.map((p) => p.value).join(", ")}; the true maximum is ${expected}`)

  const gaps = peers.map((_, i) => (i === 0 ? 0 : options.stagger ?? randomInt(1000, 2001)))
  const lastStart = gaps.reduce((a, b) => a + b, 0)
  for (const [i, peer] of peers.entries()) {
    if (gaps[i] > 0) await new Promise((resolve) => setTimeout(resolve, gaps[i]))
    if (stopping) return
    startPeer(peer, peers, lastStart + 60_000)
  }

  // a safety net only: peers give up by themselves (GOSSIP_DEADLINE) long before this
  const limit = setTimeout(() => {
    say(undefined, paint(31, "still running after 2 minutes; stopping every peer"))
    void stopAll("SIGTERM")
  }, lastStart + 120_000)
  await Promise.all(peers.map((peer) => peer.exited))
  clearTimeout(limit)
  if (stopping) return

  table(peers, expected)
  const failed = peers.filter((peer) => peer.code !== 0 || peer.result !== expected)
  if (failed.length === 0) {
    say(undefined, paint(32, `OK: all ${peers.length} peer(s) exited 0 and agree on ${expected}`))
  } else {
    say(undefined, paint(31, `FAILED: ${failed.map((p) => p.name).join(", ")} did not exit 0 with ${expected}`))
  }
  cleanUp()
  process.exit(failed.length === 0 ? 0 : 1)
}

await main()
