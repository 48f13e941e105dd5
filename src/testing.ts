/**
 * gossip-max for tests: the in-memory network, on which whole clusters run in one process
 * under `TestClock`, and the simulator, which runs scenarios of many peers, faults and crashes
 * in virtual time and judges every result.
 *
 * @since 0.1.0
 */

/** An in-memory network with seeded faults: peers in one process, delays read from `Clock`. */
export * as MemoryNetwork from "./MemoryNetwork.js"

/** Cluster shapes: who is configured as whose neighbour (mesh, line, ring, star, grid...). */
export * as Topology from "./Topology.js"

/** A simulation scenario as plain data: peers, topology, faults, crashes, timings. */
export * as Scenario from "./Scenario.js"

/** Runs a scenario in virtual time and reports every result and every violation. */
export * as Simulation from "./Simulation.js"

/** Renderings of a simulation report: text, JSON and an SVG plot. */
export * as SimReport from "./SimReport.js"
