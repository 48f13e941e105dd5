import { assert, describe, it } from "@effect/vitest"
import * as Option from "effect/Option"
import * as State from "../src/State.js"

const member = (
  id: string,
  value: bigint,
  slots: ReadonlyArray<[string, string | null]>,
  version = 1,
  complete = false
): State.Member => ({
  id,
  value,
  slots: slots.map(([address, peer]) => ({ address, id: peer })),
  version,
  complete
})

describe("State", () => {
  it("proves a cluster of one with its own value", () => {
    const proof = State.prove(State.initial("a", -5n, []))
    assert.deepStrictEqual(proof, Option.some({ maximum: -5n, size: 1 }))
  })

  it("does not prove while an own slot is unreached, and names it", () => {
    const state = State.initial("a", 1n, ["b:9000"])
    assert.isTrue(Option.isNone(State.prove(state)))
    assert.deepStrictEqual(State.gaps(state), [{
      member: "a",
      index: 0,
      address: "b:9000",
      kind: "unreached"
    }])
  })

  it("does not prove while a referenced member's record is unknown", () => {
    let state = State.resolveSlot(State.initial("a", 1n, ["b:9000"]), 0, "b")
    assert.deepStrictEqual(State.gaps(state), [{
      member: "a",
      index: 0,
      address: "b:9000",
      kind: "unknown"
    }])
    state = State.merge(state, [member("b", 2n, [["c:9000", null]])])[0]
    assert.deepStrictEqual(State.gaps(state), [{
      member: "b",
      index: 0,
      address: "c:9000",
      kind: "unreached"
    }])
  })

  it("proves a line once every record is resolved and takes the exact maximum", () => {
    const big = 2n ** 80n + 1n
    let state = State.resolveSlot(State.initial("a", 1n, ["b:9000"]), 0, "b")
    state = State.merge(state, [
      member("b", big, [["a:9000", "a"], ["c:9000", "c"]]),
      member("c", -3n, [["b:9000", "b"]])
    ])[0]
    assert.deepStrictEqual(State.prove(state), Option.some({ maximum: big, size: 3 }))
  })

  it("keeps the higher version of a record and reports only news", () => {
    const state = State.initial("a", 1n, [])
    const [once, news] = State.merge(state, [member("b", 2n, [], 2)])
    assert.strictEqual(news.length, 1)
    const [twice, stale] = State.merge(once, [member("b", 9n, [], 1), member("b", 2n, [], 2)])
    assert.strictEqual(stale.length, 0)
    assert.strictEqual(twice, once)
  })

  it("ignores versions of its own record sent by others", () => {
    const state = State.initial("a", 1n, [])
    const [next, news] = State.merge(state, [member("a", 100n, [], 99)])
    assert.strictEqual(news.length, 0)
    assert.strictEqual(State.selfMember(next).value, 1n)
  })

  it("bumps its own version on a slot change and not on a repeat", () => {
    const state = State.initial("a", 1n, ["b:9000"])
    const resolved = State.resolveSlot(state, 0, "b")
    assert.strictEqual(State.selfMember(resolved).version, 2)
    assert.strictEqual(State.resolveSlot(resolved, 0, "b"), resolved)
    assert.strictEqual(State.selfMember(State.markComplete(resolved)).version, 3)
  })

  it("leaves a replaced incarnation out of the proof", () => {
    // b crashed before reaching c and came back as b2; a now points at b2
    let state = State.resolveSlot(State.initial("a", 1n, ["b:9000"]), 0, "b")
    state = State.merge(state, [member("b", 5n, [["c:9000", null]])])[0]
    assert.isTrue(Option.isNone(State.prove(state)))
    state = State.resolveSlot(state, 0, "b2")
    state = State.merge(state, [member("b2", 5n, [["a:9000", "a"]])])[0]
    assert.deepStrictEqual(State.prove(state), Option.some({ maximum: 5n, size: 2 }))
  })

  it("counts as neighbours its own slots and the members that list it", () => {
    let state = State.resolveSlot(State.initial("a", 1n, ["b:9000"]), 0, "b")
    state = State.merge(state, [
      member("b", 2n, [["c:9000", "c"]]),
      member("c", 3n, [["a:9000", "a"]])
    ])[0]
    assert.deepStrictEqual([...State.neighbours(state)].sort(), ["b", "c"])
  })

  it("knows the best value heard of before any proof", () => {
    const state = State.merge(State.initial("a", 1n, ["b:9000"]), [member("x", 7n, [])])[0]
    assert.strictEqual(State.bestKnown(state), 7n)
  })
})
