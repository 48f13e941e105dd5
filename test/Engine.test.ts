import { assert, describe, it } from "@effect/vitest"
import { Engine } from "../src/internal/engine.js"
import * as State from "../src/State.js"

const ids = (out: ReadonlyArray<{ readonly members: ReadonlyArray<State.Member> }>) =>
  out.flatMap((message) => message.members.map((member) => member.id)).sort()

describe("Engine", () => {
  it("pushes everything it knows to a neighbour that connects, except the neighbour's own record", () => {
    const engine = new Engine(State.initial("a", 1n, ["b:9000"]))
    engine.receive("x", [{ id: "c", value: 3n, slots: [], version: 1, complete: false }], [])
    const out = engine.connect("b")
    assert.deepStrictEqual(ids(out), ["a", "c"])
    assert.isTrue(out.every((message) => message.to === "b"))
  })

  it("passes news on at once, but not back to the neighbour that sent it", () => {
    const engine = new Engine(State.initial("a", 1n, []))
    engine.connect("b")
    engine.connect("c")
    const { news, out } = engine.receive("b", [
      { id: "b", value: 5n, slots: [], version: 1, complete: false }
    ], [])
    assert.strictEqual(news.length, 1)
    const toC = out.filter((message) => message.to === "c")
    const toB = out.filter((message) => message.to === "b")
    assert.deepStrictEqual(ids(toC), ["b"])
    assert.deepStrictEqual(ids(toB), [])
    assert.deepStrictEqual(toB.flatMap((message) => message.acks), [["b", 1]])
  })

  it("acknowledges to its owner a record relayed by someone else", () => {
    const engine = new Engine(State.initial("a", 1n, []))
    engine.connect("b")
    engine.connect("c")
    const { out } = engine.receive("b", [
      { id: "c", value: 5n, slots: [], version: 4, complete: true }
    ], [])
    const toC = out.filter((message) => message.to === "c")
    assert.deepStrictEqual(toC.flatMap((message) => message.acks), [["c", 4]])
    assert.deepStrictEqual(ids(toC), [])
  })

  it("sends unacknowledged records again each round until acknowledged", () => {
    const engine = new Engine(State.initial("a", 1n, []))
    engine.connect("b")
    assert.deepStrictEqual(ids(engine.tick()), ["a"])
    engine.receive("b", [], [["a", 1]])
    assert.deepStrictEqual(ids(engine.tick()), [])
  })

  it("sends nothing to a neighbour with no open connection", () => {
    const engine = new Engine(State.initial("a", 1n, ["b:9000"]))
    engine.connect("b")
    engine.disconnect("b")
    assert.isFalse(engine.isConnected("b"))
    assert.deepStrictEqual(engine.complete(), [])
    assert.deepStrictEqual(engine.tick(), [])
  })

  it("splits a large batch into several messages", () => {
    const engine = new Engine(State.initial("a", 1n, []))
    const many = Array.from({ length: 600 }, (_, i) => ({
      id: `m${i}`,
      value: BigInt(i),
      slots: [],
      version: 1,
      complete: false
    }))
    engine.receive("x", many, [])
    const out = engine.connect("b")
    assert.strictEqual(out.length, 3)
    assert.strictEqual(ids(out).length, 601)
  })
})
