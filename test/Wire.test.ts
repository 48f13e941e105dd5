import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Wire from "../src/Wire.js"

const record = (value: string) => ({
  id: "aa",
  value,
  slots: [["b:9000", null]],
  version: 1,
  complete: false
})

const frameWith = (value: string) =>
  JSON.stringify({ _tag: "sync", v: 1, members: [record(value)], acks: [] })

describe("Wire", () => {
  it("round-trips values far beyond 2^53 and negatives exactly", () => {
    const members = [
      { id: "aa", value: 2n ** 200n, slots: [], version: 3, complete: true },
      {
        id: "bb",
        value: -(2n ** 70n),
        slots: [{ address: "[::1]:9000", id: "aa" }],
        version: 1,
        complete: false
      }
    ]
    const frame = Wire.encode(Wire.sync(members, [["aa", 3]]))
    const decoded = Wire.decode(frame)
    assert.isTrue(Either.isRight(decoded))
    const message = Either.getOrThrow(decoded)
    assert.strictEqual(message._tag, "sync")
    if (message._tag === "sync") {
      assert.deepStrictEqual(message.members, members)
      assert.deepStrictEqual(message.acks, [["aa", 3]])
    }
  })

  it("writes integers as plain decimal strings", () => {
    const frame = Wire.encode(
      Wire.sync([{ id: "a", value: -12n, slots: [], version: 1, complete: false }], [])
    )
    assert.include(frame, "\"value\":\"-12\"")
  })

  for (const bad of ["0x10", "+4", "1e3", "007", "-0", " 5", "1.5", "", "--1"]) {
    it(`refuses the integer ${JSON.stringify(bad)}`, () => {
      assert.isTrue(Either.isLeft(Wire.decode(frameWith(bad))))
    })
  }

  it("refuses another protocol version and says which", () => {
    const frame = JSON.stringify({ _tag: "hello", v: 2, id: "aa" })
    const decoded = Wire.decode(frame)
    assert.isTrue(Either.isLeft(decoded))
    assert.include(Either.flip(decoded).pipe(Either.getOrThrow), "protocol version 2")
  })

  it("refuses text that is not JSON", () => {
    assert.isTrue(Either.isLeft(Wire.decode("{not json")))
  })

  it("refuses a peer id with characters outside its alphabet", () => {
    assert.isTrue(Either.isLeft(Wire.decode(JSON.stringify({ _tag: "hello", v: 1, id: "a b" }))))
  })
})
