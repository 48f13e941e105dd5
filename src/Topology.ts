/**
 * Cluster shapes for simulations: who is configured as whose neighbour. Every topology is
 * undirected (each edge is configured on both peers) and connected, which is what the protocol
 * needs to prove it has heard of every peer. Pure: a random graph is a function of its seed.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { derive, Prng } from "./internal/prng.js"

/** The shape of a cluster; `Random` is a random connected graph where every peer has about
 * `degree` neighbours. */
export const Topology = Schema.Union(
  Schema.TaggedStruct("Mesh", {}),
  Schema.TaggedStruct("Line", {}),
  Schema.TaggedStruct("Ring", {}),
  Schema.TaggedStruct("Star", {}),
  Schema.TaggedStruct("Grid", {}),
  Schema.TaggedStruct("Random", { degree: Schema.Int.pipe(Schema.between(1, 64)) })
)

/** The shape of a cluster. */
export type Topology = typeof Topology.Type

/** Every peer is a neighbour of every other. */
export const mesh: Topology = { _tag: "Mesh" }

/** Peers in a row: each one's neighbours are the one before and the one after. */
export const line: Topology = { _tag: "Line" }

/** A line whose ends are joined. */
export const ring: Topology = { _tag: "Ring" }

/** Peer 0 is the hub; every other peer is a leaf connected only to it. */
export const star: Topology = { _tag: "Star" }

/** A square-ish grid, filled row by row; each peer's neighbours are up, down, left, right. */
export const grid: Topology = { _tag: "Grid" }

/** A random connected graph where every peer has about `degree` neighbours (at least 2 when
 * there are more than 2 peers). */
export const random = (degree: number): Topology => ({ _tag: "Random", degree })

/** An undirected edge between two peers, by index, smaller index first. */
export type Edge = readonly [number, number]

/** A short name for reports, e.g. `random(4)`. */
export const describe = (topology: Topology): string =>
  topology._tag === "Random" ? `random(${topology.degree})` : topology._tag.toLowerCase()

/** The edges of `topology` over `size` peers; `seed` only matters for `Random`. */
export const edges = (topology: Topology, size: number, seed: number): ReadonlyArray<Edge> => {
  const result: Array<Edge> = []
  switch (topology._tag) {
    case "Mesh":
      for (let a = 0; a < size; a++) for (let b = a + 1; b < size; b++) result.push([a, b])
      return result
    case "Line":
      for (let a = 0; a + 1 < size; a++) result.push([a, a + 1])
      return result
    case "Ring":
      for (let a = 0; a + 1 < size; a++) result.push([a, a + 1])
      if (size > 2) result.push([0, size - 1])
      return result
    case "Star":
      for (let b = 1; b < size; b++) result.push([0, b])
      return result
    case "Grid":
      return gridEdges(size)
    case "Random":
      return randomEdges(size, topology.degree, seed)
  }
}

const gridEdges = (size: number): ReadonlyArray<Edge> => {
  const columns = Math.max(1, Math.ceil(Math.sqrt(size)))
  const result: Array<Edge> = []
  for (let a = 0; a < size; a++) {
    if ((a + 1) % columns !== 0 && a + 1 < size) result.push([a, a + 1])
    if (a + columns < size) result.push([a, a + columns])
  }
  return result
}

/** A random ring through every peer (so the graph is connected), then random chords between
 * peers that still lack neighbours, until each has `degree` or no fitting pair is left. */
const randomEdges = (size: number, degree: number, seed: number): ReadonlyArray<Edge> => {
  if (size <= degree + 1) return edges({ _tag: "Mesh" }, size, seed)
  const rng = new Prng(derive(seed, "topology"))
  const order = rng.shuffle(Array.from({ length: size }, (_, i) => i))
  const taken = new Set<string>()
  const count = new Array<number>(size).fill(0)
  const result: Array<Edge> = []
  const add = (a: number, b: number): boolean => {
    const edge: Edge = a < b ? [a, b] : [b, a]
    const key = `${edge[0]} ${edge[1]}`
    if (a === b || taken.has(key)) return false
    taken.add(key)
    count[a]++
    count[b]++
    result.push(edge)
    return true
  }
  const closing = size > 2 ? size : size - 1
  for (let i = 0; i < closing; i++) add(order[i], order[(i + 1) % size])
  // stubs: each peer appears once per missing neighbour; pair them up at random
  const stubs: Array<number> = []
  for (let peer = 0; peer < size; peer++) {
    for (let k = count[peer]; k < degree; k++) stubs.push(peer)
  }
  rng.shuffle(stubs)
  for (let tries = 0; stubs.length > 1 && tries < 4 * size * degree; tries++) {
    const a = stubs.pop()!
    const j = rng.int(0, stubs.length)
    if (add(a, stubs[j])) {
      stubs[j] = stubs[stubs.length - 1]
      stubs.pop()
    } else {
      stubs.unshift(a)
    }
  }
  return result.sort((x, y) => x[0] - y[0] || x[1] - y[1])
}

/** Each peer's neighbours, ascending, from a list of edges. */
export const adjacency = (
  size: number,
  list: ReadonlyArray<Edge>
): ReadonlyArray<ReadonlyArray<number>> => {
  const result = Array.from({ length: size }, (): Array<number> => [])
  for (const [a, b] of list) {
    result[a].push(b)
    result[b].push(a)
  }
  for (const neighbours of result) neighbours.sort((x, y) => x - y)
  return result
}

/** Whether every peer can reach every other through `list`. */
export const isConnected = (size: number, list: ReadonlyArray<Edge>): boolean => {
  if (size === 0) return true
  const neighbours = adjacency(size, list)
  const seen = new Set<number>([0])
  const queue = [0]
  for (let i = 0; i < queue.length; i++) {
    for (const next of neighbours[queue[i]]) {
      if (!seen.has(next)) {
        seen.add(next)
        queue.push(next)
      }
    }
  }
  return seen.size === size
}

/** The longest shortest path between two peers, in hops: a lower bound on gossip rounds. */
export const diameter = (size: number, list: ReadonlyArray<Edge>): number => {
  const neighbours = adjacency(size, list)
  let longest = 0
  for (let source = 0; source < size; source++) {
    const distance = new Array<number>(size).fill(-1)
    distance[source] = 0
    const queue = [source]
    for (let i = 0; i < queue.length; i++) {
      for (const next of neighbours[queue[i]]) {
        if (distance[next] < 0) {
          distance[next] = distance[queue[i]] + 1
          longest = Math.max(longest, distance[next])
          queue.push(next)
        }
      }
    }
  }
  return longest
}
