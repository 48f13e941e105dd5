/**
 * The edge of the `sim` program: runs `SimCli.main` on Node, with the process's CPU time as
 * the measure of how long the simulation took.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as SimCli from "./SimCli.js"

const cpuSeconds = Effect.sync(() => {
  const usage = process.cpuUsage()
  return (usage.user + usage.system) / 1e6
})

NodeRuntime.runMain(
  SimCli.main(process.argv.slice(2), cpuSeconds).pipe(Effect.provide(NodeFileSystem.layer)),
  {
    disablePrettyLogger: true,
    teardown: (exit, onExit) => {
      onExit(
        Exit.isSuccess(exit) && typeof exit.value === "number" ? exit.value : SimCli.ExitCode.failed
      )
    }
  }
)
