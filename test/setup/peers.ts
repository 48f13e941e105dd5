/**
 * Runs real `gossip-max` processes for the process tests: each in its own folder, with its
 * output collected, and every process and folder removed by `PeerGroup.close`.
 */
import { type ChildProcess, spawn } from "node:child_process"
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync
} from "node:fs"
import * as Net from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

/** The command under test. */
export const BIN = fileURLToPath(new URL("../../bin/gossip-max", import.meta.url))

/** Where a neighbour listens. */
export interface Neighbour {
  readonly name: string
  readonly host: string
  readonly port: number
}

/** How to start one peer. */
export interface PeerSpec {
  readonly name: string
  /** Written to `value.txt` as given; omit to leave the file out. */
  readonly value?: string | bigint
  readonly port: number | string
  readonly neighbours?: ReadonlyArray<Neighbour>
  /** More environment variables (GOSSIP_*). */
  readonly env?: Readonly<Record<string, string>>
  /** Put in front of the command, e.g. `["ip", "netns", "exec", "ns1"]`. */
  readonly wrapper?: ReadonlyArray<string>
}

/** How a process ended. */
export interface Ended {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

/** Settings that keep the process tests quick: short redial delays, short lingering. */
export const quick: Readonly<Record<string, string>> = {
  GOSSIP_RETRY_MIN: "50ms",
  GOSSIP_RETRY_MAX: "500ms",
  GOSSIP_INTERVAL: "200ms",
  GOSSIP_LINGER: "10s"
}

/** The environment of a peer: ours minus any inherited peer settings, plus its own. */
export const peerEnv = (spec: PeerSpec): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(PORT|PEER_.*|GOSSIP_.*)$/.test(key)) env[key] = value
  }
  env.PORT = String(spec.port)
  for (const neighbour of spec.neighbours ?? []) {
    env[`PEER_${neighbour.name.toUpperCase()}_HOST`] = neighbour.host
    env[`PEER_${neighbour.name.toUpperCase()}_PORT`] = String(neighbour.port)
  }
  return { ...env, ...quick, ...spec.env }
}

/** One running (or finished) peer process. */
export class PeerProcess {
  readonly child: ChildProcess
  readonly ended: Promise<Ended>
  /** Standard output and error, interleaved as they arrived. */
  output = ""
  private readonly listeners = new Set<() => void>()

  constructor(readonly spec: PeerSpec, readonly dir: string) {
    const [command, ...args] = [...(spec.wrapper ?? []), process.execPath, BIN]
    this.child = spawn(command, args, { cwd: dir, env: peerEnv(spec), stdio: "pipe" })
    const collect = (data: Buffer) => {
      this.output += data.toString()
      for (const listener of this.listeners) listener()
    }
    this.child.stdout!.on("data", collect)
    this.child.stderr!.on("data", collect)
    this.ended = new Promise((resolve) => {
      this.child.once("close", (code, signal) => {
        for (const listener of this.listeners) listener()
        resolve({ code, signal })
      })
    })
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null
  }

  /** `result.txt`, or `undefined` while there is none. */
  result(): string | undefined {
    const file = join(this.dir, "result.txt")
    return existsSync(file) ? readFileSync(file, "utf8") : undefined
  }

  /** The files in the peer's folder, sorted. */
  files(): ReadonlyArray<string> {
    return readdirSync(this.dir).sort()
  }

  /** Waits until the output matches `pattern`; fails if the process ends first or on timeout. */
  waitForOutput(pattern: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const match = this.output.match(pattern)
        if (match !== null) return done(() => resolve(match))
        if (!this.running) return done(() => reject(this.failure(`ended before ${pattern}`)))
      }
      const timer = setTimeout(
        () => done(() => reject(this.failure(`no ${pattern} within ${timeoutMs}ms`))),
        timeoutMs
      )
      const done = (settle: () => void) => {
        clearTimeout(timer)
        this.listeners.delete(check)
        settle()
      }
      this.listeners.add(check)
      check()
    })
  }

  /** Waits for the process to end; kills it and fails after `timeoutMs`. */
  async waitForExit(timeoutMs = 20_000): Promise<Ended> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.child.kill("SIGKILL")
        reject(this.failure(`still running after ${timeoutMs}ms`))
      }, timeoutMs)
    })
    try {
      return await Promise.race([this.ended, timeout])
    } finally {
      clearTimeout(timer)
    }
  }

  /** Sends a signal and waits for the process to end. */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<Ended> {
    if (this.running) this.child.kill(signal)
    return this.waitForExit()
  }

  /** An error carrying this peer's output, for readable test failures. */
  failure(what: string): Error {
    return new Error(`peer ${this.spec.name}: ${what}\n--- output ---\n${this.output}`)
  }
}

/** Peers of one test, in one temporary folder; `close` kills them and removes the folder. */
export class PeerGroup {
  readonly root = mkdtempSync(join(tmpdir(), "gossip-max-test-"))
  readonly peers: Array<PeerProcess> = []

  /** Creates the peer's folder (kept across restarts) and its value file, then starts it. */
  start(spec: PeerSpec): PeerProcess {
    const dir = join(this.root, spec.name)
    if (!existsSync(dir)) {
      mkdirSync(dir)
      if (spec.value !== undefined) writeFileSync(join(dir, "value.txt"), `${spec.value}\n`)
    }
    const peer = new PeerProcess(spec, dir)
    this.peers.push(peer)
    return peer
  }

  async close(): Promise<void> {
    await Promise.all(this.peers.map((peer) => peer.running ? peer.stop("SIGKILL") : undefined))
    rmSync(this.root, { recursive: true, force: true })
  }
}

/** Ports that were free a moment ago on every interface (IPv4 and IPv6), picked by the OS. */
export const freePorts = async (count: number): Promise<ReadonlyArray<number>> => {
  const servers = await Promise.all(
    Array.from({ length: count }, () =>
      new Promise<Net.Server>((resolve, reject) => {
        const server = Net.createServer()
        server.once("error", reject)
        server.listen(0, () => resolve(server))
      }))
  )
  const ports = servers.map((server) => (server.address() as Net.AddressInfo).port)
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))))
  return ports
}

/** Resolves after `ms`: only for staggering starts, never to wait for an outcome. */
export const pause = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms))
