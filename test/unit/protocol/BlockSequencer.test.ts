import { describe, expect, it } from "@effect/vitest"
import { makeBlockSequencer } from "../../../src/protocol/BlockSequencer.js"
import type { StreamEvent } from "../../../src/protocol/Canonical.js"

const start = (index: number): StreamEvent => ({ type: "block_start", index, block: { type: "text" } })
const text = (index: number, t: string): StreamEvent => ({ type: "text_delta", index, text: t })
const stop = (index: number): StreamEvent => ({ type: "block_stop", index })

describe("block sequencer", () => {
  it("passes sequential blocks through unchanged", () => {
    const events = [start(0), text(0, "a"), stop(0), start(1), text(1, "b"), stop(1), { type: "end" } as StreamEvent]
    expect(makeBlockSequencer()(events)).toEqual(events)
  })

  it("holds overlapping blocks and releases them in start order as the live one stops, across pushes", () => {
    const sequence = makeBlockSequencer()
    const out = [
      ...sequence([start(0), start(1), start(2), text(1, "b1"), text(0, "a1")]),
      ...sequence([stop(1), text(2, "c1"), text(0, "a2")]),
      ...sequence([stop(0)]),
      ...sequence([stop(2), { type: "end" }]),
    ]
    expect(out).toEqual([
      start(0),
      text(0, "a1"),
      text(0, "a2"),
      stop(0),
      start(1),
      text(1, "b1"),
      stop(1),
      start(2),
      text(2, "c1"),
      stop(2),
      { type: "end" },
    ])
  })
})
