/**
 * The edge: runs the `gossip-max` command on Node. SIGINT/SIGTERM interrupt it: the peer's
 * scope closes, no partial result file is left behind, and the exit code is 130.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Cli from "./Cli.js"

const program = Cli.main(process.argv.slice(2), process.env).pipe(
  Effect.provide(Layer.merge(NodeFileSystem.layer, NodePath.layer))
)

NodeRuntime.runMain(program, {
  disablePrettyLogger: true,
  teardown: (exit, onExit) => {
    onExit(
      Exit.isSuccess(exit) && typeof exit.value === "number" ?
        exit.value :
        Exit.isInterrupted(exit) ?
        Cli.ExitCode.interrupted :
        Cli.ExitCode.failed
    )
  }
})
